#!/usr/bin/env python3
"""``GET /v1/jobs`` of many jobs against the raw ``htcondor2`` query of the same jobs, in one
run, on the project's real pool (tests/pool/pool.sh), with the service's memory.

It queues ``--jobs`` held jobs (one cluster, tagged with this run's id) straight through
htcondor2, starts ``condor-soap serve --backend htcondor``, and for full ads and for a
four-attribute projection times (median of ``--repeat``):

* baseline: ``Schedd.query(constraint[, projection])`` in this process;
* REST: ``GET /v1/jobs/DEFAULT?constraint=...[&projection=...]``, the whole body read;

then prints both, their ratio (REST / baseline) and the body size; and the service's peak RSS
growth during its first full answer next to this process's RSS growth for its first raw
query (the ads themselves, which both hold): streamed, the JSON adds nothing that grows with
the answer. The jobs are removed at the end, also on failure.

    .venv/bin/python bench/bench_rest_jobs.py [--jobs 10000] [--repeat 5] [--quick]
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import requests
from bench_constraint import timed  # bench/ is this script's own folder

ROOT = Path(__file__).resolve().parents[1]
POOL = ROOT / "tests" / "pool" / "pool.sh"
PROJECTION = ["ClusterId", "ProcId", "JobStatus", "Owner"]


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+)", text, re.M).group(1))


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="1,000 jobs, 3 repeats (a CI smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.jobs, args.repeat = 1000, 3
    subprocess.run([str(POOL), "start"], check=True, capture_output=True)
    os.environ["CONDOR_CONFIG"] = subprocess.run([str(POOL), "env"], check=True, capture_output=True,
                                                 text=True).stdout.strip().split("=", 1)[1]
    import htcondor2

    htcondor2.reload_config()
    schedd = htcondor2.Schedd(htcondor2.Collector().locate(htcondor2.DaemonType.Schedd,
                                                           htcondor2.param.get("SCHEDD_HOST")))
    run = f"bench-{uuid.uuid4().hex[:12]}"
    constraint = f'RestBenchRun == "{run}"'
    service = None
    try:
        submit = htcondor2.Submit({"executable": "/bin/true", "hold": "true", "+RestBenchRun": f'"{run}"'})
        schedd.submit(submit, count=args.jobs)
        mine = rss_kib(os.getpid())
        ads = schedd.query(constraint)  # the first query of this process: what the ads cost
        query_growth = rss_kib(os.getpid()) - mine
        del ads
        with tempfile.TemporaryDirectory() as state:
            service = subprocess.Popen([sys.executable, "-m", "condor_soap", "serve", "--backend", "htcondor",
                                        "--port", "0", "--state-dir", state, "--max-jobs-per-query", "0"],
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            url = re.search(r"serving on (http://\S+/)", service.stdout.readline()).group(1) + "v1/jobs/DEFAULT"
            session = requests.Session()
            before = rss_kib(service.pid)  # the service's first answer, as the raw query's above
            reset_peak(service.pid)
            body = len(session.get(url, params={"constraint": constraint}, timeout=600).content)
            service_growth = rss_kib(service.pid, "VmHWM") - before
            print(f"{args.jobs} held jobs on the real pool (htcondor backend), median of {args.repeat}")
            print(f"{'answer':<22} {'htcondor2 s':>12} {'REST s':>8} {'ratio':>6} {'body MB':>8}")
            for label, projection in (("full ads", []), ("4-attribute projection", PROJECTION)):
                params = {"constraint": constraint, **({"projection": ",".join(projection)} if projection else {})}
                got = session.get(url, params=params, timeout=600)
                assert got.status_code == 200 and len(got.json()) == args.jobs, (got.status_code, got.text[:200])
                assert len(schedd.query(constraint, projection)) == args.jobs
                raw = timed(lambda: schedd.query(constraint, projection), args.repeat)
                rest = timed(lambda: session.get(url, params=params, timeout=600).content, args.repeat)
                print(f"{label:<22} {raw:>12.3f} {rest:>8.3f} {rest / raw:>6.2f} {len(got.content) / 1e6:>8.1f}")
            print(f"memory: the service's first full answer ({body / 1e6:.1f} MB of JSON) raised its peak RSS by "
                  f"{service_growth / 1024:.0f} MiB; the first raw query's ads took {query_growth / 1024:.0f} MiB here")
    finally:
        if service is not None:
            service.terminate()
            service.wait(30)
        schedd.act(htcondor2.JobAction.RemoveX, constraint)


if __name__ == "__main__":
    main()
