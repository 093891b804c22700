"""The birdbath-style workflow end to end: real service process, real HTTP, real job."""
from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

import pytest

from tests.functional.conftest import schedd_client

_spec = importlib.util.spec_from_file_location(
    "zeep_workflow", Path(__file__).resolve().parents[2] / "examples" / "zeep_workflow.py")
zeep_workflow = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(zeep_workflow)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("wsdl", [
    pytest.param("reference", id="reference-wsdl"),
    pytest.param("served", id="served-wsdl"),
])
def test_full_workflow(service, wsdl, reference_dir):
    wsdl_path = str(reference_dir / "condorSchedd.wsdl") if wsdl == "reference" else None
    proxy = schedd_client(service.url, wsdl_path)
    payload = os.urandom(3 * zeep_workflow.CHUNK + 12345)  # four chunks, the last one short
    steps: list[str] = []

    result = zeep_workflow.run_workflow(proxy, payload, service.owner, log=steps.append)

    assert result["states"][-1] == "4"
    assert result["exit_code"] == "0"
    assert result["outputs"]["out.dat"] == payload
    assert result["outputs"]["checksum.txt"].decode().strip() == hashlib.sha256(payload).hexdigest()
    assert b"empty.dat has 0 bytes" in result["outputs"]["stdout.txt"]
    assert result["spool"]["in.dat"] == len(payload)
    assert result["spool"]["empty.dat"] == 0
    assert result["spool"]["out.dat"] == len(payload)
    # after closeSpool the job is gone from the queue, and getJobAd says so
    gone = proxy.getJobAd(None, result["cluster"], result["proc"])
    assert gone.status.code == "UNKNOWNJOB"
    assert any("left the queue" in s for s in steps)


def test_example_script_runs(service):
    """The README's example, as a user runs it."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[2] / "examples" / "zeep_workflow.py"
    run = subprocess.run([sys.executable, str(script), service.url, "--size", "70000", "--owner", service.owner],
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "output verified" in run.stdout
    assert "closeSpool -> the job has left the queue" in run.stdout
