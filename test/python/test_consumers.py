"""An HTTP consumer loop as a Python user writes it with `requests` against the v2 consumer API: create an instance,
subscribe, loop on GET records, commit, delete; records produced through the gateway come back exactly once, and the
committed offsets are where the loop stopped. Also Confluent's GET-with-a-body for committed offsets.

Environment: GATEWAY_URL and KAFKA_BROKERS (the topic is created through the gateway's v3 API).
"""

import os
import time
import uuid

import pytest
import requests

GATEWAY = os.environ["GATEWAY_URL"].rstrip("/")
V2 = "application/vnd.kafka.v2+json"
JSON_V2 = "application/vnd.kafka.json.v2+json"
BINARY_V2 = "application/vnd.kafka.binary.v2+json"

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def topic():
    cluster = requests.get(f"{GATEWAY}/v3/clusters", timeout=30).json()["data"][0]["cluster_id"]
    name = f"py-cons-{uuid.uuid4().hex[:12]}"
    r = requests.post(
        f"{GATEWAY}/v3/clusters/{cluster}/topics",
        json={"topic_name": name, "partitions_count": 2, "replication_factor": 1},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    yield name
    requests.delete(f"{GATEWAY}/v3/clusters/{cluster}/topics/{name}", timeout=30)


def produce(topic, values):
    r = requests.post(
        f"{GATEWAY}/topics/{topic}",
        headers={"Content-Type": JSON_V2},
        json={"records": [{"key": f"k{i}", "value": v} for i, v in enumerate(values)]},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert all(o["error_code"] is None for o in r.json()["offsets"])


def test_consumer_loop_reads_each_record_once_and_commits(topic):
    group = f"py-group-{uuid.uuid4().hex[:8]}"
    s = requests.Session()
    r = s.post(
        f"{GATEWAY}/consumers/{group}",
        headers={"Content-Type": V2},
        json={"name": "worker-1", "format": "json", "auto.offset.reset": "earliest", "auto.commit.enable": "false"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    base = r.json()["base_uri"]
    assert base == f"{GATEWAY}/consumers/{group}/instances/worker-1"
    r = s.post(f"{base}/subscription", headers={"Content-Type": V2}, json={"topics": [topic]}, timeout=90)
    assert r.status_code == 204, r.text

    values = [{"n": i, "text": "zürich"} for i in range(40)]
    produce(topic, values)

    seen = []
    deadline = time.time() + 60
    while len(seen) < len(values) and time.time() < deadline:
        r = s.get(f"{base}/records", params={"timeout": 1000, "max_bytes": 4096}, headers={"Accept": JSON_V2}, timeout=30)
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"] == JSON_V2
        batch = r.json()
        seen.extend(batch)
        if batch:
            last = {}
            for rec in batch:
                last[(rec["topic"], rec["partition"])] = rec["offset"]
            offsets = [{"topic": t, "partition": p, "offset": o} for (t, p), o in last.items()]
            c = s.post(f"{base}/offsets", headers={"Content-Type": V2}, json={"offsets": offsets}, timeout=30)
            assert c.status_code == 200, c.text

    assert sorted(rec["value"]["n"] for rec in seen) == list(range(40))
    assert all(isinstance(rec["timestamp"], int) and rec["headers"] == [] for rec in seen)
    # Committed offsets (Confluent sends this GET with a JSON body): the next offset after the last record read.
    ends = {}
    for rec in seen:
        ends[rec["partition"]] = max(ends.get(rec["partition"], -1), rec["offset"] + 1)
    r = s.get(
        f"{base}/offsets",
        headers={"Content-Type": V2},
        json={"partitions": [{"topic": topic, "partition": p} for p in (0, 1)]},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    got = {o["partition"]: o["offset"] for o in r.json()["offsets"]}
    assert got == {p: ends.get(p, -1) for p in (0, 1)}

    # A wrong Accept is 406 40601; a deleted instance is 40403.
    r = s.get(f"{base}/records", headers={"Accept": BINARY_V2}, timeout=30)
    assert (r.status_code, r.json()["error_code"]) == (406, 40601)
    assert s.delete(base, timeout=30).status_code == 204
    r = s.get(f"{base}/records", headers={"Accept": JSON_V2}, timeout=30)
    assert (r.status_code, r.json()["error_code"]) == (404, 40403)
