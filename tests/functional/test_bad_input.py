"""Bad input over real HTTP: a clear Status every time, and the service keeps serving."""
from __future__ import annotations

import hashlib

import pytest

from tests.functional.conftest import collector_client, schedd_client


@pytest.fixture()
def proxy(service):
    return schedd_client(service.url)


@pytest.fixture()
def job(proxy):
    txn = proxy.beginTransaction(120).transaction
    cluster = proxy.newCluster(txn).integer
    proc = proxy.newJob(txn, cluster).integer
    yield txn, cluster, proc
    proxy.abortTransaction(txn)


@pytest.mark.parametrize("name", [
    pytest.param("../escape", id="dot-dot"),
    pytest.param("/etc/passwd", id="absolute"),
    pytest.param("sub/file", id="separator"),
    pytest.param("..", id="parent"),
    pytest.param("", id="empty"),
])
def test_traversal_names_are_refused(proxy, job, name):
    txn, cluster, proc = job
    status = proxy.declareFile(txn, cluster, proc, name, 1, "NOHASH", None)
    assert status.code == "FAIL"
    assert "name" in status.message.lower()
    status = proxy.sendFile(txn, cluster, proc, name, 0, b"x")
    assert status.code != "SUCCESS"


def test_negative_offset(proxy, job):
    txn, cluster, proc = job
    assert proxy.declareFile(txn, cluster, proc, "f", 4, "NOHASH", None).code == "SUCCESS"
    status = proxy.sendFile(txn, cluster, proc, "f", -1, b"data")
    assert (status.code, status.message.startswith("Failed to lseek in file 'f'")) == ("FAIL", True)


def _submit_minimal(proxy, txn, cluster, proc):
    ad = {"item": [{"name": "Cmd", "type": "STRING-ATTR", "value": "/bin/true"}]}
    assert proxy.submit(txn, cluster, proc, ad).status.code == "SUCCESS"


def test_truncated_upload_is_incomplete_and_can_be_finished(proxy, job):
    txn, cluster, proc = job
    assert proxy.declareFile(txn, cluster, proc, "data.bin", 10, "NOHASH", None).code == "SUCCESS"
    assert proxy.sendFile(txn, cluster, proc, "data.bin", 0, b"12345").code == "SUCCESS"
    _submit_minimal(proxy, txn, cluster, proc)
    status = proxy.commitTransaction(txn)
    assert status.code == "INCOMPLETE" and "data.bin" in status.message
    # the transaction stays open: send the rest and commit
    assert proxy.sendFile(txn, cluster, proc, "data.bin", 5, b"67890").code == "SUCCESS"
    assert proxy.commitTransaction(txn).code == "SUCCESS"


def test_oversized_upload_is_refused(proxy, job):
    txn, cluster, proc = job
    assert proxy.declareFile(txn, cluster, proc, "small", 3, "NOHASH", None).code == "SUCCESS"
    status = proxy.sendFile(txn, cluster, proc, "small", 0, b"too long")
    assert status.code == "FAIL" and "small" in status.message


def test_wrong_md5_fails_commit_and_keeps_transaction(proxy, job):
    txn, cluster, proc = job
    data = b"hello md5"
    wrong = hashlib.md5(b"other").hexdigest()
    assert proxy.declareFile(txn, cluster, proc, "h.txt", len(data), "MD5HASH", wrong).code == "SUCCESS"
    assert proxy.sendFile(txn, cluster, proc, "h.txt", 0, data).code == "SUCCESS"
    _submit_minimal(proxy, txn, cluster, proc)
    status = proxy.commitTransaction(txn)
    assert status.code == "FAIL" and "h.txt" in status.message and "MD5" in status.message
    assert proxy.extendTransaction(txn, 60).status.code == "SUCCESS"  # still open


@pytest.mark.parametrize("call", [
    pytest.param(lambda p: p.getJobAd(None, 987654, 0).status, id="getJobAd"),
    pytest.param(lambda p: p.listSpool(None, 987654, 0).status, id="listSpool"),
    pytest.param(lambda p: p.getFile(None, 987654, 0, "x", 0, 10).status, id="getFile"),
    pytest.param(lambda p: p.holdJob(None, 987654, 0, "r", False, False, False), id="holdJob"),
    pytest.param(lambda p: p.releaseJob(None, 987654, 0, "r", False, False), id="releaseJob"),
    pytest.param(lambda p: p.removeJob(None, 987654, 0, "r", False), id="removeJob"),
    pytest.param(lambda p: p.closeSpool(None, 987654, 0), id="closeSpool"),
])
def test_unknown_job_ids(proxy, call):
    status = call(proxy)
    assert status.code in ("FAIL", "UNKNOWNJOB")
    assert status.message and "Traceback" not in status.message


@pytest.mark.parametrize("constraint", ["garbage ((", "JobStatus ==", "Owner =?= ", "1 +* 2"])
def test_garbage_constraints_match_nothing(service, proxy, constraint):
    response = proxy.getJobAds(None, constraint)
    assert response.status.code == "SUCCESS"
    assert not (response.classAdArray and response.classAdArray.item)
    collector = collector_client(service.url)
    assert not collector.queryStartdAds(constraint)  # zeep gives the bare array as a list
    assert collector.queryStartdAds(None), "without a constraint: this machine's slot ad"


@pytest.mark.parametrize("requirements", ["Queue=150", "((", "a = b; c"])
def test_garbage_requirements_keep_true(proxy, requirements):
    response = proxy.createJobTemplate(1, 0, "u", "VANILLA", "/bin/true", None, requirements)
    assert response.status.code == "SUCCESS"
    attrs = {i.name: (i.type, i.value) for i in response.classAd.item}
    assert attrs["Requirements"] == ("BOOLEAN-ATTR", "TRUE")


def test_still_serving_after_all_that(service, proxy):
    version = proxy.getVersionString()
    assert version.status.code == "SUCCESS" and version.message.startswith("$CondorVersion:")
    assert "Traceback" not in service.log()
