"""Limits with their exact messages, redaction, the audit log and the credential commands."""
from __future__ import annotations

import subprocess
import sys

import requests

from condor_soap.auth import credentials as cred
from tests.security.conftest import SLEEPER, attrs, submit


def new_job(proxy):
    txn = proxy.beginTransaction(60).transaction
    cluster = proxy.newCluster(txn).integer
    return txn, cluster, proxy.newJob(txn, cluster).integer


def test_file_limits(serve):
    svc = serve(host="0.0.0.0", max_file_bytes=100, max_job_bytes=150, max_transaction_bytes=200)
    alice = svc.client("alice")
    txn, cluster, proc = new_job(alice)
    big = alice.declareFile(txn, cluster, proc, "big", 101, "NOHASH", None)
    assert (big.code, big.message) == (
        "FAIL", "File 'big' of 101 bytes exceeds the limit of 100 bytes per file (max_file_bytes)")
    assert alice.declareFile(txn, cluster, proc, "a", 100, "NOHASH", None).code == "SUCCESS"
    per_job = alice.declareFile(txn, cluster, proc, "b", 51, "NOHASH", None)
    assert per_job.message == ("File 'b' brings the job's files to 151 bytes, over the limit of "
                               "150 bytes per job (max_job_bytes)")
    proc2 = alice.newJob(txn, cluster).integer
    assert alice.declareFile(txn, cluster, proc2, "c", 100, "NOHASH", None).code == "SUCCESS"
    per_txn = alice.declareFile(txn, cluster, proc2, "d", 1, "NOHASH", None)
    assert per_txn.message == ("File 'd' brings the transaction's files to 201 bytes, over the limit of "
                               "200 bytes per transaction (max_transaction_bytes)")
    # sendFile cannot go past the declared size (the declared size is what the limits count)
    past = alice.sendFile(txn, cluster, proc, "a", 50, b"x" * 51)
    assert past.code == "FAIL" and "past its declared size of 100 bytes" in past.message


def test_jobs_per_query(serve):
    svc = serve(host="0.0.0.0", max_jobs_per_query=1, admins="root-admin")
    alice, admin = svc.client("alice"), svc.client("root-admin")
    _, first, _ = submit(alice)
    assert len(alice.getJobAds(None, None).classAdArray.item) == 1
    submit(alice)
    over = alice.getJobAds(None, None).status
    assert (over.code, over.message) == (
        "FAIL", "Query matched 2 jobs; at most 1 may be returned (max_jobs_per_query): narrow the constraint")
    assert len(alice.getJobAds(None, f"ClusterId == {first}").classAdArray.item) == 1
    assert admin.getJobAds(None, None).status.code == "FAIL"


def test_runaway_constraint_is_a_clear_fail_and_the_service_goes_on(serve):
    import time

    from tests.core.test_constraints import CATASTROPHIC

    svc = serve(host="0.0.0.0", constraint_time_limit=1)
    alice = svc.client("alice")
    _, cluster, _ = submit(alice)
    # the job's own attribute is a string the regexp backtracks on
    constraint = CATASTROPHIC.replace("S)", "strcat(Cmd, \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\"))")
    start = time.monotonic()
    slow = alice.getJobAds(None, constraint).status
    assert time.monotonic() - start < 5
    assert (slow.code, slow.message) == (
        "FAIL", "The constraint took longer than 1 s to evaluate (constraint_time_limit): simplify it")
    assert len(alice.getJobAds(None, f"ClusterId == {cluster}").classAdArray.item) == 1
    # query*Ads have no Status: like any failed collector query (spec 4.4), the answer is empty
    collector = svc.client("alice", service="condorCollector")
    start = time.monotonic()
    assert not collector.queryScheddAds(constraint.replace("Cmd", "Name"))
    assert time.monotonic() - start < 5
    assert collector.queryScheddAds("true")  # and the next query is served
    assert len(alice.getJobAds(None, None).classAdArray.item) == 1


def test_redaction(serve):
    svc = serve(host="0.0.0.0", hide_job_attrs="Cmd, environment", admins="root-admin")
    alice = svc.client("alice")
    _, cluster, proc = submit(alice)
    items = {i.name: (i.type, i.value) for i in alice.getJobAd(None, cluster, proc).classAd.item}
    assert items["Cmd"] == ("STRING-ATTR", "<REDACTED>")
    listed = {i.name: i.value for i in alice.getJobAds(None, None).classAdArray.item[0].item}
    assert listed["Cmd"] == "<REDACTED>"
    assert attrs(svc.client("root-admin").getJobAd(None, cluster, proc).classAd)["Cmd"] == "sleeper.sh"


def test_private_attributes_never_shown(serve):
    svc = serve()
    anonymous = svc.client()
    txn, cluster, proc = new_job(anonymous)
    ad = {"item": [{"name": "ClaimId", "type": "STRING-ATTR", "value": "secret"},
                   {"name": "TransferKey", "type": "STRING-ATTR", "value": "secret"},
                   {"name": "Owner", "type": "STRING-ATTR", "value": "x"}]}
    assert anonymous.submit(txn, cluster, proc, ad).status.code == "SUCCESS"
    names = {i.name.lower() for i in anonymous.getJobAd(txn, cluster, proc).classAd.item}
    assert "owner" in names and not names & {"claimid", "transferkey"}


def test_audit_lines_for_writes(serve):
    svc = serve(host="0.0.0.0")
    alice = svc.client("alice")
    txn, cluster, proc = submit(alice)
    alice.getJobAds(None, None)  # READ: not audited
    assert alice.holdJob(None, 999, 0, "none", False, False, False).code == "FAIL"
    lines = [l for l in svc.audit() if l["event"] == "call"]
    assert [l["operation"] for l in lines] == ["beginTransaction", "newCluster", "newJob", "declareFile",
                                               "sendFile", "submit", "commitTransaction", "holdJob"]
    assert {l["user"] for l in lines} == {"alice"} and {l["source"] for l in lines} == {"127.0.0.1"}
    assert {l["transaction"] for l in lines[:7]} == {txn.id}
    assert lines[1]["cluster"] == cluster and lines[2]["job"] == proc
    sent = lines[4]
    assert (sent["file"], sent["bytes"], sent["outcome"]) == ("sleeper.sh", len(SLEEPER), "SUCCESS")
    assert (lines[-1]["outcome"], lines[-1]["cluster"], lines[-1]["message"]) == ("FAIL", 999, "Failed to hold job.")
    assert all(l["auth"] == "basic" and l["time"] for l in lines)


def test_audit_never_blocks(serve, tmp_path):
    svc = serve(host="0.0.0.0", audit_log=str(tmp_path / "missing-dir" / "audit.log"))
    assert svc.client("alice").beginTransaction(60).status.code == "SUCCESS"
    assert requests.post(svc.url, data=b"", timeout=30).status_code == 401


def run_cli(*args, stdin=""):
    return subprocess.run([sys.executable, "-m", "condor_soap", *args], input=stdin, capture_output=True,
                          text=True, timeout=60)


def test_passwd_and_token_commands(tmp_path, serve):
    passwd, tokens = tmp_path / "passwd", tmp_path / "tokens"
    assert run_cli("passwd", str(passwd), "gina", "--password-stdin", stdin="s3cret\n").returncode == 0
    assert oct(passwd.stat().st_mode & 0o777) == "0o600"
    assert "s3cret" not in passwd.read_text() and passwd.read_text().startswith("gina:scrypt$")
    made = run_cli("token", str(tokens), "gina")
    token = made.stdout.strip()
    assert made.returncode == 0 and len(token) >= 40 and token not in tokens.read_text()
    assert cred.TokenFile(str(tokens)).user(token) == "gina"
    svc = serve(host="0.0.0.0", password_file=str(passwd), token_file=str(tokens))
    assert svc.client("gina", "s3cret").beginTransaction(60).status.code == "SUCCESS"
    assert svc.client(token=token).beginTransaction(60).status.code == "SUCCESS"
    assert run_cli("passwd", str(passwd), "gina", "--delete").returncode == 0
    assert run_cli("passwd", str(passwd), "gina", "--delete").returncode == 1
    assert requests.post(svc.url, data=b"", auth=("gina", "s3cret"), timeout=30).status_code == 401
    assert run_cli("passwd", str(passwd), "bad:name", "--password-stdin", stdin="x\n").returncode == 2
    assert run_cli("passwd", str(passwd), "hank", "--password-stdin", stdin="\n").returncode == 1


def test_password_hashes():
    stored = cred.hash_password("pw")
    assert cred.verify_password("pw", stored) and not cred.verify_password("pW", stored)
    assert stored != cred.hash_password("pw")  # salted
    assert not cred.verify_password("pw", "md5$whatever")
