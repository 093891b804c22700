"""Faults of the real pool under the htcondor backend (docs/reliability.rst): the schedd killed
(SIGKILL) in the middle of a commit of several clusters with files, the schedd or the
collector stopped (SIGSTOP: connections hang) or gone. Every call answers within a bound, the
queue holds a batch exactly once or not at all, and the service recovers by itself.

The pool is shared: every test brings the daemon back and waits until the pool answers again,
also when it fails.
"""
from __future__ import annotations

import base64
import contextlib
import os
import signal
import subprocess
import threading
import time
import uuid
from typing import Iterator

import pytest

from bench.workload import CallFailed, Client, Stats, job_ads
from tests.polling import wait_for
from tests.reliability.conftest import FIGURES, assert_alive, timed_call

pytestmark = [pytest.mark.slow, pytest.mark.real_pool]
ANSWER_BOUND = 90  # seconds any call may take while a daemon is down or hung


@pytest.fixture(scope="module")
def backend_name() -> str:
    return "htcondor"


@pytest.fixture(scope="module")
def service_settings(service_settings):
    """The htcondor settings, with HTCondor's collector query timeout at 20 s instead of 60
    (``_CONDOR_QUERY_TIMEOUT``: how an operator bounds a hung collector)."""
    args, env, owner, cleanup = service_settings
    return args, {**env, "_CONDOR_QUERY_TIMEOUT": "20"}, owner, cleanup


def _daemon_pid(pool, name: str) -> int:
    master = int((pool.root.parent / "master.pid").read_text())
    out = subprocess.run(["ps", "--ppid", str(master), "-o", "pid=,comm="], capture_output=True, text=True).stdout
    pids = [int(line.split()[0]) for line in out.splitlines() if line.split()[1] == name[:15]]
    assert len(pids) == 1, out
    return pids[0]


def _pool_answers(pool) -> bool:
    try:
        pool.run("condor_q", "-totals", timeout=20)
        pool.run("condor_status", "-schedd", timeout=20)
        return True
    except (AssertionError, subprocess.TimeoutExpired):
        return False


@contextlib.contextmanager
def daemon_fault(pool, name: str, how: str) -> Iterator[int]:
    """``how`` = "kill" (SIGKILL: condor_master restarts it) or "stop" (SIGSTOP until the
    block ends), at once; "later": the block kills the yielded PID when it wants. The pool
    answers again when this returns, whatever happened inside."""
    pid = _daemon_pid(pool, name)
    if how != "later":
        os.kill(pid, signal.SIGKILL if how == "kill" else signal.SIGSTOP)
    try:
        yield pid
    finally:
        if how == "stop":
            os.kill(pid, signal.SIGCONT)
        deadline = time.monotonic() + 180
        while not _pool_answers(pool):
            if time.monotonic() > deadline:  # condor_master gave up: start the daemons again
                subprocess.run(["chroot", str(pool.root), "condor_on", "-subsystem", name.split("_")[1]],
                               capture_output=True, timeout=60)
                deadline = time.monotonic() + 180
            time.sleep(1)


def _item(name: str, value: str, kind: str = "STRING-ATTR") -> str:
    return f"<item><name>{name}</name><type>{kind}</type><value>{value}</value></item>"


def _stage_batch(url: str, tag: str, clusters: int = 3, procs: int = 2, size: int = 1 << 20) -> str:
    """A transaction of clusters x procs jobs with a script and ``size`` bytes each; returns
    the transaction XML, ready to commit."""
    c = Client(lambda: url, Stats())
    txn_id = c.call("beginTransaction", "<duration>600</duration>").findtext("transaction/id")
    txn = f"<transaction><id>{txn_id}</id><duration>600</duration></transaction>"
    for _ in range(clusters):
        cluster = c.call("newCluster", txn).findtext("integer")
        for _ in range(procs):
            proc = c.call("newJob", f"{txn}<clusterId>{cluster}</clusterId>").findtext("integer")
            ids = f"<clusterId>{cluster}</clusterId><jobId>{proc}</jobId>"
            for name, data in (("job.sh", b"#!/bin/sh\ncat in.dat > out.dat\n"), ("in.dat", os.urandom(size))):
                c.call("declareFile", f"{txn}{ids}<name>{name}</name><size>{len(data)}</size>"
                                      "<hashType>NOHASH</hashType>")
                c.call("sendFile", f"{txn}{ids}<name>{name}</name><offset>0</offset>"
                                   f"<data>{base64.b64encode(data).decode()}</data>")
            ad = (_item("Cmd", "job.sh") + _item("CondorSoapTag", tag)
                  + _item("Requirements", "false", "EXPRESSION-ATTR") + _item("LeaveJobInQueue", "true", "BOOLEAN-ATTR"))
            c.call("submit", f"{txn}{ids}<jobAd>{ad}</jobAd>")
    return txn


def _schedd_jobs(tag: str) -> int:
    """Jobs of ``tag`` the schedd holds (not removed), asked directly."""
    import htcondor2

    try:
        schedd = htcondor2.Schedd(htcondor2.Collector().locate(htcondor2.DaemonType.Schedd,
                                                               htcondor2.param.get("SCHEDD_HOST")))
        return len(schedd.query(f'CondorSoapTag == "{tag}" && JobStatus != 3', ["ClusterId"]))
    except htcondor2.HTCondorException:
        return 0  # not answering (killed, restarting)


def test_schedd_killed_in_the_middle_of_a_commit(service, real_pool):
    tag = uuid.uuid4().hex
    txn = _stage_batch(service.url, tag)
    answer: dict = {}

    client = Client(lambda: service.url, Stats(), timeout=ANSWER_BOUND)

    def commit() -> None:
        started = time.monotonic()
        try:
            client.call("commitTransaction", txn)
            answer["code"], answer["message"] = "SUCCESS", ""
        except CallFailed as exc:
            answer["code"], answer["message"] = "FAIL", str(exc)
        answer["seconds"] = time.monotonic() - started

    committing = threading.Thread(target=commit)
    with daemon_fault(real_pool, "condor_schedd", "later") as schedd:
        committing.start()
        # the moment the first cluster is in the queue (the rest are still being submitted
        # and spooled), kill it
        wait_for(lambda: _schedd_jobs(tag) or not committing.is_alive(), 60, interval=0.01, what="a first job")
        assert committing.is_alive(), "the commit ended before the schedd could be killed"
        os.kill(schedd, signal.SIGKILL)
        committing.join(ANSWER_BOUND)
        assert not committing.is_alive(), "commitTransaction did not answer while the schedd was down"
    code, message = answer["code"], answer["message"]
    if code == "FAIL":
        assert "Failed to commit transaction" in message and "schedd" in message.lower(), message
        # the transaction is open again: once the schedd is back, the same commit succeeds
        client.call("commitTransaction", txn)
    visible = job_ads(client.call("getJobAds", f'<constraint>CondorSoapTag == "{tag}"</constraint>'))
    # what the failed attempt left in the queue is removed once the schedd answers
    wait_for(lambda: _schedd_jobs(tag) == 6, 60, interval=0.5, what="the batch, exactly once")
    assert len(visible) == 6 and {ad["JobStatus"] for ad in visible} == {"1"}, [ad.get("JobStatus") for ad in visible]
    FIGURES["schedd kill -9 mid-commit"] = {"first answer": f"{code} ({message}) in {answer['seconds']:.1f} s",
                                            "jobs in the queue": 6}
    assert_alive(service)


@pytest.mark.parametrize("daemon, how", [("condor_schedd", "stop"), ("condor_collector", "stop"),
                                         ("condor_schedd", "kill")])
def test_every_call_answers_while_a_daemon_is_down(service, real_pool, daemon, how):
    calls = [("getJobAds", "<constraint>true</constraint>"), ("getVersionString", ""),
             ("beginTransaction", "<duration>60</duration>"), ("queryScheddAds", "<constraint>true</constraint>")]
    took = {}
    client = Client(lambda: service.url, Stats(), timeout=ANSWER_BOUND)
    with daemon_fault(real_pool, f"{daemon}", how):
        time.sleep(1)
        for name, body in calls:
            started = time.monotonic()
            try:  # a call not answered within ANSWER_BOUND raises requests' Timeout: a failure
                client.call(name, body)
                outcome = "SUCCESS"
            except CallFailed as exc:
                outcome = str(exc)
            took[name] = f"{time.monotonic() - started:.1f} s {'SUCCESS' if outcome == 'SUCCESS' else 'FAIL'}"
            if name == "getJobAds" and daemon == "condor_schedd":  # never a silent empty queue
                assert "FAIL" in outcome and "not reachable" in outcome, outcome
        FIGURES[f"{daemon} {'SIGSTOP' if how == 'stop' else 'SIGKILL'}"] = took
    # back: the service recovers by itself
    last: list = []

    def answers() -> bool:
        last[:] = [timed_call(service.url, "getJobAds", "<constraint>true</constraint>")[0].status]
        return last[0][0] == "SUCCESS"
    try:
        wait_for(answers, 120, interval=1, what="getJobAds to succeed again")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; its last answer: {last}\nservice log:\n{service.log()[-3000:]}") from None
    assert_alive(service)
