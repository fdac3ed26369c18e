"""Confluent v3 records from Python: each key/value type produced through the gateway and read back byte for byte
straight from Kafka with kafka-python; 100,000-record streams from `requests` (a generator body) and from curl
(`-T -`, chunked), with every report in order and every reported record in Kafka.

Environment: GATEWAY_URL and KAFKA_BROKERS, as for test_produce.py.
"""

import base64
import json
import subprocess
import time

import pytest
import requests

from kafka_readback import GATEWAY, expected_partition, read_all

pytestmark = pytest.mark.timeout(240)


def records_url(cluster_id: str, topic: str) -> str:
    return f"{GATEWAY}/v3/clusters/{cluster_id}/topics/{topic}/records"


def reports_of(body: bytes):
    """Confluent's streaming answer: one JSON report per record, each followed by CRLF."""
    assert body.endswith(b"\r\n")
    return [json.loads(part) for part in body.split(b"\r\n") if part.strip()]


def test_each_type_is_written_byte_for_byte(cluster_id, make_topic):
    topic = make_topic(3)
    raw = bytes(range(256))
    # (request key, request value, expected key bytes, expected value bytes); the JSON text keeps a big integer's
    # digits, so it is sent as text.
    cases = [
        ('{"type":"BINARY","data":"%s"}' % base64.b64encode(raw).decode(), '{"type":"STRING","data":"héllo ✓"}',
         raw, "héllo ✓".encode()),
        ('{"type":"STRING","data":"clé-ключ"}', '{"type":"JSON","data":{"n":12345678901234567890,"l":[true,null,"ü"]}}',
         "clé-ключ".encode(), '{"n":12345678901234567890,"l":[true,null,"ü"]}'.encode()),
        ('{"type":"JSON","data":"somekey"}', '{"type":"BINARY","data":""}', b'"somekey"', b""),
        ('{"type":"STRING","data":null}', '{"type":"JSON","data":null}', None, None),
        ("null", '{"type":"STRING","data":""}', None, b""),
    ]
    reports = []
    for key, value, _, _ in cases:
        body = '{"key":%s,"value":%s,"timestamp":"2026-12-02T10:00:00.250Z"}' % (key, value)
        r = requests.post(
            records_url(cluster_id, topic),
            data=body.encode(),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["error_code"] == 200, report
        assert report["timestamp"] == "2026-12-02T10:00:00.250Z"
        reports.append(report)

    for (_, _, k, v), report in zip(cases, reports):
        if k is not None:
            assert report["partition_id"] == expected_partition(k, 3)
            assert report["key"]["size"] == len(k)
        if v is not None:
            assert report["value"]["size"] == len(v)
    # Key/value types are reported as sent.
    assert [r.get("key", {}).get("type") for r in reports] == ["BINARY", "STRING", "JSON", "STRING", None]
    assert reports[3]["key"]["size"] == -1

    got = {(m.partition, m.offset): m for m in read_all(topic, 3, len(cases))}
    assert len(got) == len(cases)
    for (_, _, k, v), report in zip(cases, reports):
        m = got[(report["partition_id"], report["offset"])]
        assert m.key == k
        assert m.value == v
        assert m.timestamp == 1796205600250


N = 100_000


def record_json(i: int) -> bytes:
    return json.dumps(
        {"key": {"type": "STRING", "data": f"k{i % 1000}"}, "value": {"type": "STRING", "data": f"v{i}"}},
        separators=(",", ":"),
    ).encode()


def check_stream(topic: str, partitions: int, reports):
    """Every report in order and 200; every reported record in Kafka at its partition and offset."""
    assert len(reports) == N
    for i, rep in enumerate(reports):
        if rep["error_code"] != 200 or rep["partition_id"] != expected_partition(f"k{i % 1000}".encode(), partitions):
            pytest.fail(f"report {i}: {rep}")
    got = {(m.partition, m.offset): m.value for m in read_all(topic, partitions, N, timeout_s=120)}
    assert len(got) == N
    for i, rep in enumerate(reports):
        if got.get((rep["partition_id"], rep["offset"])) != f"v{i}".encode():
            pytest.fail(f"record {i} is not at its reported place: {rep}")


def test_100k_record_stream_from_a_requests_generator(cluster_id, make_topic):
    topic = make_topic(4)

    def body():
        # Many records per chunk, some cut in half across chunks, separated by newlines or nothing.
        batch = []
        for i in range(N):
            batch.append(record_json(i))
            if len(batch) == 250:
                text = b"\n".join(batch)
                yield text[:101]
                yield text[101:]
                batch = []
        if batch:
            yield b"".join(batch)

    started = time.monotonic()
    r = requests.post(
        records_url(cluster_id, topic), data=body(), headers={"Content-Type": "application/json"}, timeout=120
    )
    elapsed = time.monotonic() - started
    assert r.status_code == 200, r.text[:500]
    assert r.headers["Content-Type"] == "application/json"
    print(f"requests stream: {N} records in {elapsed:.1f} s ({N / elapsed:.0f} records/s)")
    check_stream(topic, 4, reports_of(r.content))


def test_100k_record_stream_from_curl(cluster_id, make_topic):
    topic = make_topic(4)
    body = b"\r\n".join(record_json(i) for i in range(N))
    started = time.monotonic()
    # curl reads the reports while it uploads (full duplex).
    out = subprocess.run(
        [
            "curl", "-sS", "--fail-with-body", "-X", "POST", "-T", "-",
            "-H", "Content-Type: application/json", "-H", "Transfer-Encoding: chunked",
            records_url(cluster_id, topic),
        ],
        input=body,
        capture_output=True,
        timeout=180,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert out.returncode == 0, out.stderr.decode()[:500] + out.stdout.decode()[:500]
    print(f"curl stream: {N} records in {elapsed:.1f} s ({N / elapsed:.0f} records/s)")
    check_stream(topic, 4, reports_of(out.stdout))
