"""Cross-language check of GET /sse with Python `requests` (`stream=True`), the way a script would read it: records
produced through the gateway's REST API arrive as `event: record` with the right key, value, partition, offset and
headers; the stream is closed half-way and reopened with the `Last-Event-ID` of the last event read, and the second
stream goes on with exactly the records the first did not deliver.

Environment: GATEWAY_URL (e.g. http://127.0.0.1:8080). Run by test/integration/python-sse.test.ts.
"""

import base64
import json
import os
import uuid

import pytest
import requests

GATEWAY = os.environ["GATEWAY_URL"].rstrip("/")
JSON_V2 = "application/vnd.kafka.json.v2+json"
PARTITIONS = 3

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def topic():
    r = requests.get(f"{GATEWAY}/v3/clusters", timeout=30)
    assert r.status_code == 200, r.text
    cluster = r.json()["data"][0]["cluster_id"]
    name = f"pysse-{uuid.uuid4().hex[:16]}"
    r = requests.post(
        f"{GATEWAY}/v3/clusters/{cluster}/topics",
        json={"topic_name": name, "partitions_count": PARTITIONS, "replication_factor": 1},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    yield name
    requests.delete(f"{GATEWAY}/v3/clusters/{cluster}/topics/{name}", timeout=30)


def produce(topic, start, n):
    records = [
        {
            "key": f"k{i}",
            "value": {"i": i, "text": f"zürich-{i}"},
            "partition": i % PARTITIONS,
            "headers": [{"name": "trace", "value": base64.b64encode(f"t{i}".encode()).decode()}],
        }
        for i in range(start, start + n)
    ]
    r = requests.post(f"{GATEWAY}/topics/{topic}", data=json.dumps({"records": records}), headers={"Content-Type": JSON_V2}, timeout=30)
    assert r.status_code == 200, r.text
    return [{**rec, "partition": o["partition"], "offset": o["offset"]} for rec, o in zip(records, r.json()["offsets"])]


def events(response):
    """Yields (event, data, last_event_id) per dispatched event, as the SSE spec parses a stream."""
    event, data, event_id, last_id = "", None, "", ""
    for line in response.iter_lines(decode_unicode=True):
        if line == "":
            last_id = event_id
            if data is not None:
                yield event or "message", "\n".join(data), last_id
            event, data = "", None
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "data":
                data = (data or []) + [value]
            elif field == "event":
                event = value
            elif field == "id":
                event_id = value


def read(topic, n, headers=None, query="from=earliest"):
    """Opens a stream, reads n records, closes it; returns the records and the id of the last event read."""
    got, last_id = [], None
    with requests.get(f"{GATEWAY}/sse?topic={topic}&{query}", headers=headers or {}, stream=True, timeout=(10, 60)) as r:
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"].startswith("text/event-stream")
        for event, data, event_id in events(r):
            last_id = event_id
            if event == "record":
                got.append(json.loads(data))
                if len(got) == n:
                    break
    return got, last_id


def test_stream_and_resume_with_last_event_id(topic):
    sent = produce(topic, 0, 30)
    first, last_id = read(topic, 12)
    sent += produce(topic, 30, 9)
    second, _ = read(topic, 39 - 12, headers={"Last-Event-ID": last_id}, query="")
    got = first + second
    assert len({(r["partition"], r["offset"]) for r in got}) == 39, "no record twice"
    by_key = {r["key"]: r for r in got}
    for s in sent:
        r = by_key[s["key"]]
        assert (r["topic"], r["partition"], r["offset"]) == (topic, s["partition"], s["offset"])
        assert r["value"] == s["value"]
        assert r["headers"] == s["headers"]
        assert isinstance(r["timestamp"], int)
    assert sorted(r["key"] for r in got) == sorted(f"k{i}" for i in range(39))
    for p in range(PARTITIONS):
        offsets = [r["offset"] for r in got if r["partition"] == p]
        assert offsets == list(range(len(offsets))), f"partition {p} in order"


def test_unknown_topic_is_a_confluent_404():
    r = requests.get(f"{GATEWAY}/sse?topic=pysse-missing-{uuid.uuid4().hex[:8]}", timeout=30)
    assert r.status_code == 404
    assert r.json()["error_code"] == 40401
