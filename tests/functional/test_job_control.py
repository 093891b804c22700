"""hold / release / remove / removeCluster on live jobs, with and without a transaction."""
from __future__ import annotations

import pytest

from tests.functional.conftest import schedd_client
from tests.polling import wait_for

pytestmark = pytest.mark.slow

SLEEPER = b"#!/bin/sh\nsleep 600\n"


@pytest.fixture()
def proxy(service):
    return schedd_client(service.url)


def submit_sleepers(proxy, owner: str, count: int = 1, extra: tuple = ()) -> tuple[int, list[int]]:
    """Commit ``count`` long-running jobs in one new cluster, with the ``extra`` items."""
    txn = proxy.beginTransaction(120).transaction
    cluster = proxy.newCluster(txn).integer
    procs = []
    for _ in range(count):
        proc = proxy.newJob(txn, cluster).integer
        template = proxy.createJobTemplate(cluster, proc, owner, "VANILLA", "sleeper.sh", None, None)
        assert template.status.code == "SUCCESS"
        assert proxy.declareFile(txn, cluster, proc, "sleeper.sh", len(SLEEPER), "NOHASH", None).code == "SUCCESS"
        assert proxy.sendFile(txn, cluster, proc, "sleeper.sh", 0, SLEEPER).code == "SUCCESS"
        # zeep reads an empty <value></value> (Arguments "") as None; send it back as ""
        items = [{"name": i.name, "type": i.type, "value": i.value or ""} for i in template.classAd.item]
        answer = proxy.submit(txn, cluster, proc, {"item": items + list(extra)})
        assert answer.status.code == "SUCCESS", answer.status.message
        procs.append(proc)
    assert proxy.commitTransaction(txn).code == "SUCCESS"
    proxy.requestReschedule()
    return cluster, procs


def attrs(proxy, cluster: int, proc: int) -> dict:
    response = proxy.getJobAd(None, cluster, proc)
    assert response.status.code == "SUCCESS", response.status.message
    return {i.name: i.value for i in response.classAd.item}


def status_becomes(proxy, cluster, proc, wanted: set[str], timeout: float = 90):
    return wait_for(lambda: attrs(proxy, cluster, proc)["JobStatus"] in wanted, timeout, 0.25,
                    f"job {cluster}.{proc} JobStatus in {wanted}")


def test_hold_release_remove(proxy, service):
    cluster, (proc,) = submit_sleepers(proxy, service.owner)
    status = proxy.holdJob(None, cluster, proc, "held by test", False, False, True)
    assert (status.code, status.message) == ("SUCCESS", "Success")
    status_becomes(proxy, cluster, proc, {"5"})
    ad = attrs(proxy, cluster, proc)
    # a real schedd appends " (by user <owner>)" to the reason it was given
    assert ad["HoldReason"].startswith("held by test")
    # holding a held job fails as the original did
    assert proxy.holdJob(None, cluster, proc, "again", False, False, False).message == "Failed to hold job."

    assert proxy.releaseJob(None, cluster, proc, "go on", False, False).code == "SUCCESS"
    status_becomes(proxy, cluster, proc, {"1", "2"})
    assert proxy.releaseJob(None, cluster, proc, "not held", False, False).message == "Failed to release job."

    assert proxy.removeJob(None, cluster, proc, "bye", False).code == "SUCCESS"
    # removed: either still shown as 3 (LeaveJobInQueue) or gone from the queue
    wait_for(lambda: proxy.getJobAd(None, cluster, proc).status.code == "UNKNOWNJOB"
             or attrs(proxy, cluster, proc)["JobStatus"] == "3", 60, 0.25, "removal")


def test_hold_in_transaction_applies_at_commit(proxy, service):
    cluster, (proc,) = submit_sleepers(proxy, service.owner)
    txn = proxy.beginTransaction(60).transaction
    assert proxy.holdJob(txn, cluster, proc, "later", False, False, False).code == "SUCCESS"
    assert attrs(proxy, cluster, proc)["JobStatus"] != "5", "not before commit"
    assert proxy.commitTransaction(txn).code == "SUCCESS"
    status_becomes(proxy, cluster, proc, {"5"})
    proxy.removeJob(None, cluster, proc, "cleanup", False)


def test_remove_cluster(proxy, service):
    cluster, procs = submit_sleepers(proxy, service.owner, count=2)
    assert proxy.removeCluster(None, cluster, "all of them").code == "SUCCESS"
    for proc in procs:
        wait_for(lambda: proxy.getJobAd(None, cluster, proc).status.code == "UNKNOWNJOB"
                 or attrs(proxy, cluster, proc)["JobStatus"] == "3", 60, 0.25, f"removal of {cluster}.{proc}")


def test_remove_in_transaction_abort_keeps_job(proxy, service):
    cluster, (proc,) = submit_sleepers(proxy, service.owner)
    txn = proxy.beginTransaction(60).transaction
    assert proxy.removeJob(txn, cluster, proc, "maybe", False).code == "SUCCESS"
    assert proxy.abortTransaction(txn).code == "SUCCESS"
    assert attrs(proxy, cluster, proc)["JobStatus"] in {"1", "2"}
    proxy.removeJob(None, cluster, proc, "cleanup", False)
