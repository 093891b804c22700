"""Local-backend-only behaviour: processes, restart, spool layout, persistence."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import classad2
import pytest

import condor_soap
from condor_soap.core.ports import BackendError
from condor_soap.core.records import ActionKind, AdType, CommitBatch, NewJob
from tests.backends.jobs import (RUN_TWICE, Expr, act, alive, new_job, spool_has, spool_text, status,
                                 submit, token, wait_for, wait_status)

IDLE, RUNNING, REMOVED, COMPLETED, HELD = 1, 2, 3, 4, 5
ROOT = Path(__file__).resolve().parents[2]


def pids(backend, c, p) -> tuple[int, int]:
    wait_for(lambda: spool_has(backend, c, p, "child.pid"), what="job's child to start")
    return int(spool_text(backend, c, p, "leader.pid")), int(spool_text(backend, c, p, "child.pid"))


def test_spool_layout(make_local, tmp_path):
    b = make_local()
    assert b.spool_dir(12345, 6) == str(tmp_path / "state" / "local" / "spool" / "2345" / "6"
                                         / "cluster12345.proc6.subproc0")
    assert (tmp_path / "state" / "local" / "queue.sqlite3").exists()


def test_version_string(make_local):
    b = make_local()
    assert b.version().startswith("$CondorVersion: 8.7.7 ")
    assert b.version().endswith(f" BuildID: condor-soap {condor_soap.__version__} $")


@pytest.mark.parametrize("kind", [ActionKind.HOLD, ActionKind.REMOVE])
def test_hold_and_remove_kill_the_process_group(make_local, staging, kind):
    b = make_local()
    c, p = submit(b, staging, RUN_TWICE)
    leader, child = pids(b, c, p)
    assert alive(leader) and alive(child)
    assert act(b, kind, c, p) == []
    wait_for(lambda: not alive(leader) and not alive(child), timeout=5, what="job processes to die")


def test_sigterm_ignoring_job_is_killed(make_local, staging):
    b = make_local()
    c, p = submit(b, staging, "trap '' TERM\necho $$ > leader.pid\nwhile :; do sleep 0.1; done\n")
    wait_for(lambda: spool_has(b, c, p, "leader.pid"))
    leader = int(spool_text(b, c, p, "leader.pid"))
    assert act(b, ActionKind.HOLD, c, p) == []
    wait_for(lambda: not alive(leader), timeout=5, what="SIGKILL escalation")


@pytest.mark.parametrize("attrs, code, subcode, text", [
    ({"Cmd": "missing.sh"}, 6, 2, "missing.sh"),
    ({"Cmd": "/nonexistent/prog"}, 6, 2, "/nonexistent/prog"),
    ({"Cmd": "junk.bin"}, 6, 8, "junk.bin"),  # ENOEXEC: no #! and not a binary
    ({"Cmd": "/bin/true", "In": "absent.txt"}, 8, 2, "absent.txt"),
    ({"Cmd": "/bin/true", "Arguments": "'unterminated"}, 6, 0, "Arguments"),
])
def test_job_that_cannot_start_is_held(make_local, staging, attrs, code, subcode, text):
    b = make_local()
    c, p = submit(b, staging, files={"junk.bin": b"\x01\x02 not a program"}, **attrs)
    ad = wait_status(b, c, p, HELD)
    assert ad["HoldReasonCode"] == code and ad["HoldReasonSubCode"] == subcode
    assert text in ad["HoldReason"]
    assert ad["NumJobStarts"] == 0


def test_at_most_max_running_jobs(make_local, staging):
    b = make_local(max_running_jobs=1)
    script = "date +%s.%N > start\nsleep 0.4\ndate +%s.%N > end\n"
    jobs = [submit(b, staging, script) for _ in range(2)]
    both = False
    while not all(status(b, *j) == COMPLETED for j in jobs):
        statuses = [status(b, *j) for j in jobs]
        both = both or statuses.count(RUNNING) == 2
        assert [s for s in b.query_ads(AdType.STARTD) if s["State"] == "Claimed"].__len__() <= 1
        time.sleep(0.01)
    assert not both
    (s1, e1), (s2, e2) = [[float(spool_text(b, *j, n)) for n in ("start", "end")] for j in jobs]
    assert e1 <= s2  # in job order, one after the other


def test_running_job_claims_a_slot(make_local, staging):
    b = make_local(max_running_jobs=1)
    c, p = submit(b, staging, "sleep 300\n")
    wait_status(b, c, p, RUNNING)
    [slot] = b.query_ads(AdType.STARTD)
    assert slot["State"] == "Claimed" and slot["Activity"] == "Busy" and slot["JobId"] == f"{c}.{p}"
    assert b.job(c, p)["RemoteHost"] == slot["Name"]
    assert b.query_ads(AdType.SCHEDD)[0]["TotalRunningJobs"] == 1


def test_soap_address_in_schedd_ad(make_local):
    b = make_local()
    b.soap_address = "<10.1.2.3:8080>"
    [ad] = b.query_ads(AdType.SCHEDD)
    assert ad["MyAddress"] == ad["ScheddIpAddr"] == "<10.1.2.3:8080>"


def test_files_are_linked_and_replace_stale_copies(make_local, staging):
    b = make_local()
    c = b.new_cluster_id()
    spool = Path(b.spool_dir(c, 0))
    spool.mkdir(parents=True)
    (spool / "in.txt").write_text("stale from an interrupted apply")
    job = new_job(b, staging, "sleep 300\n", cluster=c, files={"in.txt": "fresh"})
    assert b.apply(CommitBatch(token(), (job,))) == []
    assert (spool / "in.txt").read_text() == "fresh"
    assert os.stat(spool / "in.txt").st_ino == os.stat(job.files["in.txt"]).st_ino
    assert sorted(os.listdir(spool)) == ["in.txt", "job.sh"]


def test_failed_apply_applies_nothing(make_local, staging):
    b = make_local()
    good = new_job(b, staging, "sleep 300\n")
    clash = NewJob(good.cluster, good.proc, good.ad, {})
    tok = token()
    with pytest.raises(BackendError):
        b.apply(CommitBatch(tok, (good, clash)))
    assert b.jobs() == []
    assert b.apply(CommitBatch(tok, (good,))) == []  # the token was not spent
    assert len(b.jobs()) == 1


def test_close_spool_moves_job_to_history(make_local, staging, tmp_path):
    b = make_local()
    c, p = submit(b, staging, "echo done > out\n", Owner="erin")
    wait_status(b, c, p, COMPLETED)
    spool = Path(b.spool_dir(c, p))
    assert (spool / "out").exists()
    assert b.history() == []
    assert act(b, ActionKind.CLOSE_SPOOL, c, p) == []
    assert b.job(c, p) is None
    assert not spool.exists()
    [old] = b.history(f"ClusterId == {c}")
    assert old["FilesRetrieved"] is True and old["JobStatus"] == COMPLETED and old["Owner"] == "erin"
    b.close()
    assert len(make_local().history()) == 1


def test_history_is_bounded_newest_first(make_local, staging):
    b = make_local(history_size=2)
    left = []
    for _ in range(3):
        c, p = submit(b, staging, "exit 0\n")
        wait_status(b, c, p, COMPLETED)
        assert act(b, ActionKind.CLOSE_SPOOL, c, p) == []
        left.append((c, p))
    assert [(a["ClusterId"], a["ProcId"]) for a in b.history()] == [left[2], left[1]]
    [one] = b.history(projection=["JobStatus"], limit=1)
    assert set(one.keys()) == {"ClusterId", "ProcId", "JobStatus"} and one["ClusterId"] == left[2][0]


def test_time_based_leave_in_queue(make_local, staging):
    b = make_local()
    c, p = submit(b, staging, "exit 0\n", LeaveJobInQueue=Expr("JobStatus == 4 && time() - CompletionDate < 1"))
    wait_status(b, c, p, COMPLETED)
    wait_for(lambda: b.job(c, p) is None, timeout=5, what="the periodic LeaveJobInQueue check")
    assert b.history(f"ClusterId == {c}")


def test_restart_after_close_reruns_running_job(make_local, staging, tmp_path):
    b = make_local()
    c, p = submit(b, staging, RUN_TWICE)
    leader, child = pids(b, c, p)
    b.close()
    assert not alive(leader) and not alive(child)
    with sqlite3.connect(tmp_path / "state" / "local" / "queue.sqlite3") as db:
        assert db.execute("SELECT status FROM jobs WHERE cluster=?", (c,)).fetchone() == (IDLE,)
    b2 = make_local()
    ad = wait_status(b2, c, p, COMPLETED)
    assert ad["NumJobStarts"] == 2 and ad["ExitCode"] == 0


def test_restart_after_crash_kills_and_reruns(make_local, staging, tmp_path):
    state = tmp_path / "state"
    child_proc = subprocess.Popen([sys.executable, "-m", "tests.backends.crash_child", str(state), str(staging)],
                                  cwd=ROOT, stdout=subprocess.PIPE, text=True,
                                  env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        line = child_proc.stdout.readline()
        assert line, "crash_child did not start its job"
        c, p = map(int, line.split())
    finally:
        child_proc.send_signal(signal.SIGKILL)
        child_proc.wait(10)
    job_dir = Path(state / "local" / "spool" / str(c % 10000) / str(p % 10000) / f"cluster{c}.proc{p}.subproc0")
    leader, child = int((job_dir / "leader.pid").read_text()), int((job_dir / "child.pid").read_text())
    assert alive(leader) and alive(child)  # the crash left the job running
    b = make_local(state_dir=state)
    wait_for(lambda: not alive(leader) and not alive(child), timeout=5, what="leftover job to be killed")
    ad = wait_status(b, c, p, COMPLETED)
    assert ad["NumJobStarts"] == 2


def test_restart_does_not_kill_a_reused_pid(make_local, tmp_path):
    b = make_local()
    b.close()
    bystander = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        with sqlite3.connect(tmp_path / "state" / "local" / "queue.sqlite3") as db:
            db.execute("INSERT INTO runs VALUES (1, 0, ?, ?, ?, NULL)", (bystander.pid, bystander.pid, 1))
        make_local()  # recorded start time 1 tick after boot: not this process
        time.sleep(0.1)
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_cluster_ids_never_reused_across_restart(make_local):
    b = make_local()
    first = [b.new_cluster_id() for _ in range(3)]
    b.close()
    b2 = make_local()
    assert b2.new_cluster_id() > max(first)


def test_collector_ads_persist_and_expire(make_local):
    b = make_local()
    assert b.advertise(AdType.GENERIC, classad2.ClassAd({"Name": "keep", "MyType": "Thing"})) is True
    assert b.advertise(AdType.GENERIC, classad2.ClassAd({"Name": "brief", "ClassAdLifetime": 1})) is True
    assert {a["Name"] for a in b.query_ads(AdType.GENERIC)} == {"keep", "brief"}
    b.close()
    b2 = make_local()
    assert b2.advertise(AdType.GENERIC, classad2.ClassAd({"Name": "keep", "MyType": "Thing"})) is False
    wait_for(lambda: {a["Name"] for a in b2.query_ads(AdType.GENERIC)} == {"keep"}, timeout=5,
             what="the 1 s ad to expire")
    assert b2.query_ads(AdType.GENERIC)[0]["MyType"] == "Thing"


def test_advertised_ad_gets_my_type_and_overrides_builtin(make_local):
    b = make_local(max_running_jobs=1)
    [slot] = b.query_ads(AdType.STARTD)
    assert b.advertise(AdType.STARTD, classad2.ClassAd({"Name": slot["Name"], "Custom": 1})) is True
    [mine] = b.query_ads(AdType.STARTD)
    assert mine["Custom"] == 1 and mine["MyType"] == "Machine"


def test_runner_survives_errors(make_local, staging, caplog):
    b = make_local()
    original = b._runner._on_tick
    calls = []

    def failing_tick():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        original()
    b._runner._on_tick = failing_tick
    wait_for(lambda: len(calls) >= 2, timeout=5, what="a tick after the failure")
    c, p = submit(b, staging, "exit 3\n")
    assert wait_status(b, c, p, COMPLETED)["ExitCode"] == 3
    assert "boom" in caplog.text


def test_concurrent_applies_are_safe(make_local, staging):
    import threading
    b = make_local(max_running_jobs=2)
    errors = []

    def worker():
        try:
            for _ in range(5):
                submit(b, staging, "exit 0\n", LeaveJobInQueue=False)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    wait_for(lambda: len(b.history()) == 20, timeout=30, what="all 20 jobs to finish")
    assert len({(a["ClusterId"], a["ProcId"]) for a in b.history()}) == 20
