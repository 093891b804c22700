"""Queue operations of ScheddCore: codes and exact messages (spec §4.4)."""
from __future__ import annotations

import classad2
import pytest

from condor_soap.core.ports import BackendError
from condor_soap.core.records import ActionKind, Attr, AttrType, HashType, TxnRef, Universe
from condor_soap.errors import CondorSoapError, StatusCode
from tests.core.helpers import JOB, S, X, attrs, submit_job


def failure(call) -> tuple[StatusCode, str]:
    with pytest.raises(CondorSoapError) as info:
        call()
    return info.value.code, info.value.message


@pytest.fixture
def queued(core):
    """A committed job (cluster, proc)."""
    txn = core.begin_transaction(60)
    job = submit_job(core, txn)
    core.commit_transaction(txn)
    return job


def test_version_and_platform(core):
    assert core.version().startswith("$CondorVersion:")
    assert core.platform().startswith("$CondorPlatform:")


def test_new_job_numbers_procs_per_cluster_and_base_ad(core, fake, clock):
    txn = core.begin_transaction(60)
    a, b = core.new_cluster(txn), core.new_cluster(txn)
    assert a != b
    assert [core.new_job(txn, a), core.new_job(txn, b), core.new_job(txn, a)] == [0, 0, 1]
    ad = classad2.ClassAd(core.journal.job(txn.id, a, 1).ad)
    assert ad["GlobalJobId"] == f"fake.example.org#{a}.1#{int(clock())}"
    assert (ad["ClusterId"], ad["ProcId"], ad["QDate"], ad["MyType"]) == (a, 1, int(clock()), "Job")
    assert failure(lambda: core.new_job(txn, 4242)) == (StatusCode.FAIL, "Could not create new job")


def test_new_cluster_backend_failure(core, fake):
    txn = core.begin_transaction(60)
    fake.new_cluster_id = lambda: (_ for _ in ()).throw(BackendError("ids exhausted"))
    assert failure(lambda: core.new_cluster(txn)) == (StatusCode.FAIL, "Could not create new cluster")


def test_submit_sets_iwd_transfer_files_and_defaults(core, fake, clock):
    txn = core.begin_transaction(60)
    c = core.new_cluster(txn)
    p = core.new_job(txn, c)
    for name in ("b.txt", "a.txt"):
        core.declare_file(txn, c, p, name, 0, HashType.NOHASH, None)
    core.submit(txn, c, p, [S("Owner", "alice"), S("Msg", 'say "hi" \\o/'), Attr("N", AttrType.INTEGER, None),
                            Attr("F", AttrType.FLOAT, '"ON_EXIT"'), S("MyType", "Bogus"),
                            Attr(None, AttrType.STRING, "x"), X("Iwd", '"/ignored/not/a/string"')])
    ad = classad2.ClassAd(core.journal.job(txn.id, c, p).ad)
    assert ad["Iwd"] == fake.spool_dir(c, p)  # reset: the client's Iwd was not STRING-ATTR
    assert ad["TransferInputFiles"] == "b.txt,a.txt"
    assert ad["Msg"] == 'say "hi" \\o/' and ad["F"] == "ON_EXIT" and ad["MyType"] == "Job"
    assert ad["N"] is classad2.Value.Undefined
    assert (ad["JobStatus"], ad["EnteredCurrentStatus"], ad["FilesRetrieved"]) == (1, int(clock()), False)


def test_submit_client_values_win(core, fake):
    txn = core.begin_transaction(60)
    c = core.new_cluster(txn)
    p = core.new_job(txn, c)
    core.submit(txn, c, p, [S("Iwd", "/my/dir"), S("TransferInputFiles", "x,y"), X("JobStatus", "5"),
                            X("ClusterId", str(c)), X("procid", str(p))])
    ad = classad2.ClassAd(core.journal.job(txn.id, c, p).ad)
    assert (ad["Iwd"], ad["TransferInputFiles"], ad["JobStatus"]) == ("/my/dir", "x,y", 5)


@pytest.mark.parametrize("item, attr", [
    (X("ClusterId", "999"), "ClusterId"),
    (X("ProcId", "7"), "ProcId"),
    (X("Owner", "alice"), "Owner"),  # not a string
    (X("Requirements", "Queue=150"), "Requirements"),
    (X("bad name", "1"), "bad name"),
])
def test_submit_refusals(core, item, attr):
    txn = core.begin_transaction(60)
    c = core.new_cluster(txn)
    p = core.new_job(txn, c)
    assert failure(lambda: core.submit(txn, c, p, [S("Before", "kept"), item, S("After", "x")])) == (
        StatusCode.FAIL, f"Failed to set job {c}.{p}'s {attr} attribute.")
    ad = classad2.ClassAd(core.journal.job(txn.id, c, p).ad)
    assert ad["Before"] == "kept" and "After" not in ad  # what came before stays (spec §4.4)
    assert not core.journal.job(txn.id, c, p).submitted


def test_submit_unknown_job(core, queued):
    txn = core.begin_transaction(60)
    c, p = queued
    assert failure(lambda: core.submit(txn, c, p, JOB)) == (StatusCode.UNKNOWNJOB, "Unknown cluster or job")


@pytest.mark.parametrize("constraint", ["Owner ==", "((", "Queue=150", "\x00", "JobStatus"])
def test_garbage_constraints_match_nothing(core, queued, constraint):
    assert list(core.get_job_ads(None, constraint)) == []


@pytest.mark.parametrize("constraint", [None, "", "owner == \"alice\"", "Owner=?=\"alice\""])
def test_constraints_that_match(core, queued, constraint):
    ads = list(core.get_job_ads(None, constraint))
    assert [attrs(a)["clusterid"].value for a in ads] == [str(queued[0])]
    assert [a.name for a in ads[0][:3]] == ["MyType", "TargetType", "ServerTime"]


def test_get_job_ad_unknown(core):
    assert failure(lambda: core.get_job_ad(None, 77, 0)) == (StatusCode.UNKNOWNJOB, "Specified job is unknown")


@pytest.mark.parametrize("call, message", [
    (lambda core, c, p, t: core.hold_job(t, c, p, "r", False, False, False), "Failed to hold job."),
    (lambda core, c, p, t: core.release_job(t, c, p, "r", False, False), "Failed to release job."),
    (lambda core, c, p, t: core.remove_job(t, c, p, "r", False), "Failed to abort job"),
    (lambda core, c, p, t: core.close_spool(t, c, p), "Failed to set FilesRetrieved attribute."),
], ids=["hold", "release", "remove", "closeSpool"])
@pytest.mark.parametrize("in_txn", [False, True], ids=["now", "in-txn"])
def test_actions_on_unknown_jobs_fail(core, fake, call, message, in_txn):
    txn = core.begin_transaction(60) if in_txn else None
    assert failure(lambda: call(core, 555, 0, txn)) == (StatusCode.FAIL, message)


def test_actions_without_transaction_apply_at_once(core, fake, queued):
    c, p = queued
    core.hold_job(None, c, p, "because", True, False, True)
    assert fake.job(c, p)["JobStatus"] == 5 and fake.job(c, p)["HoldReason"] == "because"
    assert failure(lambda: core.hold_job(None, c, p, "again", False, False, False)) == (
        StatusCode.FAIL, "Failed to hold job.")
    core.release_job(None, c, p, None, False, False)
    assert failure(lambda: core.release_job(None, c, p, None, False, False)) == (
        StatusCode.FAIL, "Failed to release job.")
    core.close_spool(None, c, p)
    assert fake.job(c, p)["FilesRetrieved"] is True
    core.remove_job(None, c, p, "bye", True)
    assert fake.job(c, p)["JobStatus"] == 3
    tokens = [b.token for b in fake.batches]
    assert len(tokens) == len(set(tokens))  # every immediate action is its own batch
    assert fake.batches[-1].actions[0].force is True


def test_actions_in_transaction_wait_for_commit(core, fake, queued):
    c, p = queued
    txn = core.begin_transaction(60)
    core.hold_job(txn, c, p, "later", False, False, False)
    core.close_spool(txn, c, p)
    assert fake.job(c, p)["JobStatus"] == 1
    core.commit_transaction(txn)
    assert fake.job(c, p)["JobStatus"] == 5 and fake.job(c, p)["FilesRetrieved"] is True
    assert [a.kind for a in fake.batches[-1].actions] == [ActionKind.HOLD, ActionKind.CLOSE_SPOOL]


def test_action_that_no_longer_applies_at_commit_is_skipped(core, fake, queued):
    c, p = queued
    txn = core.begin_transaction(60)
    core.hold_job(txn, c, p, None, False, False, False)
    core.hold_job(None, c, p, "meanwhile", False, False, False)
    core.commit_transaction(txn)  # no error
    assert fake.job(c, p)["HoldReason"] == "meanwhile"


def test_remove_pending_job_drops_it(core, fake):
    txn = core.begin_transaction(60)
    c, p = submit_job(core, txn, {"f": b"123"})
    core.remove_job(txn, c, p, None, False)
    assert list(core.get_job_ads(txn, None)) == []
    core.commit_transaction(txn)
    assert fake.job(c, p) is None


def test_remove_cluster(core, fake, queued):
    c, _ = queued
    core.remove_cluster(None, 9999, None)  # no such cluster: SUCCESS (spec §4.4)
    txn = core.begin_transaction(60)
    pending = submit_job(core, txn)
    core.remove_cluster(txn, pending[0], "gone")
    core.remove_cluster(txn, c, "gone")
    assert fake.job(*queued)["JobStatus"] == 1
    core.commit_transaction(txn)
    assert fake.job(*queued)["JobStatus"] == 3 and fake.job(*pending) is None


def test_request_reschedule_always_succeeds(core, fake):
    core.request_reschedule()
    fake.reschedule = lambda: (_ for _ in ()).throw(BackendError("negotiator down"))
    core.request_reschedule()


def test_create_job_template_uses_backend_and_config(make_core, fake):
    core = make_core(fake, leave_in_queue="JobStatus == 4")
    items = attrs(core.create_job_template(3, 1, None, Universe.VANILLA, "/bin/true", None, None))
    assert items["condorversion"].value == fake.version()
    assert items["condorplatform"].value == fake.platform()
    assert "JobStatus == 4" in items["leavejobinqueue"].value
    assert "owner" not in items and (items["clusterid"].value, items["procid"].value) == ("3", "1")


def test_discover_job_requirements(core):
    assert core.discover_job_requirements([S("Cmd", "a.out"), S("In", "in.dat")]) == ["in.dat", "a.out"]


def test_transaction_id_zero_means_none_for_optional_calls(core, queued):
    assert len(list(core.get_job_ads(TxnRef(0, 0), None))) == 1
