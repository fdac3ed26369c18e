"""A refusal reaches the client that caused it: Python's urllib and requests write their whole request before they
read the answer, so a gateway that answers early and closes under them shows up as BrokenPipeError or
ConnectionResetError instead of the answer. Each case (test/helpers/refusals.ts writes them to REFUSAL_CASES) is a
request of several MiB the gateway refuses: 413, 431, 415, 401, 403, 503 50302 / 50301, 429.
Run by test/integration/refusals-python.test.ts (KGW_REFUSALS=1)."""

import json
import os
import urllib.error
import urllib.request

import pytest
import requests

with open(os.environ["REFUSAL_CASES"], encoding="utf-8") as f:
    CASES = json.load(f)


def body_of(case):
    with open(case["bodyFile"], "rb") as f:
        data = f.read()
    assert len(data) == case["bodyBytes"]
    return data


def check(case, status, payload):
    assert status == case["status"], payload
    answer = json.loads(payload)
    assert answer["error_code"] == case["errorCode"], answer
    assert isinstance(answer["message"], str) and answer["message"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_urllib_gets_the_refusal(case):
    data = body_of(case)
    for _ in range(3):
        req = urllib.request.Request(case["url"], data=data, method="POST", headers=case["headers"])
        # urllib sends `Connection: close` and writes the whole body before reading.
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(req, timeout=60)
        check(case, refused.value.code, refused.value.read())


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_requests_gets_the_refusal(case):
    data = body_of(case)
    with requests.Session() as session:  # keep-alive: a refused connection must not poison the next request
        for _ in range(3):
            r = session.post(case["url"], data=data, headers=case["headers"], timeout=60)
            check(case, r.status_code, r.content)
