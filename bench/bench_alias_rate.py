#!/usr/bin/env python3
"""How often the htcondor backend must alias a cluster id, with concurrent SOAP clients.

Starts condor-soap (htcondor backend, in this process, waitress on a free port) and runs
``--clients`` threads, each with its own zeep client doing ``--rounds`` times
beginTransaction / newCluster / newJob / createJobTemplate / submit / commitTransaction
(a ``/bin/true`` job). Then it prints how many clusters were queued under another id than the
one newCluster answered (aliases / clusters), read from the backend's alias table, and removes
the jobs. Needs the pool: ``tests/pool/pool.sh start`` and ``CONDOR_CONFIG`` from
``tests/pool/pool.sh env`` (``--owner`` = the identity of its IDTOKEN).

    CONDOR_CONFIG=/var/tmp/condor-pool/client.conf .venv/bin/python bench/bench_alias_rate.py
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def client(url: str, owner: str, rounds: int, jitter: float, ids: list, errors: list) -> None:
    import random

    import zeep

    service = zeep.Client(url + "condorSchedd.wsdl").create_service("{urn:condor}condorSchedd", url)
    for _ in range(rounds):
        try:
            txn = service.beginTransaction(60).transaction
            cluster = service.newCluster(txn).integer
            proc = service.newJob(txn, cluster).integer
            time.sleep(random.uniform(0, jitter))  # clients take different times to fill a job
            ad = service.createJobTemplate(cluster, proc, owner, "VANILLA", "/bin/true", "x", None).classAd.item
            ad = [item for item in ad if item.value is not None]  # zeep reads an empty value as None
            status = service.submit(txn, cluster, proc, {"item": ad}).status
            if status.code != "SUCCESS":
                raise RuntimeError(f"submit: {status.code} {status.message}")
            status = service.commitTransaction(txn)
            if status.code != "SUCCESS":
                raise RuntimeError(f"commit: {status.code} {status.message}")
            ids.append(cluster)
        except Exception as exc:  # report and go on: the rate is what matters
            errors.append(repr(exc))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jitter", type=float, default=0.2, help="max seconds a client pauses after newJob")
    parser.add_argument("--owner", default=os.environ.get("CONDOR_POOL_SUBMITTER", "condorsoap"))
    args = parser.parse_args()

    import logging

    import htcondor2
    import waitress.server

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth" is expected here

    from condor_soap import Config, create_app

    state = tempfile.mkdtemp(prefix="condor-soap-alias-")
    app = create_app(Config(state_dir=state, backend="htcondor", threads=args.clients))
    server = waitress.server.create_server(app, host="127.0.0.1", port=0, threads=args.clients)
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{server.effective_port}/"

    ids: list[int] = []
    errors: list[str] = []
    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(url, args.owner, args.rounds, args.jitter, ids, errors))
               for _ in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started

    db = sqlite3.connect(os.path.join(state, "htcondor", "backend.sqlite3"))
    rows = db.execute("SELECT cluster, real_cluster FROM jobs").fetchall()
    aliased = sum(1 for cluster, real in rows if cluster != real)
    print(f"clients={args.clients} rounds={args.rounds} jitter={args.jitter}s: {len(ids)} commits in "
          f"{elapsed:.1f} s ({len(ids) / elapsed:.1f}/s), {len(errors)} errors")
    print(f"aliased clusters: {aliased} / {len(rows)} = {aliased / max(len(rows), 1):.0%}")
    for error in errors[:5]:
        print("  error:", error)

    # leave nothing behind in the pool
    schedd = htcondor2.Schedd(htcondor2.Collector().locate(htcondor2.DaemonType.Schedd,
                                                           htcondor2.param.get("SCHEDD_HOST")))
    prefix = state + "/"
    constraint = f'substr(SUBMIT_Iwd, 0, {len(prefix)}) == "{prefix}"'
    schedd.act(htcondor2.JobAction.Remove, constraint)
    deadline = time.monotonic() + 60
    while schedd.query(f"({constraint}) && RemoteHost isnt undefined", ["ClusterId"]) and time.monotonic() < deadline:
        time.sleep(0.5)
    schedd.act(htcondor2.JobAction.RemoveX, constraint)
    app.close()
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
