# test_security.py needs a gateway with AUTH_MODE=jwt and tokens minted for it: only its own wrapper
# (test/integration/security-python.test.ts, which sets KGW_SECURITY=1) collects it. Other runs of this folder
# (test/integration/python.test.ts, against an AUTH_MODE=none gateway) leave it out instead of reporting it skipped.
import os

collect_ignore = [] if os.environ.get("KGW_SECURITY") == "1" else ["test_security.py"]
# test_refusals.py needs the refusal bed's gateways (test/helpers/refusals.ts): only refusals-python.test.ts runs it.
if os.environ.get("KGW_REFUSALS") != "1":
    collect_ignore.append("test_refusals.py")
