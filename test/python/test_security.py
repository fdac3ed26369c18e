"""A Python service against a gateway with AUTH_MODE=jwt: with a token it produces (read back straight from Kafka with
kafka-python) and subscribes over WebSocket (Authorization header, and the browser-style bearer subprotocol);
without one, or with a bad one, it gets 401 with WWW-Authenticate and error_code 40101, and nothing is written.

Run by test/integration/security-python.test.ts, which starts the gateway and mints the tokens. Environment:
KGW_SECURITY=1, GATEWAY_URL, KAFKA_BROKERS, KGW_TOPIC (the token may produce/consume it), KGW_OTHER_TOPIC (it may
not), KGW_TOKEN, KGW_TOKEN_EXPIRED, KGW_TOKEN_OTHER_KEY (signed with another key).
"""

import json
import os
import time
import uuid

import pytest
import requests
import websocket
from kafka import KafkaConsumer, TopicPartition

GATEWAY = os.environ["GATEWAY_URL"].rstrip("/")
WS_BASE = "ws" + GATEWAY[len("http"):]
BROKERS = os.environ["KAFKA_BROKERS"].split(",")
TOPIC = os.environ["KGW_TOPIC"]
OTHER = os.environ["KGW_OTHER_TOPIC"]
TOKEN = os.environ["KGW_TOKEN"]
JSON_V2 = "application/vnd.kafka.json.v2+json"

pytestmark = pytest.mark.timeout(120)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def produce(topic: str, records, headers=None) -> requests.Response:
    return requests.post(
        f"{GATEWAY}/topics/{topic}",
        data=json.dumps({"records": records}),
        headers={"Content-Type": JSON_V2, **(headers or {})},
        timeout=30,
    )


def end_offset(topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=BROKERS, group_id=None, enable_auto_commit=False)
    try:
        tp = TopicPartition(topic, 0)
        return consumer.end_offsets([tp])[tp]
    finally:
        consumer.close()


def read_values(topic: str, count: int, timeout_s: float = 30.0):
    """The values of partition 0 from the beginning (no consumer group), as parsed JSON."""
    consumer = KafkaConsumer(bootstrap_servers=BROKERS, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest")
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        values = []
        deadline = time.monotonic() + timeout_s
        while len(values) < count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                values.extend(json.loads(r.value) for r in batch)
        return values
    finally:
        consumer.close()


def assert_401(r: requests.Response) -> None:
    assert r.status_code == 401, r.text
    assert r.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert r.json()["error_code"] == 40101


def next_frame(ws, kind: str, timeout_s: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ws.settimeout(max(0.1, deadline - time.monotonic()))
        frame = json.loads(ws.recv())
        if frame["type"] == kind:
            return frame
        if frame["type"] == "error":
            raise AssertionError(f"error frame: {frame}")
    raise AssertionError(f"no {kind} frame within {timeout_s} s")


def test_without_a_token_every_call_is_401_and_nothing_is_written():
    before = end_offset(TOPIC)
    marker = uuid.uuid4().hex
    assert_401(requests.get(f"{GATEWAY}/topics", timeout=30))
    assert_401(produce(TOPIC, [{"value": marker}]))
    assert_401(produce(TOPIC, [{"value": marker}], {"Authorization": "Basic dXNlcjpwYXNz"}))
    assert_401(produce(TOPIC, [{"value": marker}], bearer(os.environ["KGW_TOKEN_EXPIRED"])))
    assert_401(produce(TOPIC, [{"value": marker}], bearer(os.environ["KGW_TOKEN_OTHER_KEY"])))
    assert end_offset(TOPIC) == before
    # Health stays open.
    assert requests.get(f"{GATEWAY}/healthz", timeout=30).status_code == 200


def test_without_a_token_the_websocket_is_refused_with_401():
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(f"{WS_BASE}/ws?topic={TOPIC}", subprotocols=["kgw.v1"], timeout=30)
    assert refused.value.status_code == 401
    assert json.loads(refused.value.resp_body)["error_code"] == 40101


def test_with_a_token_it_produces_and_the_records_are_in_kafka():
    marker = uuid.uuid4().hex
    records = [{"key": f"k{i}", "value": {"marker": marker, "i": i}} for i in range(3)]
    r = produce(TOPIC, records, bearer(TOKEN))
    assert r.status_code == 200, r.text
    assert [o["error_code"] for o in r.json()["offsets"]] == [None, None, None]
    values = [v for v in read_values(TOPIC, end_offset(TOPIC)) if isinstance(v, dict) and v.get("marker") == marker]
    assert [v["i"] for v in values] == [0, 1, 2]


def test_a_topic_outside_the_token_is_403_and_nothing_is_written():
    before = end_offset(OTHER)
    r = produce(OTHER, [{"value": 1}], bearer(TOKEN))
    assert r.status_code == 403, r.text
    assert r.json()["error_code"] == 40301
    assert end_offset(OTHER) == before


@pytest.mark.parametrize("how", ["authorization-header", "bearer-subprotocol"])
def test_with_a_token_it_subscribes_and_receives_what_is_produced(how):
    if how == "authorization-header":
        ws = websocket.create_connection(f"{WS_BASE}/ws?topic={TOPIC}", subprotocols=["kgw.v1"], header=[f"Authorization: Bearer {TOKEN}"], timeout=30)
    else:
        ws = websocket.create_connection(f"{WS_BASE}/ws?topic={TOPIC}", subprotocols=["kgw.v1", f"bearer.{TOKEN}"], timeout=30)
    try:
        assert ws.getsubprotocol() == "kgw.v1"
        next_frame(ws, "subscribed")
        marker = uuid.uuid4().hex
        r = produce(TOPIC, [{"key": "py", "value": {"marker": marker}}], bearer(TOKEN))
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 30
        while True:
            record = next_frame(ws, "record", max(0.1, deadline - time.monotonic()))
            if isinstance(record["value"], dict) and record["value"].get("marker") == marker:
                break
        assert record["topic"] == TOPIC
        assert record["key"] == "py"
    finally:
        ws.close()
