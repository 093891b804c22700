#!/usr/bin/env python3
"""commitTransaction of one cluster of many jobs (htcondor backend, real pool) against
queueing the same cluster with htcondor2 directly, in one run.

The service gets a transaction with one cluster of ``--jobs`` jobs, each submitted with the
ad createJobTemplate gives (``/bin/true``, ``Requirements = false`` so no job ever runs);
only commitTransaction is timed. The baseline is what the commit does with htcondor2:
``Schedd.submit(count=N, spool=True)`` of an equivalent description, ``Schedd.spool`` and
the release. Prints the medians, the ratio, and removes every job it queued.

    bench/bench_commit.py [--jobs 1000] [--repeat 3] [--quick]
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def baseline(schedd, jobs: int, marker: str) -> float:
    import htcondor2

    description = htcondor2.Submit({"executable": "/bin/true", "requirements": "false",
                                    "MY.CondorSoapBenchRun": f'"{marker}"',
                                    "initialdir": os.getcwd(), "should_transfer_files": "YES"})
    start = time.perf_counter()
    result = schedd.submit(description, count=jobs, spool=True)
    schedd.spool(result)
    schedd.act(htcondor2.JobAction.Release, f"ClusterId == {result.cluster()}",
               ("bench: committed", None))
    return time.perf_counter() - start


def settle(schedd, timeout: float = 30.0) -> None:
    """Until the schedd answers a query promptly again (it finishes the last batch's releases
    and log writes after the call returned): neither side pays for the other's work."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        start = time.perf_counter()
        schedd.query("false", ["ClusterId"], limit=1)
        if time.perf_counter() - start < 0.02:
            time.sleep(0.5)
            return
        time.sleep(0.2)


def soap_commit(service, jobs: int, marker: str, profile=None) -> float:
    conn = service.connection()
    try:
        txn = int(common.value(common.call(conn, common.envelope("beginTransaction", "<duration>600</duration>")),
                               "id"))
        t = common.txn_xml(txn)
        cluster = common.value(common.call(conn, common.envelope("newCluster", t)), "integer")
        template = common.call(conn, common.envelope(
            "createJobTemplate", f"<clusterId>{cluster}</clusterId><jobId>0</jobId><owner>bench</owner>"
                                 "<type>VANILLA</type><cmd>/bin/true</cmd><args>x</args>"
                                 "<requirements>false</requirements>")).decode()
        items = re.findall(r"<item><name>([^<]*)</name><type>([^<]*)</type><value>([^<]*)</value></item>", template)
        keep = [(n, ty, v) for n, ty, v in items if n not in ("ClusterId", "ProcId", "Owner")]
        keep.append(("CondorSoapBenchRun", "STRING-ATTR", marker))
        ad = "".join(f"<item><name>{n}</name><type>{ty}</type><value>{v}</value></item>" for n, ty, v in keep)
        for _ in range(jobs):
            proc = common.value(common.call(conn, common.envelope(
                "newJob", f"{t}<clusterId>{cluster}</clusterId>")), "integer")
            common.call(conn, common.envelope(
                "submit", f"{t}<clusterId>{cluster}</clusterId><jobId>{proc}</jobId><jobAd>{ad}</jobAd>"))
        with common.profiling(service.proc.pid, profile):
            start = time.perf_counter()
            common.call(conn, common.envelope("commitTransaction", t))
            took = time.perf_counter() - start
        return took
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="20 jobs, 1 repeat (CI smoke test)")
    parser.add_argument("--profile", metavar="FILE", help="py-spy profile of the service's last commit")
    args = parser.parse_args()
    if args.quick:
        args.jobs, args.repeat = 20, 1
    env = common.pool_environment()
    schedd = common.schedd()
    marker = f"bench-{uuid.uuid4().hex}"
    soap_times, base_times = [], []
    with common.removing(f'CondorSoapBenchRun == "{marker}"'):
        service = common.Service("--backend", "htcondor", env=env)
        try:
            for n in range(args.repeat):  # alternating which goes first, the schedd idle before each
                runs = [lambda: base_times.append(baseline(schedd, args.jobs, marker)),
                        lambda: soap_times.append(soap_commit(service, args.jobs, marker,
                                                              args.profile if n == args.repeat - 1 else None))]
                for run in runs if n % 2 == 0 else runs[::-1]:
                    settle(schedd)
                    run()
        finally:
            service.close()
        queued = len(schedd.query(f'CondorSoapBenchRun == "{marker}"', ["ClusterId"]))
        if queued != 2 * args.jobs * args.repeat:  # the pool is shared: someone may have removed some
            print(f"warning: {queued} jobs in the queue, {2 * args.jobs * args.repeat} were queued")
    base, soap = common.median(base_times), common.median(soap_times)
    print(f"{args.jobs} jobs in one cluster, medians of {args.repeat}")
    print(f"htcondor2 submit+spool+release: {base:8.3f} s")
    print(f"condor-soap commitTransaction:  {soap:8.3f} s")
    print(common.ratio_line("commitTransaction time / htcondor2 time", soap / base))


if __name__ == "__main__":
    main()
