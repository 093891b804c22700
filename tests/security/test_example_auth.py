"""The zeep example against a service that refuses anonymous calls: Basic auth or a bearer
token from the environment makes it work, and the job belongs to the authenticated user."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.functional.service_process import ServiceProcess

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "zeep_workflow.py"


def test_example_with_basic_auth(tmp_path):
    passwd = tmp_path / "passwd"
    subprocess.run([sys.executable, "-m", "condor_soap", "passwd", str(passwd), "alice", "--password-stdin"],
                   input="s3cret\n", text=True, check=True, capture_output=True)
    svc = ServiceProcess(tmp_path / "state", "--allow-anonymous", "false", "--password-file", str(passwd))
    url = svc.start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONDOR_SOAP_")}
        refused = subprocess.run([sys.executable, str(EXAMPLE), url, "--size", "1000"],
                                 capture_output=True, text=True, timeout=120, env=env)
        assert refused.returncode != 0 and "401" in refused.stdout + refused.stderr

        env.update(CONDOR_SOAP_USER="alice", CONDOR_SOAP_PASSWORD="s3cret", CONDOR_SOAP_OWNER="alice")
        run = subprocess.run([sys.executable, str(EXAMPLE), url, "--size", "1000"],
                             capture_output=True, text=True, timeout=180, env=env)
        assert run.returncode == 0, run.stdout + run.stderr
        assert run.stdout.rstrip().endswith("OK")
        audit = (tmp_path / "state" / "audit.log").read_text()
        assert '"user": "alice"' in audit or '"user":"alice"' in audit
    finally:
        svc.kill()


def test_example_with_a_token_acting_for_alice(tmp_path):
    """A token from an issuer (its JWKS on disk) with exactly the compute scopes the workflow
    needs: submit, hold/release, remove, read, query the collector."""
    from tests.security.issuer import AUDIENCE, Issuer

    issuer = Issuer("https://idp.example.org/realms/grid")
    issuer.add_key("EC")
    jwks = tmp_path / "issuer.jwks"
    jwks.write_text(json.dumps(issuer.jwks()))
    usermap = tmp_path / "usermap"
    usermap.write_text("SCITOKENS /^https:\\/\\/idp\\.example\\.org\\/realms\\/grid,([a-z]+)$/ \\1\n")
    svc = ServiceProcess(tmp_path / "state", "--allow-anonymous", "false", "--token-issuers",
                         f"{issuer.url}={jwks}", "--token-audiences", AUDIENCE, "--cert-map-file", str(usermap))
    url = svc.start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONDOR_SOAP_")}
        env.update(CONDOR_SOAP_OWNER="alice", CONDOR_SOAP_TOKEN=issuer.token(
            "alice", "compute.read compute.create compute.modify compute.cancel"))
        run = subprocess.run([sys.executable, str(EXAMPLE), url, "--size", "1000"],
                             capture_output=True, text=True, timeout=180, env=env)
        assert run.returncode == 0, run.stdout + run.stderr
        assert run.stdout.rstrip().endswith("OK")
        calls = [json.loads(line) for line in (tmp_path / "state" / "audit.log").read_text().splitlines()]
        assert {(c["user"], c["auth"], c["outcome"]) for c in calls if c["event"] == "call"} == \
            {("alice", "scitoken", "SUCCESS")}
        # with only read and create, the job is submitted and fetched; closing its spool
        # (compute.modify) is refused
        env["CONDOR_SOAP_TOKEN"] = issuer.token("alice", "compute.read compute.create")
        run = subprocess.run([sys.executable, str(EXAMPLE), url, "--size", "1000"],
                             capture_output=True, text=True, timeout=180, env=env)
        assert run.returncode != 0 and "getFile -> out.dat 1000 bytes" in run.stdout, run.stdout + run.stderr
        assert run.stdout.rstrip().endswith("FAILED: closeSpool: FAIL Permission denied"), run.stdout
    finally:
        svc.kill()
