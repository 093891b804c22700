"""The service on other Pythons: the wire and workflow tests, run on Python 3.13 in the
Debian trixie root (Spyne 2.14 needs condor_soap.soap._spyne_compat and legacy-cgi there).

Python 3.12 has no interpreter here: bookworm ships 3.11 and trixie 3.13, and downloading a
Python build is not possible from this network; the shim's 3.12 path (the six.moves importer)
is the same code that 3.13 exercises.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "pool" / "py313.sh"


@pytest.mark.slow
def test_soap_and_workflow_on_python_313(pool_host):
    run = subprocess.run([str(SCRIPT), "-q"], capture_output=True, text=True, timeout=1800)
    lines = run.stdout.strip().splitlines()  # pytest's summary is the last line of stdout
    summary = lines[-1] if lines else ""
    assert run.returncode == 0, "\n".join((run.stdout + run.stderr).strip().splitlines()[-60:])
    assert re.search(r"\d+ passed", summary) and "failed" not in summary, summary
    assert int(re.search(r"(\d+) passed", summary).group(1)) > 100, summary
