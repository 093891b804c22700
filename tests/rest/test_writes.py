"""REST writes against the real service on both backends: submit (JSON ad, submit description,
multipart files), transactions, actions one by one and by constraint, output listing and
download with Range, closeSpool; a REST job is a SOAP job and the reverse."""
from __future__ import annotations

import hashlib
import uuid

import pytest

from tests.functional.conftest import schedd_client
from tests.polling import wait_for
from tests.rest.jobs import soap_submit, string

pytestmark = pytest.mark.slow
COMPLETED, HELD, REMOVED, IDLE = 4, 5, 3, 1


def status_of(rest, jobid: str) -> int:
    cluster, proc = jobid.split(".")
    return rest.json(f"jobs/DEFAULT/{cluster}/{proc}/jobstatus")


def wait_status(rest, jobid: str, wanted: set[int], timeout: float = 120) -> None:
    wait_for(lambda: status_of(rest, jobid) in wanted, timeout, 0.5, f"job {jobid} JobStatus in {wanted}")


def files_of(rest, jobid: str) -> dict[str, int]:
    cluster, proc = jobid.split(".")
    return {f["name"]: f["size"] for f in rest.json(f"jobs/DEFAULT/{cluster}/{proc}/files")}


def fetch(rest, jobid: str, name: str, **kw) -> bytes:
    cluster, proc = jobid.split(".")
    response = rest.get(f"jobs/DEFAULT/{cluster}/{proc}/files/{name}", **kw)
    assert response.status_code in (200, 206), response.text
    return response


def test_json_ad_runs_and_output_downloads(rest, service):
    tag = uuid.uuid4().hex
    response = rest.post("jobs/DEFAULT", json={"cmd": "/bin/echo", "arguments": "hello from REST",
                                               "out": "out.txt", "RestTag": tag})
    assert response.status_code == 201, response.text
    [jobid] = response.json()["jobids"]
    assert jobid == f"{response.json()['cluster']}.0"
    wait_status(rest, jobid, {COMPLETED})
    assert files_of(rest, jobid)["out.txt"] == len(b"hello from REST\n")
    whole = fetch(rest, jobid, "out.txt")
    assert whole.content == b"hello from REST\n" and whole.headers["Accept-Ranges"] == "bytes"
    part = fetch(rest, jobid, "out.txt", headers={"Range": "bytes=6-9"})
    assert (part.status_code, part.content, part.headers["Content-Range"]) == (206, b"from", "bytes 6-9/16")
    assert fetch(rest, jobid, "out.txt", headers={"Range": "bytes=-5"}).content == b"REST\n"
    outside = rest.get(f"jobs/DEFAULT/{jobid.replace('.', '/')}/files/out.txt", headers={"Range": "bytes=99-"})
    assert outside.status_code == 416
    missing = rest.get(f"jobs/DEFAULT/{jobid.replace('.', '/')}/files/nope.txt")
    assert missing.status_code == 404
    # the same job over SOAP
    soap = schedd_client(service.url)
    cluster, proc = map(int, jobid.split("."))
    ad = {i.name: i.value for i in soap.getJobAd(None, cluster, proc).classAd.item}
    assert ad["RestTag"] == tag and ad["JobStatus"] == str(COMPLETED)
    # closeSpool lets it leave the queue for the history
    assert rest.post(f"jobs/DEFAULT/{cluster}/{proc}/close_spool").status_code == 200
    wait_for(lambda: rest.get(f"history/DEFAULT/{cluster}/{proc}").status_code == 200, 120, 0.5, "history")
    assert rest.json(f"history/DEFAULT/{cluster}/{proc}/resttag") == tag


def test_submit_description_and_multipart_files(rest):
    text = ("executable = run.sh\narguments = \"one 'two three'\"\noutput = out.$(Process)\n"
            "transfer_input_files = data.txt\n+RestKind = \"multipart\"\nqueue 2\n")
    script = b"#!/bin/sh\nread line < data.txt\necho \"$line $# $2 $(Process)\"\n".replace(b"$(Process)", b"")
    response = rest.post("jobs/DEFAULT", files={"submit": (None, text), "run.sh": ("run.sh", script),
                                                "data.txt": ("data.txt", b"DATA\n")})
    assert response.status_code == 201, response.text
    jobids = response.json()["jobids"]
    assert len(jobids) == 2
    for proc, jobid in enumerate(jobids):
        wait_status(rest, jobid, {COMPLETED})
        assert fetch(rest, jobid, f"out.{proc}").content == b"DATA 2 two three \n"
        assert rest.json(f"jobs/DEFAULT/{jobid.replace('.', '/')}/restkind") == "multipart"


def test_transaction_with_staged_file(rest, service):
    script = b"#!/bin/sh\necho staged\n"
    txn = rest.post("transactions", json={"duration": 120})
    assert txn.status_code == 201 and txn.json()["duration"] == 120
    base = f"transactions/{txn.json()['id']}"
    cluster = rest.post(f"{base}/clusters").json()["cluster"]
    job = rest.post(f"{base}/clusters/{cluster}/jobs").json()
    assert (job["cluster"], job["proc"], job["jobid"]) == (cluster, 0, f"{cluster}.0")
    md5 = hashlib.md5(script).hexdigest()
    up = rest.put(f"{base}/jobs/{cluster}/0/files/run.sh", data=script, params={"md5": md5})
    assert up.status_code == 201 and up.json() == {"name": "run.sh", "size": len(script), "cached": False}
    # inside the transaction its staged file is listed; outside the job does not exist yet
    staged = rest.json(f"jobs/DEFAULT/{cluster}/0/files", params={"transaction": txn.json()["id"]})
    assert staged == [{"name": "run.sh", "size": len(script)}]
    assert rest.put(f"{base}/jobs/{cluster}/0", json={"cmd": "run.sh", "out": "out"}).status_code == 200
    assert rest.get(f"jobs/DEFAULT/{cluster}/0").status_code == 404
    assert rest.post(f"{base}/extend", json={"duration": 90}).json() == {"id": txn.json()["id"], "duration": 90}
    assert rest.post(f"{base}/commit").json() == {"id": txn.json()["id"], "committed": True}
    wait_status(rest, f"{cluster}.0", {COMPLETED})
    assert fetch(rest, f"{cluster}.0", "out").content == b"staged\n"
    # the transaction is gone
    gone = rest.post(f"{base}/commit")
    assert (gone.status_code, gone.json()["code"]) == (404, "INVALIDTRANSACTION")


def test_abort_and_bad_md5(rest):
    txn = rest.post("transactions", json={}).json()["id"]
    cluster = rest.post(f"transactions/{txn}/clusters").json()["cluster"]
    rest.post(f"transactions/{txn}/clusters/{cluster}/jobs")
    wrong = rest.put(f"transactions/{txn}/jobs/{cluster}/0/files/x", data=b"abc", params={"md5": "0" * 32})
    assert wrong.status_code == 201
    assert rest.put(f"transactions/{txn}/jobs/{cluster}/0", json={"cmd": "x"}).status_code == 200
    refused = rest.post(f"transactions/{txn}/commit")
    assert refused.status_code == 400 and "does not match its MD5" in refused.json()["error"]
    assert rest.delete(f"transactions/{txn}").status_code == 204
    assert rest.delete(f"transactions/{txn}").status_code == 404


def test_hold_release_remove(rest, service):
    tag = uuid.uuid4().hex
    cluster, procs = soap_submit(service.url, service.owner, [string("RestTag", tag)], count=3, hold=False)
    job = f"jobs/DEFAULT/{cluster}/0"
    held = rest.post(f"{job}/hold", json={"reason": "by REST"})
    assert held.status_code == 200 and held.json() == {"jobid": f"{cluster}.0"}
    wait_status(rest, f"{cluster}.0", {HELD})
    assert rest.json(f"{job}/holdreason").startswith("by REST")
    again = rest.post(f"{job}/hold")
    assert (again.status_code, again.json()["error"]) == (400, "Failed to hold job.")
    assert rest.post(f"{job}/release").status_code == 200
    wait_status(rest, f"{cluster}.0", {IDLE, 2})
    # by constraint: every job of the tag, one batch; then release only those held
    bulk = rest.post("jobs/DEFAULT/hold", params={"constraint": f'RestTag == "{tag}"'}, json={"reason": "bulk"})
    assert sorted(bulk.json()["jobids"]) == sorted(f"{cluster}.{p}" for p in procs)
    for proc in procs:
        wait_status(rest, f"{cluster}.{proc}", {HELD})
    again = rest.post("jobs/DEFAULT/hold", json={"constraint": f'RestTag == "{tag}"'}).json()
    assert again["jobids"] == [] and len(again["skipped"]) == 3
    assert rest.post("jobs/DEFAULT/hold", json={"constraint": ""}).status_code == 400
    released = rest.post("jobs/DEFAULT/release", json={"constraint": f'RestTag == "{tag}" && ProcId > 0'}).json()
    assert sorted(released["jobids"]) == [f"{cluster}.1", f"{cluster}.2"]
    wait_status(rest, f"{cluster}.2", {IDLE, 2})
    assert rest.post(f"jobs/DEFAULT/{cluster}/1/hold").status_code == 200
    wait_status(rest, f"{cluster}.1", {HELD})
    # in a transaction: recorded, applied at commit
    txn = rest.post("transactions", json={"duration": 60}).json()["id"]
    assert rest.post(f"jobs/DEFAULT/{cluster}/1/release", params={"transaction": txn}).status_code == 200
    assert status_of(rest, f"{cluster}.1") == HELD
    assert rest.post(f"transactions/{txn}/commit").status_code == 200
    wait_status(rest, f"{cluster}.1", {IDLE, 2})
    assert rest.delete(f"jobs/DEFAULT/{cluster}/1", params={"reason": "one"}).status_code == 200
    wait_for(lambda: rest.get(f"jobs/DEFAULT/{cluster}/1").status_code == 404
             or status_of(rest, f"{cluster}.1") == REMOVED, 60, 0.5, "job 1 removed")
    removed = rest.post("jobs/DEFAULT/remove", params={"constraint": f'RestTag == "{tag}" && ProcId == 2'}).json()
    assert removed["jobids"] == [f"{cluster}.2"]
    assert rest.delete(f"jobs/DEFAULT/{cluster}").status_code == 200
    wait_for(lambda: all(j["classad"]["jobstatus"] == REMOVED for j in rest.json(f"jobs/DEFAULT/{cluster}")),
             60, 0.5, "the cluster removed")


@pytest.mark.parametrize("path, kwargs, code, message", [
    ("jobs/DEFAULT", {"data": "{not json", "headers": {"Content-Type": "application/json"}}, 400, "The job ad"),
    ("jobs/DEFAULT", {"data": "executable = x\nqueue 1 from files\n"}, 400, "Submit description: line 2"),
    ("jobs/DEFAULT", {"data": "executable = $(nope)\nqueue\n"}, 400, "Submit description: line 1: undefined macro"),
    ("jobs/DEFAULT", {"data": "initialdir = /tmp\nqueue\n"}, 400, "Submit description: line 1: initialdir"),
    ("jobs/elsewhere", {"json": {"cmd": "x"}}, 404, "Schedd not found"),
    ("jobs/DEFAULT/999999/0/hold", {}, 400, "Failed to hold job."),
    ("transactions/12345/commit", {}, 404, "Invalid transaction"),
    ("transactions", {"json": {"duration": "long"}}, 400, "duration:"),
    ("jobs/DEFAULT/remove", {"params": {"constraint": "ProcId =="}}, 400, "Invalid constraint"),
])
def test_write_errors(rest, path, kwargs, code, message):
    response = rest.post(path, **kwargs)
    assert response.status_code == code, response.text
    assert response.json()["error"].startswith(message)
