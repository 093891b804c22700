"""The Backend contract: behaviour any backend (local, htcondor on a real pool) must show.

Only the :class:`~condor_soap.core.ports.Backend` protocol is used here. Where a real
HTCondor must differ, the test says why (``backend_name == "htcondor"``). On a real pool the
queue is shared, so tests look at their own jobs only.
"""
from __future__ import annotations

import re
import time

import classad2
import pytest

from condor_soap.core.ports import Backend, BackendError, NoSuchFile, NoSuchJob
from condor_soap.core.records import ActionKind, AdType, CommitBatch, JobAction
from tests.backends.jobs import (RUN_TWICE, act, new_job, spool_has, spool_text, status, submit, token,
                                 wait_for, wait_status)

IDLE, RUNNING, REMOVED, COMPLETED, HELD = 1, 2, 3, 4, 5


def same_reason(backend_name: str, got: str, wanted: str) -> bool:
    """HTCondor appends " (by user <identity>)" to the reason given to Schedd.act."""
    return got.startswith(wanted + " (by user ") if backend_name == "htcondor" else got == wanted


def shadow_gone(backend, cluster: int, proc: int) -> bool:
    """A real schedd keeps a removed job's shadow until the execute side stopped; forcing the
    job out before that orphans the starter (it waits a job lease for its shadow)."""
    ad = backend.job(cluster, proc)
    return ad is not None and "RemoteHost" not in ad


def test_is_a_backend(backend):
    assert isinstance(backend, Backend)


def test_identity_strings(backend, backend_name):
    if backend_name == "htcondor":  # the real schedd's own string, e.g. "... 2026-07-12 PackageID: ... $"
        assert re.fullmatch(r"\$CondorVersion: \d+\.\d+\.\d+ .+ \$", backend.version())
    else:
        assert re.fullmatch(r"\$CondorVersion: \d+\.\d+\.\d+ \w{3} \d\d \d{4} BuildID: .+ \$", backend.version())
    assert re.fullmatch(r"\$CondorPlatform: \S+ \$", backend.platform())
    assert backend.schedd_name()


def test_cluster_ids_are_fresh(backend):
    ids = [backend.new_cluster_id() for _ in range(5)]
    assert len(set(ids)) == 5 and all(i > 0 for i in ids)


def test_job_runs_to_completion(backend, staging):
    script = 'sleep 1\necho "out:$1"\ncat\necho oops >&2\n'
    c, p = submit(backend, staging, script, files={"in.txt": "hello input\n"}, Arguments="first",
                  In="in.txt", Out="out.txt", Err="err.txt")
    seen = set()

    def done():
        s = status(backend, c, p)
        seen.add(s)
        return s == COMPLETED
    wait_for(done, what="completion")
    assert {RUNNING, COMPLETED} <= seen
    ad = backend.job(c, p)
    assert ad["ExitCode"] == 0 and ad["ExitBySignal"] is False
    assert ad["NumJobStarts"] == 1
    assert ad["CompletionDate"] >= ad["JobStartDate"] > 0
    assert ad["RemoteWallClockTime"] >= 1.0
    assert spool_text(backend, c, p, "out.txt") == "out:first\nhello input\n"
    assert spool_text(backend, c, p, "err.txt") == "oops\n"
    sizes = {f.name: f.size for f in backend.list_spool(c, p)}
    assert sizes["out.txt"] == len("out:first\nhello input\n")
    assert sizes["in.txt"] == len("hello input\n")
    assert sizes["err.txt"] == 5


def test_nonzero_exit_code(backend, backend_name, staging):
    c, p = submit(backend, staging, "exit 7\n")
    ad = wait_status(backend, c, p, COMPLETED)
    assert ad["ExitCode"] == 7 and ad["ExitBySignal"] is False
    if backend_name == "local":  # a real schedd leaves the obsolete ExitStatus at 0
        assert ad["ExitStatus"] == 7


def test_exit_by_signal(backend, staging):
    c, p = submit(backend, staging, "kill -9 $$\n")
    ad = wait_status(backend, c, p, COMPLETED)
    assert ad["ExitBySignal"] is True and ad["ExitSignal"] == 9
    assert "ExitCode" not in ad


def test_arguments_and_environment_reach_the_process(backend, staging):
    script = 'for a in "$@"; do echo "[$a]"; done\necho "FOO=[$FOO]"\necho "BAR=[$BAR]"\n'
    c, p = submit(backend, staging, script, Out="out",
                  Arguments="plain 'two words' 'it''s' \"dq\"",
                  Environment="FOO='x y' BAR=it''s")
    wait_status(backend, c, p, COMPLETED)
    assert spool_text(backend, c, p, "out").splitlines() == [
        "[plain]", "[two words]", "[it's]", '["dq"]', "FOO=[x y]", "BAR=[its]"]


def test_v1_args_and_env(backend, staging):
    script = 'echo "$#:$1:$2"\necho "$FOO-$BAR"\n'
    # V1 only: the ad carries Args/Env and no Arguments/Environment
    job = new_job(backend, staging, script, Out="out", Args="a b", Env="FOO=1;BAR=2")
    ad = classad2.ClassAd(job.ad)
    del ad["Arguments"]
    job = type(job)(job.cluster, job.proc, str(ad), job.files)
    assert backend.apply(CommitBatch(token(), (job,))) == []
    wait_status(backend, job.cluster, job.proc, COMPLETED)
    assert spool_text(backend, job.cluster, job.proc, "out") == "2:a:b\n1-2\n"


def hold_and_rerun_on_a_real_pool(backend, backend_name, staging):
    """Hold a running job, release it, and the second run completes. Without file transfer
    (this ad asks for none) a one-machine pool runs the job in its spool directory, so the
    second run sees whatever the first one wrote before the hold landed: one line, or two."""
    c, p = submit(backend, staging, "echo run >> runs.log\nsleep 8\n")
    wait_status(backend, c, p, RUNNING)
    assert act(backend, ActionKind.HOLD, c, p, reason="wait a moment") == []
    ad = backend.job(c, p)
    assert ad["JobStatus"] == HELD and same_reason(backend_name, ad["HoldReason"], "wait a moment")
    assert ad["HoldReasonCode"] == 1 and ad["HoldReasonSubCode"] == 0
    assert act(backend, ActionKind.HOLD, c, p, reason="again") != []
    assert act(backend, ActionKind.RELEASE, c, p, reason="go on") == []
    ad = wait_status(backend, c, p, COMPLETED, timeout=90)
    assert same_reason(backend_name, ad["ReleaseReason"], "go on")
    assert ad["NumJobStarts"] == 2
    assert spool_text(backend, c, p, "runs.log") in ("run\n", "run\nrun\n")


def test_hold_stops_and_release_reruns(backend, backend_name, staging):
    if backend_name == "htcondor":  # RUN_TWICE keeps state in the spool between runs
        hold_and_rerun_on_a_real_pool(backend, backend_name, staging)
        return
    c, p = submit(backend, staging, RUN_TWICE)
    wait_status(backend, c, p, RUNNING)
    wait_for(lambda: spool_has(backend, c, p, "child.pid"), what="child started")
    assert act(backend, ActionKind.HOLD, c, p, reason="wait a moment") == []
    ad = backend.job(c, p)
    assert ad["JobStatus"] == HELD
    assert ad["HoldReason"] == "wait a moment"
    assert ad["HoldReasonCode"] == 1 and ad["HoldReasonSubCode"] == 0
    assert ad["LastSuspensionTime"] == 0
    # held stays held: the runner does not restart it
    assert act(backend, ActionKind.HOLD, c, p, reason="again") != []
    assert act(backend, ActionKind.RELEASE, c, p, reason="go on") == []
    ad = wait_status(backend, c, p, COMPLETED)
    assert ad["ReleaseReason"] == "go on"
    assert ad["NumJobStarts"] == 2
    assert spool_text(backend, c, p, "runs.log") == "run\nrun\n"


def test_system_hold_counts(backend, staging):
    c, p = submit(backend, staging, "sleep 300\n")
    assert act(backend, ActionKind.HOLD, c, p, reason="sys", system_hold=True) == []
    assert backend.job(c, p)["NumSystemHolds"] == 1


def test_actions_that_do_not_apply_are_returned(backend, staging):
    c, p = submit(backend, staging, "exit 0\n")
    wait_status(backend, c, p, COMPLETED)
    release = JobAction(ActionKind.RELEASE, c, p, "not held")
    hold_done = JobAction(ActionKind.HOLD, c, p, "too late")
    unknown = JobAction(ActionKind.HOLD, c + 1000, 0, "who?")
    close_unknown = JobAction(ActionKind.CLOSE_SPOOL, c + 1000, 0)
    batch = CommitBatch(token(), (), (release, hold_done, unknown, close_unknown))
    assert backend.apply(batch) == [release, hold_done, unknown, close_unknown]
    assert backend.job(c, p)["JobStatus"] == COMPLETED


def test_remove_kills_and_force_removes(backend, backend_name, staging):
    c, p = submit(backend, staging, RUN_TWICE)
    wait_status(backend, c, p, RUNNING)
    assert act(backend, ActionKind.REMOVE, c, p, reason="not needed") == []
    ad = backend.job(c, p)
    assert ad["JobStatus"] == REMOVED and same_reason(backend_name, ad["RemoveReason"], "not needed")
    assert not [j for j in backend.jobs(f"ClusterId == {c}") if j["JobStatus"] == RUNNING]
    # still in the queue (LeaveJobInQueue), removing again only works forced
    assert backend.job(c, p) is not None
    assert len(act(backend, ActionKind.REMOVE, c, p)) == 1
    wait_for(lambda: shadow_gone(backend, c, p), 60, what="the removed job's shadow to exit")
    assert act(backend, ActionKind.REMOVE, c, p, force=True) == []
    assert backend.job(c, p) is None


def test_remove_cluster(backend, staging):
    c = backend.new_cluster_id()
    jobs = tuple(new_job(backend, staging, "sleep 300\n", cluster=c, proc=i) for i in range(3))
    other = new_job(backend, staging, "sleep 300\n")
    assert backend.apply(CommitBatch(token(), (*jobs, other))) == []
    assert act(backend, ActionKind.REMOVE_CLUSTER, c, None, reason="all") == []
    assert [j["JobStatus"] for j in backend.jobs(f"ClusterId == {c}")] == [REMOVED] * 3
    assert backend.job(other.cluster, 0)["JobStatus"] != REMOVED
    assert act(backend, ActionKind.REMOVE_CLUSTER, c + 999, None) == []  # no jobs: still fine


def test_completed_job_stays_until_close_spool(backend, staging):
    c, p = submit(backend, staging, "echo result > result.txt\n")
    wait_status(backend, c, p, COMPLETED)
    time.sleep(0.5)  # several periodic passes: none may drop it
    assert backend.job(c, p) is not None
    assert spool_text(backend, c, p, "result.txt") == "result\n"
    assert act(backend, ActionKind.CLOSE_SPOOL, c, p) == []
    # a real schedd drops it at its next periodic evaluation (PERIODIC_EXPR_INTERVAL)
    wait_for(lambda: backend.job(c, p) is None, 30, what="the job to leave the queue")
    assert not backend.jobs(f"ClusterId == {c}")
    with pytest.raises(NoSuchJob):
        backend.list_spool(c, p)


def test_job_without_leave_in_queue_leaves_when_done(backend, staging):
    c, p = submit(backend, staging, "exit 0\n", LeaveJobInQueue=False)
    wait_for(lambda: backend.job(c, p) is None, 60, what="job to leave the queue")


def test_same_token_applies_once(backend, staging):
    job = new_job(backend, staging, "sleep 300\n")
    batch = CommitBatch(token(), (job,), (JobAction(ActionKind.HOLD, job.cluster, job.proc, "first"),))
    assert backend.apply(batch) == []
    assert act(backend, ActionKind.RELEASE, job.cluster, job.proc) == []
    assert backend.apply(batch) == []
    assert len(backend.jobs(f"ClusterId == {job.cluster}")) == 1
    assert backend.job(job.cluster, job.proc)["JobStatus"] != HELD  # the hold did not run again


def test_constraints(backend, staging):
    # On a real pool every job has the service's Owner and the queue is shared: the jobs carry
    # a per-test Tag and a Who, and only this test's jobs are looked at.
    tag = token()
    a = submit(backend, staging, "sleep 300\n", Who="alice", Color="red", Tag=tag)
    b = submit(backend, staging, "sleep 300\n", Who="bob", Tag=tag)
    ids = lambda ads: sorted((j["ClusterId"], j["ProcId"]) for j in ads if j.get("Tag") == tag)  # noqa: E731
    assert ids(backend.jobs(None)) == ids(backend.jobs("")) == sorted([a, b])
    assert ids(backend.jobs('who == "alice"')) == [a]
    assert ids(backend.jobs('WHO =?= "bob"')) == [b]
    assert ids(backend.jobs("isUndefined(color)")) == [b]
    assert ids(backend.jobs("Color =?= \"red\"")) == [a]
    assert backend.jobs(f'Owner == {classad2.quote(backend.job(*a)["Owner"])} && Tag == "{tag}"')
    assert backend.jobs("((garbage") == []
    assert backend.jobs("Nope == 1") == []  # undefined is not true


def test_stream_jobs_answers_what_jobs_does(backend, staging, monkeypatch):
    # a bulk read (stream_jobs) is jobs() in pages: one ad per page here, to cross page bounds
    from condor_soap.backends import htcondor

    monkeypatch.setattr(htcondor, "PAGE", 1)
    tag = token()
    first = submit(backend, staging, "sleep 300\n", Who="alice", Tag=tag)
    second = submit(backend, staging, "sleep 300\n", Who="bob", Tag=tag)
    ids = lambda ads: sorted((j["ClusterId"], j["ProcId"]) for j in ads if j.get("Tag") == tag)  # noqa: E731
    for constraint in (None, "", f'Tag == "{tag}"', f'Tag == "{tag}" && Who == "bob"', "((garbage", "Nope == 1"):
        stream = backend.stream_jobs(constraint)
        listed = backend.jobs(constraint)
        assert len(stream) >= len(ids(listed))
        assert ids(stream) == ids(listed)
    assert len(backend.stream_jobs(f'Tag == "{tag}"')) == 2
    assert ids(backend.stream_jobs(f'Tag == "{tag}"')) == sorted([first, second])


def test_job_lookup(backend, staging):
    owner = getattr(backend, "test_owner", "carol")  # a real schedd accepts its identity only
    c, p = submit(backend, staging, "sleep 300\n", Owner=owner)
    ad = backend.job(c, p)
    assert ad["Owner"] == owner and ad["ClusterId"] == c and ad["ProcId"] == p
    assert backend.job(c, p + 1) is None


def test_read_spool(backend, staging):
    c, p = submit(backend, staging, "sleep 300\n", files={"data.bin": bytes(range(256)) * 4})
    assert backend.read_spool(c, p, "data.bin", 0, 10) == bytes(range(10))
    assert backend.read_spool(c, p, "data.bin", 1020, 100) == bytes(range(252, 256))
    assert backend.read_spool(c, p, "data.bin", 5000, 10) == b""
    assert len(backend.read_spool(c, p, "data.bin", 0, 1 << 30)) == 1024
    for bad in ("missing", "../data.bin", "..", "a/b", "data\0.bin", "/etc/passwd"):
        with pytest.raises(NoSuchFile):
            backend.read_spool(c, p, bad, 0, 10)
    with pytest.raises(NoSuchJob):
        backend.read_spool(c + 1000, 0, "data.bin", 0, 10)
    with pytest.raises(NoSuchJob):
        backend.list_spool(c + 1000, 0)


def test_list_spool_reports_files(backend, staging):
    c, p = submit(backend, staging, "mkdir sub\nprintf 12345 > five\n", files={"empty": b""})
    wait_status(backend, c, p, COMPLETED)
    listing = {f.name: f.size for f in backend.list_spool(c, p)}
    assert listing["five"] == 5 and listing["empty"] == 0
    assert "sub" not in listing  # directories are not files


def test_schedd_ad_has_soap_interface(backend):
    ads = backend.query_ads(AdType.SCHEDD)
    assert len(ads) >= 1
    assert all(ad["MyType"] == "Scheduler" for ad in ads)
    assert ads[0].get("HasSOAPInterface") is True
    assert re.fullmatch(r"<[^:>]+:\d+>", ads[0]["MyAddress"])
    assert backend.query_ads(AdType.SCHEDD, "HasSOAPInterface =?= TRUE")
    assert backend.query_ads(AdType.SCHEDD, "hassoapinterface =?= false") == []


def test_startd_ads_and_filters(backend):
    slots = backend.query_ads(AdType.STARTD)
    assert slots and all(ad["MyType"] == "Machine" for ad in slots)
    name = slots[0]["Name"]
    assert [ad["Name"] for ad in backend.query_ads(AdType.STARTD, f'Name == "{name}"')] == [name]
    assert backend.query_ads(AdType.STARTD, "((bad") == []
    assert backend.query_ads(AdType.MASTER) and backend.query_ads(AdType.COLLECTOR)
    everything = backend.query_ads(None)
    assert {"Machine", "Scheduler", "DaemonMaster"} <= {ad.get("MyType") for ad in everything}


def test_advertise_new_replace_and_query(backend):
    name = f"lic-{token()}"  # a real collector is shared and keeps ads for their lifetime
    named = f'Name == "{name}"'
    ad = classad2.ClassAd({"Name": name, "MyType": "License", "Seats": 3})
    assert backend.advertise(AdType.LICENSE, ad) is True
    ad["Seats"] = 4
    assert backend.advertise(AdType.LICENSE, ad) is False
    found = wait_for(lambda: [a for a in backend.query_ads(AdType.LICENSE, named) if a["Seats"] == 4], 5,
                     what="the replaced ad")
    assert [(a["Name"], a["Seats"]) for a in found] == [(name, 4)]
    assert backend.query_ads(AdType.LICENSE, f"{named} && Seats > 10") == []
    assert backend.query_ads(AdType.STORAGE, named) == []
    assert any(a.get("Name") == name for a in backend.query_ads(None))
    # the same Name under another type is another ad
    assert backend.advertise(AdType.STORAGE, classad2.ClassAd({"Name": name})) is True
    assert [a["MyType"] for a in backend.query_ads(AdType.STORAGE, named)] == ["Storage"]


def test_advertise_needs_a_name(backend):
    with pytest.raises(BackendError):
        backend.advertise(AdType.GENERIC, classad2.ClassAd({"MyType": "Thing"}))


def test_submitter_ads_per_owner(backend, backend_name, staging):
    owner = getattr(backend, "test_owner", "dave")  # a real schedd accepts its identity only
    submit(backend, staging, "sleep 300\n", Owner=owner)
    c, p = submit(backend, staging, "sleep 300\n", Owner=owner)
    assert act(backend, ActionKind.HOLD, c, p) == []
    if backend_name == "htcondor":
        # The schedd advertises submitters every SCHEDD_INTERVAL; the shared queue may hold
        # other jobs of the same owner, so the counts are lower bounds.
        def counted():
            ads = backend.query_ads(AdType.SUBMITTOR, f'regexp("^{owner}@", Name)')
            return ads if ads and ads[0].get("HeldJobs", 0) >= 1 and \
                ads[0].get("IdleJobs", 0) + ads[0].get("RunningJobs", 0) >= 1 else None
        ads = wait_for(counted, 30, what="the submitter ad to count the jobs")
        assert len(ads) == 1 and ads[0]["MyType"] == "Submitter"
        return
    ads = backend.query_ads(AdType.SUBMITTOR, f'regexp("^{owner}@", Name)')
    assert len(ads) == 1 and ads[0]["MyType"] == "Submitter"
    assert ads[0]["HeldJobs"] == 1
    assert ads[0]["IdleJobs"] + ads[0]["RunningJobs"] == 1
