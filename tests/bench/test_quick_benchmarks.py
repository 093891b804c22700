"""CI runs every benchmark of bench/ in its ``--quick`` mode: each must run to the end against
its real baseline and print its ratio line. Figures are never asserted (docs/performance.rst
has them, measured on a quiet machine)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
RATIO = re.compile(r"^ratio [^:\n]+: \d+\.\d\d$", re.M)


def run_quick(script: str, env: dict) -> str:
    run = subprocess.run([sys.executable, str(BENCH / script), "--quick"], capture_output=True, text=True,
                         timeout=600, env=env, cwd=BENCH.parent)
    assert run.returncode == 0, f"{script} failed:\n{run.stdout}\n{run.stderr}"
    assert RATIO.search(run.stdout), f"{script} printed no ratio line:\n{run.stdout}"
    return run.stdout


@pytest.mark.parametrize("script", ["bench_sendfile.py", "bench_version.py"])
def test_local_benchmarks(script):
    run_quick(script, dict(os.environ))


@pytest.mark.real_pool
@pytest.mark.parametrize("script", ["bench_getjobads.py", "bench_commit.py"])
def test_pool_benchmarks(real_pool, script):
    out = run_quick(script, dict(os.environ, CONDOR_CONFIG=real_pool.condor_config))
    assert "MiB" in out or "jobs in one cluster" in out
