"""Cross-language check of the WebSocket protocol (kgw.v1) with `websocket-client`: a Python service joins a consumer
group over /ws with manual acks, records produced through the gateway's REST API arrive with the right key, value,
partition, offset and headers, the acks are committed in Kafka (read back with kafka-python's admin client), and a
reconnect with the same group gets exactly the unacknowledged records again, never the acknowledged ones.

Environment: GATEWAY_URL (e.g. http://127.0.0.1:8080) and KAFKA_BROKERS (host:port[,host:port]).
Run by test/integration/python-ws.test.ts.
"""

import base64
import json
import os
import time
import uuid

import pytest
import requests
import websocket
from kafka import KafkaAdminClient

GATEWAY = os.environ["GATEWAY_URL"].rstrip("/")
WS_URL = GATEWAY.replace("http", "ws", 1) + "/ws"
BROKERS = os.environ["KAFKA_BROKERS"].split(",")
JSON_V2 = "application/vnd.kafka.json.v2+json"
PARTITIONS = 3

pytestmark = pytest.mark.timeout(240)


class Socket:
    """One kgw.v1 socket: frames in, frames out, waits with deadlines (never sleeps)."""

    def __init__(self):
        self.ws = websocket.create_connection(WS_URL, subprotocols=["kgw.v1"], timeout=60)
        assert self.ws.getsubprotocol() == "kgw.v1"
        self.frames = []

    def send(self, frame):
        self.ws.send(json.dumps(frame))

    def recv(self, deadline):
        self.ws.settimeout(max(0.1, deadline - time.monotonic()))
        frame = json.loads(self.ws.recv())
        self.frames.append(frame)
        return frame

    def wait_for(self, pred, what, timeout_s=60.0):
        """The first frame (already received or arriving within the timeout) matching pred."""
        for f in self.frames:
            if pred(f):
                return f
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            f = self.recv(deadline)
            assert f["type"] != "error", f"error frame while waiting for {what}: {f}"
            if pred(f):
                return f
        raise AssertionError(f"timed out waiting for {what}; last frames: {self.frames[-3:]}")

    def records(self, sub_id):
        return [f for f in self.frames if f["type"] == "record" and f["id"] == sub_id]

    def wait_records(self, sub_id, n, timeout_s=60.0):
        deadline = time.monotonic() + timeout_s
        while len(self.records(sub_id)) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"got {len(self.records(sub_id))} of {n} records; last frames: {self.frames[-3:]}")
            f = self.recv(deadline)
            assert f["type"] != "error", f"error frame: {f}"
        return self.records(sub_id)

    def round_trip(self):
        """ping → pong: every frame sent before it (our acks) has been handled by the gateway."""
        before = sum(1 for f in self.frames if f["type"] == "pong")
        self.send({"type": "ping"})
        self.wait_for(lambda f: f["type"] == "pong" and sum(1 for g in self.frames if g["type"] == "pong") > before, "pong")

    def close(self):
        self.ws.close(status=1000)


def subscribe(sock, sub_id, topic, group):
    sock.send(
        {
            "type": "subscribe",
            "id": sub_id,
            "mode": "group",
            "topics": [topic],
            "group": group,
            "from": "earliest",
            "ack": "manual",
            "format": "json",
            "window": 100,
        }
    )
    reply = sock.wait_for(lambda f: f.get("id") == sub_id and f["type"] in ("subscribed", "error"), f"subscribed {sub_id}")
    assert reply["type"] == "subscribed", reply
    assert reply["mode"] == "group"
    # The only member of its group owns every partition (possibly announced by an `assignment` frame).
    sock.wait_for(lambda f: f.get("id") == sub_id and len(f.get("current", f.get("assignment", []))) == PARTITIONS, "all partitions")
    return reply


@pytest.fixture(scope="module")
def topic():
    r = requests.get(f"{GATEWAY}/v3/clusters", timeout=30)
    assert r.status_code == 200, r.text
    cluster = r.json()["data"][0]["cluster_id"]
    name = f"pyws-{uuid.uuid4().hex[:16]}"
    r = requests.post(
        f"{GATEWAY}/v3/clusters/{cluster}/topics",
        json={"topic_name": name, "partitions_count": PARTITIONS, "replication_factor": 1},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    yield name
    requests.delete(f"{GATEWAY}/v3/clusters/{cluster}/topics/{name}", timeout=30)


def produce(topic, start, n):
    """n records through REST, spread over the partitions; returns them with the partition and offset Kafka gave."""
    records = [
        {
            "key": f"k{i}",
            "value": {"i": i, "text": f"zürich-{i}", "nested": {"ok": True}},
            "partition": i % PARTITIONS,
            "headers": [{"name": "trace", "value": base64.b64encode(f"t{i}".encode()).decode()}],
        }
        for i in range(start, start + n)
    ]
    r = requests.post(f"{GATEWAY}/topics/{topic}", data=json.dumps({"records": records}), headers={"Content-Type": JSON_V2}, timeout=30)
    assert r.status_code == 200, r.text
    out = []
    for rec, o in zip(records, r.json()["offsets"]):
        assert o["error_code"] is None, o
        out.append({**rec, "partition": o["partition"], "offset": o["offset"]})
    return out


def check_delivered(frames, sent, topic):
    by_pos = {(f["partition"], f["offset"]): f for f in frames}
    assert len(by_pos) == len(frames), "a record was delivered twice"
    now_ms = time.time() * 1000
    for s in sent:
        f = by_pos.get((s["partition"], s["offset"]))
        assert f is not None, f"record {s['key']} at {s['partition']}/{s['offset']} not delivered"
        assert f["topic"] == topic
        assert f["key"] == s["key"]
        assert f["value"] == s["value"]
        assert f["headers"] == s["headers"]
        assert isinstance(f["timestamp"], int) and abs(f["timestamp"] - now_ms) < 600_000


def ack_all(sock, sub_id, frames):
    """Cumulative acks: the last offset delivered per partition."""
    last = {}
    for f in frames:
        last[f["partition"]] = max(last.get(f["partition"], -1), f["offset"])
    for partition, offset in sorted(last.items()):
        sock.send({"type": "ack", "id": sub_id, "topic": frames[0]["topic"], "partition": partition, "offset": offset})
    sock.round_trip()
    return last


def committed(group, topic):
    admin = KafkaAdminClient(bootstrap_servers=BROKERS, client_id="gateway-python-ws-test")
    try:
        offsets = admin.list_group_offsets(group)[group]  # kafka-python 3.x
        return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset >= 0}
    finally:
        admin.close()


def wait_committed(group, topic, want, timeout_s=60.0):
    deadline = time.monotonic() + timeout_s
    got = committed(group, topic)
    while got != want and time.monotonic() < deadline:
        time.sleep(0.2)  # polling Kafka, not waiting for time to pass: the loop ends on the condition
        got = committed(group, topic)
    assert got == want, f"committed offsets {got}, expected {want}"


def test_group_manual_ack_and_reconnect_without_redelivery(topic):
    group = f"pyws-group-{uuid.uuid4().hex[:12]}"

    # 1. A service joins the group, reads the first batch with the right key, value, partition, offset, and acks it.
    sock = Socket()
    subscribe(sock, "orders", topic, group)
    first = produce(topic, 0, 9)
    got = sock.wait_records("orders", len(first))
    check_delivered(got, first, topic)
    acked = ack_all(sock, "orders", got)

    # 2. A second batch arrives too, but the service stops before acknowledging it.
    second = produce(topic, 9, 6)
    got = sock.wait_records("orders", len(first) + len(second))
    check_delivered(got[len(first):], second, topic)
    sock.close()

    # The acknowledged offsets (last processed + 1, Kafka's convention) are the group's commits, nothing more.
    wait_committed(group, topic, {p: o + 1 for p, o in acked.items()})

    # 3. Reconnecting with the same group: exactly the unacknowledged records come again, from the commit on.
    sock = Socket()
    try:
        subscribe(sock, "orders-2", topic, group)
        again = sock.wait_records("orders-2", len(second))
        check_delivered(again, second, topic)
        acked_positions = {(r["partition"], r["offset"]) for r in first}
        assert not [f for f in again if (f["partition"], f["offset"]) in acked_positions], "an acknowledged record was delivered again"
        # Per partition, delivery starts exactly at the committed offset (so nothing earlier can follow).
        for p in range(PARTITIONS):
            offsets = [f["offset"] for f in again if f["partition"] == p]
            assert offsets == sorted(offsets)
            assert offsets[0] == acked[p] + 1
        # A third batch: only it arrives after the redelivered records (still nothing acknowledged before).
        third = produce(topic, 15, 3)
        got = sock.wait_records("orders-2", len(second) + len(third))
        assert len(got) == len(second) + len(third)
        check_delivered(got[len(second):], third, topic)
        final = ack_all(sock, "orders-2", got)
    finally:
        sock.close()
    wait_committed(group, topic, {p: o + 1 for p, o in final.items()})
    end = {r["partition"]: r["offset"] + 1 for r in first + second + third}
    assert {p: o + 1 for p, o in final.items()} == end
