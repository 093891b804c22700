"""Bounded load and soak (bench/bench_load.py) against the real service process: 32 clients,
mixed reads, transactions and uploads; no call that should succeed fails, and the service's
RSS stays flat. CI: 8,000 calls; ``--reliability-long``: 100,000 (docs/reliability.rst)."""
from __future__ import annotations

import pytest

from bench.bench_load import run_load
from tests.reliability.conftest import FIGURES, assert_alive

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def backend_name() -> str:
    return "local"


def test_load_and_soak(make_service, long_run):
    calls = 100_000 if long_run else 8_000
    svc = make_service()
    url = svc.start()
    figures = run_load(url, svc.proc.pid, clients=32, calls=calls)
    assert figures["failed calls"] == 0 and not figures["errors"], figures["errors"]
    assert figures["calls"] >= calls
    growth = figures["rss end KiB"] / figures["rss warm KiB"]
    assert growth < 1.5, f"RSS grew from {figures['rss warm KiB']} to {figures['rss end KiB']} KiB"
    worst = max(p99 for _n, _p50, p99 in figures["per operation"].values())
    FIGURES["load"] = {"calls": figures["calls"], "clients": 32, "seconds": round(figures["seconds"]),
                       "failed": figures["failed calls"], "worst p99 ms": round(worst),
                       "RSS warm/end MiB": f"{figures['rss warm KiB'] / 1024:.0f}/{figures['rss end KiB'] / 1024:.0f}"}
    assert_alive(svc)
    svc.stop()
