"""Cross-language check: produce through the gateway with `requests`, read straight from Kafka with kafka-python,
and compute the expected partitions here with kafka-python's own murmur2 (Kafka's Java algorithm).

Environment: GATEWAY_URL (e.g. http://127.0.0.1:8080) and KAFKA_BROKERS (host:port[,host:port]).
The topics are created through the gateway's v3 API.
"""

import base64
import json
import os
import uuid

import pytest
import requests
from kafka import KafkaConsumer, TopicPartition
from kafka.partitioner.default import murmur2

from kafka_readback import BROKERS, GATEWAY, expected_partition, read_all

JSON_V2 = "application/vnd.kafka.json.v2+json"
BINARY_V2 = "application/vnd.kafka.binary.v2+json"
V2 = "application/vnd.kafka.v2+json"

pytestmark = pytest.mark.timeout(120)


def json_bytes(value) -> bytes:
    """The decided JSON serialisation: compact, UTF-8, non-ASCII not escaped (as Jackson writes it)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def produce(topic: str, content_type: str, body, path_suffix: str = "", params=None):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    r = requests.post(
        f"{GATEWAY}/topics/{topic}{path_suffix}",
        data=data,
        params=params,
        headers={"Content-Type": content_type, "Accept": V2},
        timeout=30,
    )
    return r


def ok_offsets(r):
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == V2
    body = r.json()
    assert body["key_schema_id"] is None and body["value_schema_id"] is None
    for o in body["offsets"]:
        assert o["error_code"] is None and o["error"] is None, o
    return [(o["partition"], o["offset"]) for o in body["offsets"]]


def test_murmur2_matches_the_documented_vectors():
    # kafka-python answers unsigned; Kafka's Java answers the same bits signed.
    signed = lambda h: h - (1 << 32) if h >= (1 << 31) else h  # noqa: E731
    assert signed(murmur2(b"21")) == -973932308
    assert signed(murmur2(b"foobar")) == -790332482
    assert signed(murmur2(b"abc")) == 479470107
    assert signed(murmur2(b"")) == 275646681
    assert expected_partition(b"key", 3) == 1
    assert expected_partition(b'"somekey"', 3) == 2
    assert expected_partition(b'"somekey"', 4) == 0


def test_json_records_keyed_partitions_and_bytes(make_topic):
    topic = make_topic(5)
    records = [
        {"key": "somekey", "value": {"a": 1, "b": [True, None, "x"]}},
        {"key": "clé-ünïcode ✓", "value": "naïve ✓"},
        {"key": {"user": 42, "region": "eu"}, "value": 12345678901234567890},
        {"key": 7, "value": [1, 2, 3]},
        {"key": None, "value": {"keyless": True}},
    ]
    r = produce(topic, JSON_V2, {"records": records})
    offsets = ok_offsets(r)
    assert len(offsets) == len(records)
    for rec, (partition, _) in zip(records[:4], offsets[:4]):
        assert partition == expected_partition(json_bytes(rec["key"]), 5), rec

    got = {(m.partition, m.offset): m for m in read_all(topic, 5, len(records))}
    assert len(got) == len(records)
    for rec, where in zip(records, offsets):
        m = got[where]
        assert m.value == json_bytes(rec["value"])
        assert m.key == (None if rec["key"] is None else json_bytes(rec["key"]))
    # The big integer arrived digit for digit.
    assert got[offsets[2]].value == b"12345678901234567890"


def test_binary_records_keyed_by_their_bytes(make_topic):
    topic = make_topic(7)
    keys = [b"key", bytes(range(256)), b"\x00", "ключ".encode("utf-8")] + [os.urandom(n) for n in (1, 2, 3, 5, 8, 13, 21)]
    values = [os.urandom(64) for _ in keys]
    r = produce(topic, BINARY_V2, {"records": [{"key": b64(k), "value": b64(v)} for k, v in zip(keys, values)]})
    offsets = ok_offsets(r)
    assert [p for p, _ in offsets] == [expected_partition(k, 7) for k in keys]

    got = {(m.partition, m.offset): m for m in read_all(topic, 7, len(keys))}
    for k, v, where in zip(keys, values, offsets):
        assert got[where].key == k
        assert got[where].value == v
        assert got[where].partition == expected_partition(k, 7)


def test_documented_partition_vectors_through_the_gateway(make_topic):
    t3, t4 = make_topic(3), make_topic(4)
    assert ok_offsets(produce(t3, BINARY_V2, {"records": [{"key": b64(b"key"), "value": b64(b"v")}]}))[0][0] == 1
    assert ok_offsets(produce(t3, JSON_V2, {"records": [{"key": "somekey", "value": 1}]}))[0][0] == 2
    assert ok_offsets(produce(t4, JSON_V2, {"records": [{"key": "somekey", "value": 1}]}))[0][0] == 0
    assert [m.partition for m in read_all(t3, 3, 2)] == [1, 2]


def test_explicit_partitions_in_path_and_record(make_topic):
    topic = make_topic(3)
    r = produce(
        topic,
        BINARY_V2,
        {"records": [{"key": b64(b"key"), "value": b64(b"to-path")}, {"value": b64(b"own"), "partition": 0}]},
        path_suffix="/partitions/2",
    )
    assert ok_offsets(r) == [(2, 0), (0, 0)]
    got = read_all(topic, 3, 2)
    assert [(m.partition, m.value) for m in got] == [(0, b"own"), (2, b"to-path")]


def test_raw_bodies_with_query_key_and_partition(make_topic):
    topic = make_topic(3)
    payload = bytes(range(255, -1, -1))
    r1 = produce(topic, "application/octet-stream", payload, params={"key": "raw key é", "partition": "2"})
    assert ok_offsets(r1) == [(2, 0)]
    # text/plain with only a key: partitioned by the key's raw UTF-8 bytes (no JSON quoting).
    r2 = produce(topic, "text/plain; charset=utf-8", "hello ✓".encode("utf-8"), params={"key": "order-17"})
    (p2, _), = ok_offsets(r2)
    assert p2 == expected_partition(b"order-17", 3)

    got = {m.value: m for m in read_all(topic, 3, 2)}
    raw = got[payload]
    assert (raw.partition, raw.key) == (2, "raw key é".encode("utf-8"))
    text = got["hello ✓".encode("utf-8")]
    assert (text.partition, text.key) == (p2, b"order-17")


def test_record_headers_arrive_as_sent(make_topic):
    topic = make_topic(1)
    r = produce(
        topic,
        JSON_V2,
        {"records": [{"value": 1, "headers": [{"name": "trace", "value": b64(b"abc")}, {"name": "bin", "value": b64(b"\x00\xff")}]}]},
    )
    ok_offsets(r)
    (m,) = read_all(topic, 1, 1)
    assert list(m.headers) == [("trace", b"abc"), ("bin", b"\x00\xff")]


def test_keyless_requests_spread_over_partitions(make_topic):
    topic = make_topic(3)
    used = []
    for i in range(6):
        offsets = ok_offsets(produce(topic, JSON_V2, {"records": [{"value": i}, {"value": i}]}))
        assert len({p for p, _ in offsets}) == 1  # one request stays together
        used.append(offsets[0][0])
    assert set(used) == {0, 1, 2}


def test_unknown_topic_is_404_40401():
    r = produce(f"py-missing-{uuid.uuid4().hex}", JSON_V2, {"records": [{"value": 1}]})
    assert r.status_code == 404
    assert r.json()["error_code"] == 40401


def test_oversized_body_gets_413_even_though_requests_sends_it_all_first(make_topic):
    topic = make_topic(1)
    # requests (urllib3) writes the whole body before reading the answer: the 413 must still reach it.
    r = produce(topic, "application/octet-stream", b"a" * (9 * 1024 * 1024))
    assert r.status_code == 413
    assert r.json()["error_code"] == 413
    assert end_offsets(topic, 1) == {0: 0}  # nothing written


def end_offsets(topic: str, partitions: int):
    consumer = KafkaConsumer(bootstrap_servers=BROKERS, group_id=None, enable_auto_commit=False)
    try:
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
        return {tp.partition: off for tp, off in ends.items()}
    finally:
        consumer.close()
