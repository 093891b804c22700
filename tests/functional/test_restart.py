"""Kill the service in the middle of a transaction and of a commit: nothing lost, nothing doubled."""
from __future__ import annotations

import os

import pytest
import requests

from tests.functional.conftest import schedd_client
from tests.polling import wait_for

pytestmark = pytest.mark.slow

SCRIPT = b"#!/bin/sh\ncat in.dat > out.dat\n"


def _stage_job(proxy, txn, payload: bytes, send_all: bool = True):
    cluster = proxy.newCluster(txn).integer
    proc = proxy.newJob(txn, cluster).integer
    for name, data in (("job.sh", SCRIPT), ("in.dat", payload)):
        assert proxy.declareFile(txn, cluster, proc, name, len(data), "NOHASH", None).code == "SUCCESS"
        part = data if send_all or name == "job.sh" else data[: len(data) // 2]
        assert proxy.sendFile(txn, cluster, proc, name, 0, part).code == "SUCCESS"
    return cluster, proc


def _submit(proxy, txn, cluster, proc):
    ad = {"item": [{"name": "Cmd", "type": "STRING-ATTR", "value": "job.sh"},
                   {"name": "FilesRetrieved", "type": "BOOLEAN-ATTR", "value": "FALSE"},
                   {"name": "LeaveJobInQueue", "type": "EXPRESSION-ATTR", "value": "FilesRetrieved =?= false"}]}
    assert proxy.submit(txn, cluster, proc, ad).status.code == "SUCCESS"


def _jobs_of(proxy, cluster):
    response = proxy.getJobAds(None, f"ClusterId == {cluster}")
    assert response.status.code == "SUCCESS"
    return response.classAdArray.item if response.classAdArray else []


def test_kill_mid_transaction_keeps_everything(make_service):
    svc = make_service()
    proxy = schedd_client(svc.start())
    payload = os.urandom(300_000)
    txn = proxy.beginTransaction(300).transaction
    cluster, proc = _stage_job(proxy, txn, payload, send_all=False)
    svc.kill()

    proxy = schedd_client(svc.start())  # same state dir, new port
    half = len(payload) // 2
    assert proxy.sendFile(txn, cluster, proc, "in.dat", half, payload[half:]).code == "SUCCESS"
    _submit(proxy, txn, cluster, proc)
    assert proxy.commitTransaction(txn).code == "SUCCESS"

    def completed():
        ad = proxy.getJobAd(None, cluster, proc)
        return ad.status.code == "SUCCESS" and {i.name: i.value for i in ad.classAd.item}["JobStatus"] == "4"

    wait_for(completed, 60, what="job completion")
    size = {f.name: f.size for f in proxy.listSpool(None, cluster, proc).info.item}["out.dat"]
    assert proxy.getFile(None, cluster, proc, "out.dat", 0, size).data == payload
    svc.stop()


@pytest.mark.parametrize("fault", ["commit-after-journal", "commit-after-apply"])
def test_kill_mid_commit_applies_exactly_once(make_service, fault):
    svc = make_service()
    proxy = schedd_client(svc.start(CONDOR_SOAP_FAULT=fault))
    txn = proxy.beginTransaction(300).transaction
    cluster, proc = _stage_job(proxy, txn, b"payload")
    _submit(proxy, txn, cluster, proc)
    with pytest.raises(requests.exceptions.ConnectionError):
        proxy.commitTransaction(txn)  # the process dies at the fault point
    assert svc.wait_exit(10) != 0

    proxy = schedd_client(svc.start())
    jobs = _jobs_of(proxy, cluster)
    assert len(jobs) == 1, "the interrupted commit was completed exactly once"
    # the transaction is finished: its id is no longer valid
    assert proxy.commitTransaction(txn).code == "INVALIDTRANSACTION"
    staging = svc.state_dir / "staging"
    wait_for(lambda: not any(p.is_file() for p in staging.rglob("*")) if staging.exists() else True,
               10, what="staged files cleaned up")
    svc.stop()


def test_sigterm_is_a_clean_shutdown(make_service):
    svc = make_service()
    proxy = schedd_client(svc.start())
    txn = proxy.beginTransaction(300).transaction
    assert svc.stop() == 0
    assert "Traceback" not in svc.log()
    proxy = schedd_client(svc.start())
    assert proxy.abortTransaction(txn).code == "SUCCESS"  # the open transaction survived
    svc.stop()
