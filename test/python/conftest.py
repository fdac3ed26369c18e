# test_security.py needs a gateway with AUTH_MODE=jwt and tokens minted for it: only its own wrapper
# (test/integration/security-python.test.ts, which sets KGW_SECURITY=1) collects it. Other runs of this folder
# (test/integration/python.test.ts, against an AUTH_MODE=none gateway) leave it out instead of reporting it skipped.
import os
import uuid

import pytest
import requests

collect_ignore = [] if os.environ.get("KGW_SECURITY") == "1" else ["test_security.py"]
# test_refusals.py needs the refusal bed's gateways (test/helpers/refusals.ts): only refusals-python.test.ts runs it.
if os.environ.get("KGW_REFUSALS") != "1":
    collect_ignore.append("test_refusals.py")


@pytest.fixture(scope="module")
def cluster_id() -> str:
    """The cluster's id as the gateway's v3 API reports it."""
    gateway = os.environ["GATEWAY_URL"].rstrip("/")
    r = requests.get(f"{gateway}/v3/clusters", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["data"][0]["cluster_id"]


@pytest.fixture
def make_topic(cluster_id):
    """make_topic(partitions) creates a fresh topic through the gateway's v3 admin API and returns its name."""
    gateway = os.environ["GATEWAY_URL"].rstrip("/")

    def make(partitions: int) -> str:
        name = f"py-{uuid.uuid4().hex[:16]}"
        r = requests.post(
            f"{gateway}/v3/clusters/{cluster_id}/topics",
            json={"topic_name": name, "partitions_count": partitions, "replication_factor": 1},
            timeout=30,
        )
        assert r.status_code == 201, r.text
        assert r.headers["Location"].endswith(f"/topics/{name}")
        return name

    return make
