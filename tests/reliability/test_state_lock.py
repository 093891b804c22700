"""One service per state directory (condor_soap/state_lock.py), with real ``condor-soap
serve`` processes: a second one exits at once naming the directory and the holder's PID; a
lock left by a killed service never blocks the restart."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.polling import wait_for
from tests.reliability.conftest import assert_alive, new_job, timed_call


@pytest.fixture(scope="module")
def backend_name() -> str:
    return "local"  # the lock is the server's, whatever the backend


def _second_serve(state_dir) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "condor_soap", "serve", "--port", "0", "--state-dir", str(state_dir)],
                          capture_output=True, text=True, timeout=30)


def test_a_second_service_on_the_same_state_dir_exits_at_once(make_service):
    first = make_service()
    first.start()
    started = time.monotonic()
    second = _second_serve(first.state_dir)
    assert time.monotonic() - started < 15
    assert second.returncode != 0
    assert str(first.state_dir) in second.stderr and f"PID {first.proc.pid}" in second.stderr, second.stderr
    assert "serving on" not in second.stdout and "Traceback" not in second.stderr
    assert_alive(first)
    first.stop()


def test_a_killed_service_never_blocks_its_restart(make_service):
    svc = make_service()
    svc.start()
    old_pid = svc.proc.pid
    svc.kill()
    assert (svc.state_dir / "condor-soap.lock").read_text().strip() == str(old_pid)  # stale, left behind
    started = time.monotonic()
    svc.start()  # at once, on the same directory
    assert time.monotonic() - started < 15
    assert_alive(svc)
    assert (svc.state_dir / "condor-soap.lock").read_text().strip() == str(svc.proc.pid)
    svc.stop()
    # a clean stop releases it too
    svc.start()
    assert_alive(svc)
    svc.stop()


def test_the_lock_is_not_inherited_by_jobs_or_workers(make_service, tmp_path):
    """Children (job processes, constraint workers) never hold the lock after the service
    died: only the service's own descriptor, close-on-exec, holds it."""
    svc = make_service()
    svc.start()
    txn, cluster, proc = new_job(svc.url)
    ids = f"<clusterId>{cluster}</clusterId><jobId>{proc}</jobId>"
    ad = "<jobAd><item><name>Cmd</name><type>STRING-ATTR</type><value>/bin/sleep</value></item>" \
         "<item><name>Arguments</name><type>STRING-ATTR</type><value>60</value></item></jobAd>"
    assert timed_call(svc.url, "submit", f"{txn}{ids}{ad}")[0].status[0] == "SUCCESS"
    assert timed_call(svc.url, "commitTransaction", txn)[0].status[0] == "SUCCESS"
    running = f"<constraint>JobStatus == 2 &amp;&amp; ClusterId == {cluster}</constraint>"  # a constraint worker too
    wait_for(lambda: list(timed_call(svc.url, "getJobAds", running)[0].answer.iter("item")), 30, what="job running")
    lock = str(svc.state_dir / "condor-soap.lock")
    holders = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == lock:
                    holders.append(int(pid))
            except OSError:
                pass
    assert holders == [svc.proc.pid]
    svc.stop()
