"""A small Python client for the Kafka gateway.

Confluent REST Proxy v2 produce and metadata with ``requests``; kgw.v1 WebSocket subscriptions with
``websocket-client``. Gateway refusals become :class:`GatewayError` (HTTP status + Confluent ``error_code``),
``error`` frames become :class:`FrameError`.

    gw = Gateway("http://127.0.0.1:8080")
    gw.produce_json("orders", [{"key": "k1", "value": {"total": 12.5}}])
    with gw.subscribe(topic="orders", group="billing", from_="earliest", ack="manual") as sub:
        for record in sub:
            handle(record)
            sub.ack(record)
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional
from urllib.parse import quote, urlencode

import requests
import websocket

V2 = "application/vnd.kafka.v2+json"
JSON_V2 = "application/vnd.kafka.json.v2+json"
BINARY_V2 = "application/vnd.kafka.binary.v2+json"
SUBPROTOCOL = "kgw.v1"

TOPIC_NOT_FOUND = 40401
PARTITION_NOT_FOUND = 40402


class GatewayError(Exception):
    """The gateway refused a request: ``{"error_code": ..., "message": ...}`` with its HTTP status."""

    def __init__(self, status: int, error_code: int, message: str):
        super().__init__(f"HTTP {status}, error_code {error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message

    @classmethod
    def from_response(cls, status: int, body: Optional[bytes]) -> "GatewayError":
        try:
            data = json.loads(body or b"")
            return cls(status, int(data["error_code"]), str(data.get("message", "")))
        except (ValueError, KeyError, TypeError):
            return cls(status, status, (body or b"").decode("utf-8", "replace").strip())


class TopicNotFound(GatewayError):
    """40401: the topic does not exist."""


def _typed(err: GatewayError) -> GatewayError:
    if err.error_code == TOPIC_NOT_FOUND:
        return TopicNotFound(err.status, err.error_code, err.message)
    return err


class FrameError(Exception):
    """An ``error`` frame: the subscription or message it names was refused (the socket stays open)."""

    def __init__(self, frame: dict):
        super().__init__(f"{frame.get('code')} (id {frame.get('id')!r}): {frame.get('message')}")
        self.id = frame.get("id")
        self.code = frame.get("code")
        self.message = frame.get("message")


@dataclass
class Offset:
    partition: Optional[int]
    offset: Optional[int]
    error_code: Optional[int]
    error: Optional[str]


@dataclass
class ProduceResult:
    offsets: list[Offset]
    key_schema_id: Optional[int] = None
    value_schema_id: Optional[int] = None


@dataclass
class Record:
    """A ``record`` frame. ``key``/``value`` are as the subscription's format gives them; for ``format="base64"``
    use :meth:`key_bytes` / :meth:`value_bytes`."""

    id: str
    topic: str
    partition: int
    offset: int
    timestamp: int
    key: Any
    value: Any
    headers: list = field(default_factory=list)

    def key_bytes(self) -> Optional[bytes]:
        return None if self.key is None else base64.b64decode(self.key, validate=True)

    def value_bytes(self) -> Optional[bytes]:
        return None if self.value is None else base64.b64decode(self.value, validate=True)


def _b64(b: Optional[bytes]) -> Optional[str]:
    return None if b is None else base64.b64encode(b).decode("ascii")


class Gateway:
    def __init__(self, base_url: str, session: Optional[requests.Session] = None, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.http = session or requests.Session()
        self.http.headers["Accept"] = V2
        self.timeout = timeout

    # ---- REST (Confluent v2) ---------------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: Any = None, content_type: Optional[str] = None) -> Any:
        headers = {"Content-Type": content_type} if content_type else {}
        data = None if body is None else json.dumps(body).encode("utf-8")
        res = self.http.request(method, self.base_url + path, data=data, headers=headers, timeout=self.timeout)
        if not res.ok:
            raise _typed(GatewayError.from_response(res.status_code, res.content))
        return res.json()

    def _produce(self, path: str, records: list[dict], content_type: str) -> ProduceResult:
        out = self._call("POST", path, {"records": records}, content_type)
        return ProduceResult(
            offsets=[Offset(**o) for o in out["offsets"]],
            key_schema_id=out.get("key_schema_id"),
            value_schema_id=out.get("value_schema_id"),
        )

    def produce_json(self, topic: str, records: list[dict]) -> ProduceResult:
        """Records ``{"key": <json>, "value": <json>, "partition": <int, optional>}``."""
        return self._produce(f"/topics/{quote(topic, safe='')}", records, JSON_V2)

    def produce_binary(self, topic: str, records: list[dict], partition: Optional[int] = None) -> ProduceResult:
        """Records ``{"key": bytes|None, "value": bytes|None, "partition": <int, optional>}``; base64 on the wire.
        With ``partition``, posts to ``/topics/{t}/partitions/{p}``."""
        wire = [{**r, "key": _b64(r.get("key")), "value": _b64(r.get("value"))} for r in records]
        path = f"/topics/{quote(topic, safe='')}"
        if partition is not None:
            path += f"/partitions/{partition}"
        return self._produce(path, wire, BINARY_V2)

    def topics(self) -> list[str]:
        return self._call("GET", "/topics")

    def topic(self, topic: str) -> dict:
        return self._call("GET", f"/topics/{quote(topic, safe='')}")

    def partitions(self, topic: str) -> list[dict]:
        return self._call("GET", f"/topics/{quote(topic, safe='')}/partitions")

    def partition_offsets(self, topic: str, partition: int) -> dict:
        """``{"beginning_offset": n, "end_offset": m}``."""
        return self._call("GET", f"/topics/{quote(topic, safe='')}/partitions/{partition}/offsets")

    # ---- WebSocket (kgw.v1) --------------------------------------------------------------------------------
    def connect(self, query: Optional[dict] = None, timeout: float = 60.0) -> "Subscription":
        """Opens ``/ws``; a ``query`` is the URL shortcut (its subscription has id ``"0"``). A refusal before
        the upgrade raises :class:`GatewayError` (e.g. 404 / 40401 for a missing topic)."""
        url = "ws" + self.base_url[len("http"):] + "/ws"
        if query:
            url += "?" + urlencode(query)
        try:
            ws = websocket.create_connection(url, subprotocols=[SUBPROTOCOL], timeout=timeout)
        except websocket.WebSocketBadStatusException as e:
            raise _typed(GatewayError.from_response(e.status_code, e.resp_body)) from None
        if ws.getsubprotocol() != SUBPROTOCOL:
            ws.close()
            raise ConnectionError(f"gateway selected subprotocol {ws.getsubprotocol()!r}")
        return Subscription(ws, "0" if query else None)

    def subscribe(self, topic: str, group: Optional[str] = None, from_: Optional[str] = None,
                  ack: str = "auto", fmt: str = "json", timeout: float = 60.0) -> "Subscription":
        """A subscription from the URL shortcut alone; returns once its ``subscribed`` frame arrived."""
        query = {"topic": topic, "ack": ack, "format": fmt}
        if group:
            query["group"] = group
        if from_:
            query["from"] = from_
        sub = self.connect(query, timeout)
        try:
            sub.subscribed = sub.wait_subscribed("0")
        except BaseException:
            sub.close()
            raise
        return sub


class Subscription:
    """One kgw.v1 socket. Iterating yields :class:`Record` s of subscription ``id`` (the shortcut's by default)."""

    def __init__(self, ws: websocket.WebSocket, id: Optional[str]):
        self.ws = ws
        self.id = id
        self.subscribed: Optional[dict] = None
        self.frames: list[dict] = []  # frames read while waiting for something else (assignment, ...)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, frame: dict) -> None:
        self.ws.send(json.dumps(frame))

    def read(self) -> dict:
        return json.loads(self.ws.recv())

    def wait_subscribed(self, id: str) -> dict:
        while True:
            f = self.read()
            if f.get("id") == id and f["type"] == "subscribed":
                return f
            if f.get("id") == id and f["type"] == "error":
                raise FrameError(f)
            self.frames.append(f)

    def subscribe(self, **frame: Any) -> dict:
        """Sends a ``subscribe`` frame (``id``, ``mode``, ``topics``, ...) and waits for ``subscribed``."""
        self.send({"type": "subscribe", **frame})
        return self.wait_subscribed(frame["id"])

    def ack(self, record: Record) -> None:
        """Acknowledges ``record`` (cumulative per partition); the gateway commits ``offset + 1``."""
        self.send({"type": "ack", "id": record.id, "topic": record.topic, "partition": record.partition,
                   "offset": record.offset})

    def __iter__(self) -> Iterator[Record]:
        while True:
            f = self.frames.pop(0) if self.frames else self.read()
            if f["type"] == "record" and (self.id is None or f["id"] == self.id):
                yield Record(f["id"], f["topic"], f["partition"], f["offset"], f["timestamp"], f["key"], f["value"],
                             f.get("headers") or [])
            elif f["type"] == "error":
                raise FrameError(f)

    def close(self) -> None:
        self.ws.close()  # 1000, waits (briefly) for the server's close frame
