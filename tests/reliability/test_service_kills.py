"""The service killed (SIGKILL) at random moments while 16 clients run full workflows with
uploads, on both backends: after every restart each commit that answered SUCCESS is queued
exactly once, nothing else is half-applied, and once the transactions end no journal row and
no staged file is left (docs/reliability.rst). ``--reliability-long``: 100 kills."""
from __future__ import annotations

import random
import sqlite3
import threading
import time
import uuid

import pytest
import requests

from bench.workload import CallFailed, Client, Outcome, Stats, check_exactly_once, job_ads, queued, workflow
from tests.polling import wait_for
from tests.reliability.conftest import FIGURES, assert_alive

pytestmark = pytest.mark.slow
CLIENTS = 16


def _journal(state_dir) -> list[tuple[int, str]]:
    db = sqlite3.connect(f"file:{state_dir / 'journal.sqlite3'}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("SELECT id, state FROM txn").fetchall()
    finally:
        db.close()


def _staged_files(state_dir) -> list[str]:
    return [str(p) for p in (state_dir / "staging").rglob("*") if p.is_file()]


def _queued_on_the_pool(run: str) -> dict[str, int]:
    """tag -> jobs the schedd holds or held: the queue (not removed) plus the history of jobs
    the service released and someone else removed since (other users of the shared test pool
    clear it with condor_rm). Jobs removed before the service released them were never
    queued for the client: an interrupted commit's recovery queues its batch again."""
    import htcondor2

    schedd = htcondor2.Schedd(htcondor2.Collector().locate(htcondor2.DaemonType.Schedd,
                                                           htcondor2.param.get("SCHEDD_HOST")))
    mine = f'CondorSoapRun == "{run}"'
    ads = schedd.query(f"{mine} && JobStatus != 3", ["CondorSoapTag"])
    ads += [ad for ad in schedd.history(f"{mine} && JobStatus == 3", ["CondorSoapTag", "ReleaseReason"], match=-1)
            if str(ad.get("ReleaseReason", "")).startswith("condor-soap: transaction committed")]
    counts: dict[str, int] = {}
    for ad in ads:
        counts[ad["CondorSoapTag"]] = counts.get(ad["CondorSoapTag"], 0) + 1
    return counts


def test_kill_the_service_at_random_moments(make_service, backend_name, long_run):
    kills = 100 if long_run else 20
    # the htcondor backend commits about one batch a second (schedd submit, spool, release):
    # kills further apart, so that commits complete between them too
    pause = (2.5, 7.0) if backend_name == "htcondor" else (0.3, 2.5)
    # two jobs a workflow: two clusters locally, one cluster on the htcondor backend (each
    # cluster is a schedd submit and spool)
    clusters, procs = (1, 2) if backend_name == "htcondor" else (2, 1)
    rng = random.Random()
    run = uuid.uuid4().hex[:12]
    svc = make_service()
    url = [svc.start()]
    stats = Stats()
    outcomes: list[Outcome] = []
    stop = threading.Event()

    def client(number: int) -> None:
        c = Client(lambda: url[0], stats, timeout=120)
        for n in range(1_000_000):
            if stop.is_set():
                return
            try:
                workflow(c, run, f"{run}-{number}-{n}", clusters=clusters, procs=procs, size=rng.randint(1, 65536),
                         duration=15, runnable=backend_name == "local", outcomes=outcomes)
            except (requests.RequestException, CallFailed):
                time.sleep(0.2)  # the service is gone: the next workflow goes to the restarted one

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    started = time.monotonic()
    try:
        for _ in range(kills):
            time.sleep(rng.uniform(*pause))
            svc.kill()
            url[0] = svc.start(timeout=120)
    finally:
        stop.set()
        for t in threads:
            t.join(180)
    took = time.monotonic() - started
    assert_alive(svc)

    checker = Client(lambda: url[0], Stats())
    # interrupted commits are finished by the restarted service; abandoned transactions end
    # with their 15 s lease
    wait_for(lambda: not _journal(svc.state_dir), 90, interval=0.5, what="every transaction to end")
    assert not _staged_files(svc.state_dir), _staged_files(svc.state_dir)[:10]
    counts = queued(checker, run) if backend_name == "local" else _queued_on_the_pool(run)
    figures = check_exactly_once(outcomes, counts)
    held = job_ads(checker.call("getJobAds", f'<constraint>CondorSoapRun == "{run}" &amp;&amp; JobStatus == 5'
                                             "</constraint>"))
    assert not held, f"{len(held)} jobs left held by an interrupted commit"
    # the run did work between the kills: commits that reached the queue, answered or not
    assert figures["committed"] + figures["answer lost, applied"] >= 10, figures
    FIGURES[f"service kill -9, {backend_name} backend"] = {
        "kills": kills, "clients": CLIENTS, "seconds": round(took), "workflows": len(outcomes),
        "calls": stats.calls(), **figures}
    svc.stop()
