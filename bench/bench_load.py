#!/usr/bin/env python3
"""Load and soak: many SOAP clients against the real service process, mixed reads,
transactions and uploads, until a number of calls; latency per operation, failed calls, and
the service's RSS over the run (docs/reliability.rst).

Each client loops over: reads (getVersionString, getJobAds with a constraint, queryStartdAds,
getPlatformString) 60 %, a full workflow (1 job, an upload of 1-64 KiB in two chunks, commit;
the job runs and leaves the queue) 30 %, a workflow aborted instead of committed 10 %. Every
call must succeed. The baseline, measured in the same run before the load, is one client's
getVersionString; latencies are also printed as ratios to it. RSS is sampled every second:
"warm" is its value once 10 % of the calls are done, "end" the last sample.

    .venv/bin/python bench/bench_load.py [--clients 32] [--calls 100000] [--backend local]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.workload import CallFailed, Client, Stats, reads, workflow  # noqa: E402


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def baseline(url: str, samples: int = 200) -> float:
    """One client's median getVersionString, in seconds."""
    stats = Stats()
    client = Client(lambda: url, stats)
    for _ in range(samples):
        client.call("getVersionString")
    return statistics.median(stats.latencies["getVersionString"])


def run_load(url: str, pid: int, clients: int, calls: int, runnable: bool = True) -> dict:
    """Run the mixed load until ``calls`` calls were made; returns the figures."""
    stats = Stats()
    run = uuid.uuid4().hex[:12]
    errors: list[str] = []
    rss: list[tuple[int, int]] = []  # (calls so far, RSS KiB)
    done = threading.Event()

    def client_loop(number: int) -> None:
        rng = random.Random(number)
        client = Client(lambda: url, stats)
        n = 0
        while stats.calls() < calls and not done.is_set():
            roll = rng.random()
            try:
                if roll < 0.6:
                    reads(client, run, rng)
                else:
                    workflow(client, run, f"{run}-{number}-{n}", clusters=1, size=rng.randint(1024, 65536),
                             runnable=runnable, keep=False, commit=roll < 0.9)
            except (CallFailed, OSError, Exception) as exc:  # every call should succeed
                errors.append(f"{type(exc).__name__}: {exc}"[:300])
            n += 1

    def sample() -> None:
        while not done.wait(1.0):
            try:
                rss.append((stats.calls(), rss_kib(pid)))
            except OSError:
                return

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - started
    done.set()
    sampler.join()
    rss.append((stats.calls(), rss_kib(pid)))
    warm = next((kib for n, kib in rss if n >= calls // 10), rss[0][1])
    return {"calls": stats.calls(), "seconds": took, "failed calls": sum(stats.failures.values()),
            "errors": errors[:20], "per operation": stats.summary(), "rss warm KiB": warm,
            "rss end KiB": rss[-1][1], "rss max KiB": max(k for _n, k in rss), "rss samples": rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--backend", default="local")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        service = subprocess.Popen([sys.executable, "-m", "condor_soap", "serve", "--port", "0", "--state-dir",
                                    os.path.join(tmp, "state"), "--backend", args.backend],
                                   stdout=subprocess.PIPE, stderr=open(os.path.join(tmp, "log"), "wb"), text=True)
        try:
            url = service.stdout.readline().split("serving on ")[1].split()[0]
            base = baseline(url)
            figures = run_load(url, service.pid, args.clients, args.calls, runnable=args.backend == "local")
        finally:
            service.terminate()
            service.wait(30)
    print(f"{figures['calls']} calls by {args.clients} clients in {figures['seconds']:.0f} s "
          f"({figures['calls'] / figures['seconds']:.0f}/s), {figures['failed calls']} failed; "
          f"baseline (1 client getVersionString) {base * 1e3:.2f} ms")
    for error in figures["errors"]:
        print("  error:", error)
    print(f"{'operation':24} {'calls':>7} {'p50 ms':>8} {'p99 ms':>8} {'p50/base':>9} {'p99/base':>9}")
    for name, (n, p50, p99) in figures["per operation"].items():
        print(f"{name:24} {n:>7} {p50:>8.1f} {p99:>8.1f} {p50 / 1e3 / base:>9.1f} {p99 / 1e3 / base:>9.1f}")
    warm, end, top = (figures[f"rss {k} KiB"] for k in ("warm", "end", "max"))
    print(f"RSS: warm {warm / 1024:.1f} MiB, end {end / 1024:.1f} MiB, max {top / 1024:.1f} MiB "
          f"(end/warm {end / warm:.2f})")


if __name__ == "__main__":
    main()
