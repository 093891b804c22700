#!/usr/bin/env python3
"""getJobAds of many held jobs on the real pool (htcondor backend) against
``htcondor2.Schedd.query`` of the same jobs, in one run; and the service's peak memory growth
while it answers.

Queues ``--jobs`` held jobs (``/bin/true``, never run) carrying a marker unique to this run,
times ``--repeat`` getJobAds with the constraint on that marker (the whole answer read over a
keep-alive connection) and as many ``Schedd.query`` of the same constraint, and prints the
medians, the ratio, and the peak RSS growth of the service during its first answer (over
its RSS once started and connected to the schedd). The jobs are
removed at the end, however the run ends (the pool is shared).

    bench/bench_getjobads.py [--jobs 10000] [--repeat 5] [--quick]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="200 jobs, 2 repeats (CI smoke test)")
    parser.add_argument("--profile", metavar="FILE", help="py-spy profile of the service's first answer")
    parser.add_argument("--service-args", default="", help="extra 'condor-soap serve' options")
    args = parser.parse_args()
    if args.quick:
        args.jobs, args.repeat = 200, 2
    env = common.pool_environment()
    import htcondor2

    marker = f"bench-{uuid.uuid4().hex}"
    constraint = f'CondorSoapBenchRun == "{marker}"'
    schedd = common.schedd()
    with common.removing(constraint):
        started = time.perf_counter()
        description = htcondor2.Submit({"executable": "/bin/true", "hold": "true",
                                        "MY.CondorSoapBench": "true", "MY.CondorSoapBenchRun": f'"{marker}"',
                                        "requirements": "false"})
        for _ in range(0, args.jobs, 5000):  # big clusters are slow to queue: 5,000 a cluster
            schedd.submit(description, count=min(5000, args.jobs - _))
        print(f"queued {args.jobs} held jobs in {time.perf_counter() - started:.1f} s")
        service = common.Service("--backend", "htcondor", "--max-jobs-per-query", "0",
                                 *args.service_args.split(), env=env)
        try:
            body = common.envelope("getJobAds", f"<constraint>{constraint}</constraint>")
            conn = service.connection()
            common.call(conn, common.envelope("getJobAds", "<constraint>false</constraint>"))  # locates the schedd
            with common.profiling(service.proc.pid, args.profile):  # the first answer: growth from a fresh start
                _, growth = service.peak_growth(lambda: common.call(conn, body))
            soap_times, query_times = [], []
            for _ in range(args.repeat):
                start = time.perf_counter()
                found = len(schedd.query(constraint))
                query_times.append(time.perf_counter() - start)
                start = time.perf_counter()
                answer = common.call(conn, body)
                soap_times.append(time.perf_counter() - start)
            if found != args.jobs:
                raise RuntimeError(f"Schedd.query found {found} of {args.jobs} jobs")
            ads = answer.count(b"<name>MyType</name>")
            if ads != args.jobs:
                raise RuntimeError(f"getJobAds answered {ads} ads of {args.jobs}")
            conn.close()
        finally:
            service.close()
    query, soap = common.median(query_times), common.median(soap_times)
    print(f"jobs: {args.jobs}, answer: {len(answer) / 1e6:.1f} MB of XML, medians of {args.repeat}")
    print(f"htcondor2 Schedd.query:  {query:8.3f} s")
    print(f"condor-soap getJobAds:   {soap:8.3f} s")
    print(f"service peak RSS growth: {growth / 2**20:8.1f} MiB")
    print(common.ratio_line("getJobAds time / Schedd.query time", soap / query))


if __name__ == "__main__":
    main()
