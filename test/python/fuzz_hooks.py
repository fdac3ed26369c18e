"""Schemathesis hooks for the fuzz run: topic creation is always validate-only, so fuzzing creates no topics on the
broker that other test files share (Kafka still validates the request)."""
import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.method.upper() == "POST" and case.path == "/v3/clusters/{cluster_id}/topics" and isinstance(case.body, dict):
        case.body["validate_only"] = True
