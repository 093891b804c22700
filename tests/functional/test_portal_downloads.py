"""Portals download every file ``listSpool`` names as ``getFile(0, size)``, empty ones too, and
decode ``data`` without looking at the status (client checklist item 16; condorweb did). Both
Python toolchains, from the original WSDL, on both backends.

zeep reads any empty simple-typed element as None, so an empty ``<data></data>`` is None there
(``data or b""`` is how a zeep portal writes it); suds gives the base64 text, empty.
"""
from __future__ import annotations

import base64

import pytest
import suds.client

from tests.functional.conftest import schedd_client
from tests.functional.test_workflow import zeep_workflow

pytestmark = pytest.mark.slow

SCRIPT = b"#!/bin/sh\necho portal > out.txt\n: > empty.out\n"
EXPECTED = {"out.txt": b"portal\n", "empty.out": b"", "stderr.txt": b"", "empty.in": b"", "job.sh": SCRIPT}


@pytest.fixture(scope="module")
def completed_job(service, reference_dir) -> tuple[int, int]:
    """A job that left two empty files (its stderr and empty.out) and had an empty input."""
    proxy = schedd_client(service.url, str(reference_dir / "condorSchedd.wsdl"))
    check = zeep_workflow.check
    txn = check(proxy.beginTransaction(60), "beginTransaction").transaction
    cluster = check(proxy.newCluster(txn), "newCluster").integer
    proc = check(proxy.newJob(txn, cluster), "newJob").integer
    template = check(proxy.createJobTemplate(cluster, proc, service.owner, "VANILLA", "job.sh", "run", None),
                     "createJobTemplate").classAd.item
    ad = [i for i in template if i.name.lower() not in ("out", "err")]
    ad += [{"name": "Out", "type": "STRING-ATTR", "value": "stdout.txt"},
           {"name": "Err", "type": "STRING-ATTR", "value": "stderr.txt"}]
    for name in ("job.sh", "empty.in"):
        zeep_workflow.upload(proxy, txn, cluster, proc, name, EXPECTED[name], lambda _: None)
    check(proxy.submit(txn, cluster, proc, {"item": ad}), "submit")
    check(proxy.commitTransaction(txn), "commitTransaction")
    proxy.requestReschedule()
    assert zeep_workflow.wait_status(proxy, cluster, proc, {"4"}) == "4"
    return cluster, proc


def _suds(service, reference_dir):
    return suds.client.Client(f"file://{reference_dir / 'condorSchedd.wsdl'}", location=service.url).service


def test_every_listed_file_downloads_as_0_size(service, reference_dir, completed_job):
    cluster, proc = completed_job
    zeep_proxy = schedd_client(service.url, str(reference_dir / "condorSchedd.wsdl"))
    suds_proxy = _suds(service, reference_dir)
    listed = {f.name: f.size for f in zeep_proxy.listSpool(None, cluster, proc).info.item}
    assert {"out.txt", "empty.out", "stderr.txt", "empty.in"} <= set(listed)
    assert listed["empty.out"] == listed["stderr.txt"] == listed["empty.in"] == 0
    for name in EXPECTED:
        size = listed[name]
        # decoded without a look at the status, as the portal does
        assert (zeep_proxy.getFile(None, cluster, proc, name, 0, size).data or b"") == EXPECTED[name], name
        assert base64.b64decode(suds_proxy.getFile(None, cluster, proc, name, 0, size).data or "") == EXPECTED[name]
        assert zeep_proxy.getFile(None, cluster, proc, name, 0, size).status.code == "SUCCESS"


def test_a_failed_getfile_still_carries_empty_data(service, reference_dir, completed_job):
    cluster, proc = completed_job
    zeep_answer = schedd_client(service.url, str(reference_dir / "condorSchedd.wsdl")).getFile(
        None, cluster, proc, "no-such-file", 0, 10)
    assert zeep_answer.status.code == "FAIL" and zeep_answer.status.message.startswith("Failed to open file")
    assert zeep_answer.data is None  # present and empty: zeep's None (the wire: tests/soap/test_responses.py)
    suds_answer = _suds(service, reference_dir).getFile(None, cluster, proc, "no-such-file", 0, 0)
    assert suds_answer.status.code == "FAIL"
    assert "data" in suds_answer and base64.b64decode(suds_answer.data or "") == b""
    negative = schedd_client(service.url).getFile(None, cluster, proc, "out.txt", 0, -1)
    assert (negative.status.code, negative.status.message, negative.data) == ("FAIL", "LENGTH must be >= 0", None)
