"""bench/bench_client_query.py --quick as CI's smoke test: it runs, both clients read the same
300 jobs, and it prints its ratios. No timing is asserted (docs/client.rst has the figures)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_client_query.py"


@pytest.mark.slow
def test_quick_benchmark_runs():
    run = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "MISMATCH" not in run.stdout and run.stdout.startswith("Schedd.query vs zeep getJobAds: 300 jobs")
    rows = re.findall(r"^(live|replay)\s+(zeep|client-list|client-stream)\s+([\d.]+)\s+([\d.]+)$", run.stdout, re.M)
    assert len(rows) == 6 and all(float(seconds) > 0 for *_, seconds, _ in rows)
    assert len(re.findall(r"^ratio zeep/client, (live|replay): time [\d.]+x", run.stdout, re.M)) == 2
