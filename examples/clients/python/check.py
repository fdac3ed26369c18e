"""kgw check (Python): metadata, JSON and binary produce, a manual-ack group subscription from the URL shortcut
that must deliver exactly what was produced, and typed errors. Prints each check; exits 1 on the first mismatch.

    GATEWAY_URL=http://127.0.0.1:8080 TOPIC=orders [GROUP=g] [TIMEOUT_SECONDS=120] python check.py
"""

from __future__ import annotations

import json
import os
import sys
import time

from kgw_client import FrameError, Gateway, GatewayError, TopicNotFound, TOPIC_NOT_FOUND


class Mismatch(Exception):
    pass


def ok(msg: str) -> None:
    print(f"ok   {msg}", flush=True)


def expect(cond: bool, msg: str) -> None:
    if not cond:
        raise Mismatch(msg)


def compact(v) -> bytes:
    """The bytes the gateway stores for a JSON key/value (docs/rest-api.md: compact, UTF-8, not ASCII-escaped)."""
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def main() -> None:
    base, topic = os.environ["GATEWAY_URL"], os.environ["TOPIC"]
    group = os.environ.get("GROUP") or f"kgw-python-{time.time_ns()}"
    deadline = time.monotonic() + float(os.environ.get("TIMEOUT_SECONDS", "120"))
    missing = f"kgw-python-missing-{time.time_ns()}"
    gw = Gateway(base)

    # --- metadata ---------------------------------------------------------------------------------------------
    expect(topic in gw.topics(), f"GET /topics does not list {topic}")
    t = gw.topic(topic)
    parts = gw.partitions(topic)
    n = len(parts)
    expect(t["name"] == topic and n > 0, f"GET /topics/{topic}: {t}")
    expect([p["partition"] for p in parts] == list(range(n)) == [p["partition"] for p in t["partitions"]],
           f"partitions {parts} vs topic {t['partitions']}")
    expect(all(p["leader"] >= 0 and p["replicas"] for p in parts), f"a partition without leader: {parts}")
    ok(f"metadata: topic {topic} has {n} partitions (GET /topics, /topics/{{t}}, /topics/{{t}}/partitions agree), "
       "each with a leader")
    nxt = {p: gw.partition_offsets(topic, p)["end_offset"] for p in range(n)}
    start = dict(nxt)  # records before these offsets were there before this check: skipped (but acknowledged)
    want: dict[tuple[int, int], tuple[bytes | None, bytes | None]] = {}

    def check(what: str, res, partitions: list[int], records: list[tuple[bytes | None, bytes | None]]) -> None:
        expect(res.key_schema_id is None and res.value_schema_id is None and len(res.offsets) == len(records),
               f"{what}: {res}")
        for i, o in enumerate(res.offsets):
            expect(o.error_code is None and o.error is None, f"{what}: record {i} failed: {o}")
            expect((o.partition, o.offset) == (partitions[i], nxt[partitions[i]]),
                   f"{what}: record {i} at {o.partition}@{o.offset}, want {partitions[i]}@{nxt[partitions[i]]}")
            nxt[o.partition] += 1
            want[(o.partition, o.offset)] = records[i]
        ok(f"{what}: {len(records)} offsets, each in the requested partition at the next offset")

    # --- produce: JSON (the key "k" is stored with its quotes) --------------------------------------------------
    jrecs = [{"key": f"py-json-{i}",
              "value": {"lang": "python", "i": i, "text": "héllo ✓", "tags": ["a", "b"], "nested": {"ok": True, "none": None}},
              "partition": i % n} for i in range(2 * n)]
    check("produce JSON", gw.produce_json(topic, jrecs), [r["partition"] for r in jrecs],
          [(compact(r["key"]), compact(r["value"])) for r in jrecs])

    # --- produce: binary (bytes that are neither UTF-8 nor JSON; a null key) -----------------------------------
    brecs = [{"key": None if i == n else bytes([0, 0xFF, ord("k"), i]),
              "value": bytes([0xC3, 0x28, 0x80, 0xFE]) + bytes([i]) * (40 + i),
              "partition": (i + 1) % n} for i in range(n + 1)]
    check("produce binary", gw.produce_binary(topic, brecs), [r["partition"] for r in brecs],
          [(r["key"], r["value"]) for r in brecs])
    one = {"key": b"path-key", "value": bytes([0, 1, 2, 3])}
    check(f"produce binary to /partitions/{n - 1}", gw.produce_binary(topic, [one], partition=n - 1), [n - 1],
          [(one["key"], one["value"])])
    for p in range(n):
        end = gw.partition_offsets(topic, p)["end_offset"]
        expect(end == nxt[p], f"partition {p} end_offset {end}, want {nxt[p]}")
    ok("offsets: every partition's end_offset moved past what was produced")

    # --- subscribe: URL shortcut, group mode, manual ack, base64 so every byte can be compared -----------------
    got: set[tuple[int, int]] = set()
    last: dict[int, int] = {}
    skipped = 0
    with gw.subscribe(topic, group=group, from_="earliest", ack="manual", fmt="base64") as sub:
        expect(sub.subscribed["mode"] == "group", f"subscribed frame: {sub.subscribed}")
        ok(f"subscribed (URL shortcut): group {group}, assignment {sub.subscribed['assignment']}")
        for r in sub:
            if r.topic == topic and r.offset < start[r.partition]:
                skipped += 1
                sub.ack(r)
                continue
            at = (r.partition, r.offset)
            expect(r.topic == topic and at in want, f"record {r.topic} {r.partition}@{r.offset} was not produced here")
            expect(at in got or r.offset > last.get(r.partition, -1), f"partition {r.partition}: {r.offset} after {last}")
            last[r.partition] = r.offset
            expect((r.key_bytes(), r.value_bytes()) == want[at],
                   f"record {r.partition}@{r.offset}: {(r.key_bytes(), r.value_bytes())}, want {want[at]}")
            got.add(at)
            sub.ack(r)
            if len(got) == len(want):
                break
            expect(time.monotonic() < deadline, f"timed out with {len(got)} of {len(want)} records")
        ok(f"received and acknowledged all {len(got)} records: key, value, partition and offset as produced, "
           f"in order per partition ({skipped} older records skipped)")

        # --- errors on the socket -------------------------------------------------------------------------------
        try:
            sub.subscribe(id="nope", mode="group", topics=[missing], group=group)
            raise Mismatch("subscribe to a missing topic was accepted")
        except FrameError as e:
            expect(e.code == "UNKNOWN_TOPIC" and e.id == "nope", f"error frame {e}")
            ok(f"subscribe to a missing topic → FrameError {e.code}, socket still open")
    ok("closed the socket normally (1000)")

    # --- errors over HTTP and at the handshake --------------------------------------------------------------------
    try:
        gw.produce_json(missing, [{"value": 1}])
        raise Mismatch("produce to a missing topic succeeded")
    except TopicNotFound as e:
        expect(e.status == 404 and e.error_code == TOPIC_NOT_FOUND, f"{e}")
        ok(f"produce to a missing topic → TopicNotFound HTTP {e.status} error_code {e.error_code} ({e.message})")
    try:
        gw.topic(missing)
        raise Mismatch("GET a missing topic succeeded")
    except TopicNotFound:
        ok("GET /topics/<missing> → TopicNotFound (40401)")
    try:
        gw.subscribe(missing, group=group)
        raise Mismatch("WebSocket shortcut to a missing topic was accepted")
    except GatewayError as e:
        expect(e.status == 404 and e.error_code == TOPIC_NOT_FOUND, f"{e}")
        ok(f"WebSocket shortcut to a missing topic → refused before the upgrade: HTTP {e.status} error_code {e.error_code}")
    print("python client: all checks passed")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a mismatch, or anything the client raised
        print(f"FAIL {type(e).__name__}: {e}", flush=True)
        sys.exit(1)
