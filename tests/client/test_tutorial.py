"""The tutorial's program (examples/client_tutorial.py, literalincluded in
docs/client-tutorial.rst) runs against the service on both backends, as a user runs it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).resolve().parents[2] / "examples" / "client_tutorial.py"

pytestmark = pytest.mark.slow


def test_tutorial_runs(service, monkeypatch):
    monkeypatch.setenv("CONDOR_SOAP_URL", service.url)  # the tutorial's Schedd(None) reads it
    monkeypatch.setenv("CONDOR_SOAP_OWNER", service.owner)
    run = subprocess.run([sys.executable, str(TUTORIAL)], capture_output=True, text=True, timeout=400)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("$CondorVersion: ")
    job = lines[1].split()[-1]
    assert lines[1] == f"submitted job {job}" and lines[2] == f"job {job} is COMPLETED, exit code 0"
    assert {"fetched count.txt", "fetched stdout.txt"} <= set(lines)
    assert lines[-1] == "count.txt says 9 words"
