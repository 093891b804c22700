#!/usr/bin/env python3
"""Cost of judging constraints in worker processes (core/constraints.py) against judging
them in-process, in one run, on job ads shaped like the local backend's.

For each queue size it times ``select(constraint, ads)`` through the worker and the plain
in-process loop it replaced, prints both and their ratio (worker / in-process), and, for
scale, the time getJobAds then spends converting the same ads to ClassAdStructs (before any
XML is written).

    .venv/bin/python bench/bench_constraint.py [--sizes 1,10,100,1000] [--repeat 20]
"""
from __future__ import annotations

import argparse
import statistics
import time

import classad2

from condor_soap.core.classads import to_struct
from condor_soap.core.constraints import ConstraintJudge

CONSTRAINT = 'Owner == "alice" && JobStatus == 2 && ClusterId > 3'


def job_ad(n: int) -> classad2.ClassAd:
    ad = classad2.ClassAd({"ClusterId": n, "ProcId": 0, "Owner": "alice" if n % 2 else "bob", "JobStatus": 1 + n % 5,
                           "Cmd": f"/var/lib/condor-soap/spool/{n}/job.sh", "Arguments": "-v --input data.bin",
                           "Iwd": f"/var/lib/condor-soap/spool/{n}", "QDate": 1763700000 + n,
                           "TransferInputFiles": "job.sh,data.bin,config.txt", "Environment": "A=1 B=2"})
    for i in range(30):
        ad[f"Attr{i}"] = f"value {i} of job {n}"
    ad["Requirements"] = classad2.ExprTree('OpSys == "LINUX" && Arch == "X86_64" && Memory >= RequestMemory')
    return ad


def in_process(constraint: str, ads: list) -> list:
    expr = classad2.ExprTree(constraint)
    return [ad for ad in ads if expr.eval(ad) is True]


def timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,100,1000")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    judge = ConstraintJudge(time_limit=60, workers=1)
    judge.select("true", [job_ad(0)])  # start the worker outside the timings
    print(f"{'ads':>6} {'in-process ms':>14} {'worker ms':>10} {'ratio':>6} {'to_struct ms':>13}")
    for size in map(int, args.sizes.split(",")):
        ads = [job_ad(n) for n in range(size)]
        assert len(judge.select(CONSTRAINT, ads)) == len(in_process(CONSTRAINT, ads))
        base = timed(lambda: in_process(CONSTRAINT, ads), args.repeat)
        worker = timed(lambda: judge.select(CONSTRAINT, ads), args.repeat)
        convert = timed(lambda: [to_struct(ad, 0) for ad in ads], args.repeat)
        print(f"{size:>6} {base * 1e3:>14.3f} {worker * 1e3:>10.3f} {worker / base:>6.1f} {convert * 1e3:>13.3f}")
    judge.close()


if __name__ == "__main__":
    main()
