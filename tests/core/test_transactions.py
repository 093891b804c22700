"""Transactions: leases, visibility, concurrency and durability (spec §4.3, architecture.rst).

Run against every backend in ``any_backend``; jobs sleep long, so nothing finishes mid-test.
"""
from __future__ import annotations

import os
import threading

import pytest

from condor_soap.core.journal import Journal
from condor_soap.core.records import CommitBatch, HashType, TxnRef
from condor_soap.errors import CondorSoapError, InvalidTransaction, StatusCode
from tests.core.helpers import JOB, attrs, submit_job


def staged(state_dir, txn: TxnRef) -> str:
    return os.path.join(state_dir, "staging", str(txn.id))


def keys(items_list) -> set[tuple[int, int]]:
    return {(int(attrs(i)["clusterid"].value), int(attrs(i)["procid"].value)) for i in items_list}


def test_commit_queues_the_job_with_its_files(make_core, any_backend):
    core = make_core(any_backend)
    txn = core.begin_transaction(60)
    assert txn.id != 0 and txn.duration == 60
    c, p = submit_job(core, txn, {"in.txt": b"hello"})
    assert any_backend.job(c, p) is None
    core.commit_transaction(txn)
    ad = any_backend.job(c, p)
    assert ad["Owner"] == "alice" and ad["ClusterId"] == c and ad["ProcId"] == p
    assert ad["TransferInputFiles"] == "in.txt" and ad["Iwd"] == any_backend.spool_dir(c, p)
    assert any_backend.read_spool(c, p, "in.txt", 0, 100) == b"hello"
    with pytest.raises(InvalidTransaction):  # committed: the id is gone
        core.new_cluster(txn)


@pytest.mark.parametrize("txn", [None, TxnRef(0, 60), TxnRef(12345, 60)], ids=["null", "id-0", "unknown"])
def test_invalid_transaction(core, txn):
    for call in (lambda: core.new_cluster(txn), lambda: core.commit_transaction(txn),
                 lambda: core.abort_transaction(txn), lambda: core.extend_transaction(txn, 5)):
        with pytest.raises(CondorSoapError) as info:
            call()
        assert (info.value.code, info.value.message) == (StatusCode.INVALIDTRANSACTION, "Invalid transaction")
    if txn is not None and txn.id:  # optional-transaction calls check a given id too (§4.1 step 3)
        with pytest.raises(InvalidTransaction):
            core.get_job_ads(txn, None)


def test_abort_drops_everything(core, fake, state_dir):
    txn = core.begin_transaction(60)
    c, p = submit_job(core, txn, {"in.txt": b"data"})
    assert os.path.isdir(staged(state_dir, txn))
    core.abort_transaction(txn)
    assert not os.path.exists(staged(state_dir, txn))
    assert fake.batches == [] and fake.job(c, p) is None
    assert core.journal.txns() == [] and core.journal.jobs(txn.id) == []
    with pytest.raises(InvalidTransaction):
        core.commit_transaction(txn)


def test_lease_expiry_aborts_and_deletes_staged_files(core, clock, state_dir):
    txn = core.begin_transaction(30)
    submit_job(core, txn, {"in.txt": b"data"})
    clock.advance(29)
    core.get_job_ads(txn, None)  # any call renews the lease
    clock.advance(29)
    assert core.table.reap() == []
    clock.advance(2)
    with pytest.raises(InvalidTransaction):
        core.commit_transaction(txn)
    assert not os.path.exists(staged(state_dir, txn))
    assert core.journal.txn(txn.id) is None


def test_reaper_removes_expired_transactions(core, clock, state_dir):
    txn = core.begin_transaction(10)
    submit_job(core, txn, {"in.txt": b"x"})
    clock.advance(11)
    assert core.table.reap() == [txn.id]
    assert not os.path.exists(staged(state_dir, txn))


def test_reaper_thread(make_core, fake, clock):
    core = make_core(fake, reap_interval=0.01)
    txn = core.begin_transaction(10)
    clock.advance(11)
    for _ in range(500):
        if core.journal.txn(txn.id) is None:
            break
        threading.Event().wait(0.01)
    assert core.journal.txn(txn.id) is None


def test_lease_reset_uses_each_calls_duration(core, clock):
    txn = core.begin_transaction(10)
    core.new_cluster(TxnRef(txn.id, 100))  # the element's duration is the new lease
    clock.advance(50)
    core.new_cluster(TxnRef(txn.id, None))  # missing: the stored one (100) again
    clock.advance(99)
    core.new_cluster(txn)
    with pytest.raises(CondorSoapError) as info:
        core.new_cluster(TxnRef(txn.id, 0))
    assert (info.value.code, info.value.message) == (StatusCode.FAIL, "Could not extend transaction")


def test_extend_resets_lease_to_its_argument(core, clock):
    txn = core.begin_transaction(10)
    assert core.extend_transaction(TxnRef(txn.id, None), 500) == TxnRef(txn.id, 500)
    clock.advance(400)
    core.new_cluster(TxnRef(txn.id, None))
    with pytest.raises(CondorSoapError, match="Could not extend transaction"):
        core.extend_transaction(txn, 0)


def test_max_duration_caps_every_lease(make_core, fake, clock):
    core = make_core(fake, max_transaction_duration=20)
    txn = core.begin_transaction(3000)
    assert txn.duration == 20
    assert core.extend_transaction(txn, 600).duration == 20
    core.new_cluster(TxnRef(txn.id, 6000))
    clock.advance(21)
    with pytest.raises(InvalidTransaction):
        core.new_cluster(txn)


def test_begin_clamps_to_at_least_one_second(core):
    assert core.begin_transaction(0).duration == 1
    assert core.begin_transaction(-5).duration == 1


def test_read_your_writes(make_core, any_backend):
    core = make_core(any_backend)
    txn = core.begin_transaction(60)
    c, p = submit_job(core, txn)
    unsubmitted = core.new_job(txn, c)
    assert keys(core.get_job_ads(txn, None)) == {(c, p)}
    assert attrs(core.get_job_ad(txn, c, p))["owner"].value == "alice"
    assert keys(core.get_job_ads(txn, "Owner == \"bob\"")) == set()
    # invisible outside the transaction, and the un-submitted job everywhere
    assert (c, p) not in keys(core.get_job_ads(None, None))
    for t in (None, txn):
        with pytest.raises(CondorSoapError) as info:
            core.get_job_ad(t, c, unsubmitted if t else p)
        assert (info.value.code, info.value.message) == (StatusCode.UNKNOWNJOB, "Specified job is unknown")
    other = core.begin_transaction(60)
    assert (c, p) not in keys(core.get_job_ads(other, None))
    core.commit_transaction(txn)
    assert (c, p) in keys(core.get_job_ads(None, None))
    assert any_backend.job(c, unsubmitted) is None  # never submitted: dropped at commit


def test_pending_hold_is_seen_in_the_transaction_only(make_core, any_backend):
    core = make_core(any_backend)
    setup = core.begin_transaction(60)
    c, p = submit_job(core, setup)
    core.commit_transaction(setup)
    txn = core.begin_transaction(60)
    core.hold_job(txn, c, p, "wait", False, False, False)
    assert attrs(core.get_job_ad(txn, c, p))["jobstatus"].value == "5"
    assert keys(core.get_job_ads(txn, "JobStatus == 5")) == {(c, p)}
    assert any_backend.job(c, p)["JobStatus"] != 5
    with pytest.raises(CondorSoapError, match="Failed to hold job."):
        core.hold_job(txn, c, p, "again", False, False, False)  # already held, as seen here
    core.release_job(txn, c, p, None, False, False)
    core.hold_job(txn, c, p, '"quoted"', False, False, True)
    core.commit_transaction(txn)
    ad = any_backend.job(c, p)
    assert ad["JobStatus"] == 5 and ad["HoldReason"] == "quoted"


def test_concurrent_transactions_from_threads(make_core, any_backend):
    core = make_core(any_backend)
    results: dict[int, tuple[int, int]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker(n: int) -> None:
        try:
            txn = core.begin_transaction(60)
            start.wait()
            c, p = submit_job(core, txn, {f"f{n}.txt": bytes([n]) * (1000 + n)})
            if n % 4 == 3:
                core.abort_transaction(txn)
            else:
                core.commit_transaction(txn)
                results[n] = (c, p)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 6 and len({c for c, _ in results.values()}) == 6
    for n, (c, p) in results.items():
        assert any_backend.read_spool(c, p, f"f{n}.txt", 0, 5000) == bytes([n]) * (1000 + n)
    assert core.journal.txns() == []


def test_restart_mid_transaction(make_core, any_backend, state_dir, clock):
    first = make_core(any_backend)
    txn = first.begin_transaction(60)
    c = first.new_cluster(txn)
    p = first.new_job(txn, c)
    first.declare_file(txn, c, p, "big.bin", 10, HashType.NOHASH, None)
    first.send_file(txn, c, p, "big.bin", 0, b"01234")
    first.close()
    clock.advance(30)  # the lease is on the wall clock, across the restart
    second = make_core(any_backend)
    second.send_file(txn, c, p, "big.bin", 5, b"56789")
    second.submit(txn, c, p, JOB)
    second.commit_transaction(txn)
    assert any_backend.read_spool(c, p, "big.bin", 0, 100) == b"0123456789"


def test_restart_after_lease_ran_out_aborts(make_core, fake, state_dir, clock):
    first = make_core(fake)
    txn = first.begin_transaction(60)
    submit_job(first, txn, {"a": b"a"})
    first.close()
    clock.advance(61)
    second = make_core(fake)
    assert second.journal.txns() == []
    assert not os.path.exists(staged(state_dir, txn))


def _crash_mid_commit(core, backend, txn) -> CommitBatch:
    """Journal the batch as "committing", as commit does, and stop before apply()."""
    original = core._apply
    seen = []

    def crash(t, batch):
        seen.append(batch)
        raise KeyboardInterrupt  # the process dies here

    core._apply = crash
    with pytest.raises(KeyboardInterrupt):
        core.commit_transaction(txn)
    core._apply = original
    return seen[0]


def test_restart_mid_commit_applies_exactly_once(make_core, any_backend, state_dir):
    first = make_core(any_backend)
    txn = first.begin_transaction(60)
    c, p = submit_job(first, txn, {"in.txt": b"payload"})
    batch = _crash_mid_commit(first, any_backend, txn)
    assert Journal(os.path.join(state_dir, "journal.sqlite3")).txn(txn.id).state == "committing"
    assert any_backend.job(c, p) is None
    first.close()
    second = make_core(any_backend)  # construction re-applies
    assert any_backend.job(c, p)["Owner"] == "alice"
    assert any_backend.read_spool(c, p, "in.txt", 0, 100) == b"payload"
    assert second.journal.txns() == [] and not os.path.exists(staged(state_dir, txn))
    with pytest.raises(InvalidTransaction):
        second.commit_transaction(txn)
    make_core(any_backend)  # another restart: nothing left to apply
    assert len(any_backend.jobs(f"ClusterId == {c}")) == 1
    if hasattr(any_backend, "applied"):
        assert [b.token for b in any_backend.batches] == [batch.token]
        assert any_backend.applied[batch.token] == 1


def test_interrupted_apply_that_did_land_is_not_applied_twice(make_core, fake):
    """The crash came after the backend applied: re-applying must be a no-op (token)."""
    first = make_core(fake)
    txn = first.begin_transaction(60)
    c, p = submit_job(first, txn)
    original = first._apply

    def apply_then_crash(t, batch):
        fake.apply(batch)
        raise KeyboardInterrupt

    first._apply = apply_then_crash
    with pytest.raises(KeyboardInterrupt):
        first.commit_transaction(txn)
    first._apply = original
    first.close()
    make_core(fake)
    assert len(fake.batches) == 2 and len(set(b.token for b in fake.batches)) == 1
    assert sum(fake.applied.values()) == 1 and fake.job(c, p) is not None


def test_backend_refusal_keeps_the_transaction_open(core, fake):
    from condor_soap.core.ports import BackendError
    txn = core.begin_transaction(60)
    c, p = submit_job(core, txn, {"in.txt": b"x"})
    fake.fail_next_apply = BackendError("disk full")
    with pytest.raises(CondorSoapError, match="disk full"):
        core.commit_transaction(txn)
    assert core.journal.txn(txn.id).state == "open"
    core.commit_transaction(txn)
    assert fake.job(c, p) is not None


def test_unused_cluster_ids_are_reported(core, fake, clock):
    """The backend hears which predicted cluster ids will never carry a job (id prediction on
    a real pool realigns with them); ids a commit queued jobs in are not reported."""
    aborted = core.begin_transaction(60)
    c_aborted, _ = submit_job(core, aborted)
    core.abort_transaction(aborted)
    assert fake.released == [c_aborted]

    expired = core.begin_transaction(10)
    c_expired = core.new_cluster(expired)
    clock.advance(11)
    core.table.reap()
    assert fake.released == [c_aborted, c_expired]

    committed = core.begin_transaction(60)
    c_used, _ = submit_job(core, committed)
    c_empty = core.new_cluster(committed)  # a cluster with no job: never used
    core.commit_transaction(committed)
    assert fake.released == [c_aborted, c_expired, c_empty]
    assert c_used not in fake.released


def test_owner_is_journaled_with_the_transaction(make_core, fake, state_dir, clock):
    from condor_soap.core.policy import Caller, calling

    first = make_core(fake)
    with calling(Caller("alice", "127.0.0.1", "basic")):
        txn = first.begin_transaction(60)
    # one row, one write: no crash can separate a transaction from its owner
    assert Journal(os.path.join(state_dir, "journal.sqlite3")).txn(txn.id).owner == "alice"
    assert not os.path.exists(os.path.join(staged(state_dir, txn), "owner"))
    first.close()
    second = make_core(fake)
    with calling(Caller("bob", "127.0.0.1", "basic")), pytest.raises(InvalidTransaction):
        second.new_cluster(txn)
    with calling(Caller("alice", "127.0.0.1", "basic")):
        assert second.new_cluster(txn) > 0


def test_journal_from_before_owners_is_migrated(make_core, fake, state_dir):
    import sqlite3

    first = make_core(fake)
    mine, anonymous = first.begin_transaction(60), first.begin_transaction(60)
    first.close()
    # the earlier layout: no owner column, the owner in staging/<id>/owner
    db = sqlite3.connect(os.path.join(state_dir, "journal.sqlite3"))
    db.execute("ALTER TABLE txn DROP COLUMN owner")
    db.commit()
    db.close()
    os.makedirs(staged(state_dir, mine), exist_ok=True)
    with open(os.path.join(staged(state_dir, mine), "owner"), "w") as f:
        f.write("alice")
    second = make_core(fake)
    assert second.table.owner(mine.id) == "alice" and second.table.owner(anonymous.id) is None
