"""The REST face shares identity, authorization, ownership and audit with the SOAP face."""
from __future__ import annotations

import requests

from tests.security.conftest import PASSWORDS, submit


def rest(svc, user=None) -> requests.Session:
    session = requests.Session()
    if user:
        session.auth = (user, PASSWORDS[user])
    return session


def test_rest_needs_a_caller_like_soap(serve):
    svc = serve(host="0.0.0.0")  # not loopback: no anonymous calls
    anonymous = requests.get(svc.url + "v1/jobs/DEFAULT", timeout=30)
    assert anonymous.status_code == 401 and "Basic" in anonymous.headers["WWW-Authenticate"]
    assert requests.get(svc.url + "v1/jobs/DEFAULT", auth=("alice", "wrong"), timeout=30).status_code == 401
    assert rest(svc, "alice").get(svc.url + "v1/jobs/DEFAULT", timeout=30).status_code == 200
    # a CORS preflight carries no credentials and needs none
    assert requests.options(svc.url + "v1/jobs/DEFAULT", timeout=30).status_code == 200


def test_owners_see_and_act_on_their_own_jobs(serve):
    svc = serve(host="0.0.0.0", admins="root-admin")
    _, bobs, _ = submit(svc.client("bob"))
    alice = rest(svc, "alice")
    made = alice.post(svc.url + "v1/jobs/DEFAULT", json={"cmd": "/bin/sleep", "arguments": "600",
                                                         "Owner": "alice"}, timeout=60)
    assert made.status_code == 201, made.text
    mine = made.json()["cluster"]
    seen = {j["classad"]["owner"] for j in alice.get(svc.url + "v1/jobs/DEFAULT", timeout=30).json()}
    assert seen == {"alice"}
    assert alice.get(svc.url + f"v1/jobs/DEFAULT/{bobs}/0", timeout=30).status_code == 404
    denied = alice.post(svc.url + f"v1/jobs/DEFAULT/{bobs}/0/hold", timeout=30)
    assert (denied.status_code, denied.json()["error"]) == (403, "Not job owner")
    bulk = alice.post(svc.url + "v1/jobs/DEFAULT/hold", params={"constraint": "true"}, timeout=30).json()
    assert bulk["jobids"] == [f"{mine}.0"]
    as_bob = alice.post(svc.url + "v1/jobs/DEFAULT", json={"cmd": "/bin/true", "Owner": "bob"}, timeout=30)
    assert as_bob.status_code == 403
    admin = rest(svc, "root-admin")
    assert {j["classad"]["owner"] for j in admin.get(svc.url + "v1/jobs/DEFAULT", timeout=30).json()} == {"alice", "bob"}


def test_rest_writes_are_audited(serve):
    svc = serve(host="0.0.0.0")
    alice = rest(svc, "alice")
    assert alice.post(svc.url + "v1/jobs/DEFAULT", json={"cmd": "/bin/true"}, timeout=60).status_code == 201
    assert alice.get(svc.url + "v1/jobs/DEFAULT", timeout=30).status_code == 200  # READ: not audited
    assert alice.post(svc.url + "v1/jobs/DEFAULT/999/0/hold", timeout=30).status_code == 400
    lines = [l for l in svc.audit() if l["event"] == "call"]
    assert [(l["face"], l["operation"], l["outcome"]) for l in lines] == [
        ("rest", "submit", "SUCCESS"), ("rest", "holdJob", "FAIL")]
    assert lines[0]["user"] == "alice" and lines[0]["cluster"] and lines[0]["transaction"]
    assert (lines[1]["cluster"], lines[1]["job"], lines[1]["message"]) == (999, 0, "Failed to hold job.")
