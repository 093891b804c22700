"""The REST face shares identity, authorization, ownership and audit with the SOAP face."""
from __future__ import annotations

import requests

from tests.security.conftest import PASSWORDS, submit
from tests.security.test_tokens import ca, idp, token_service  # noqa: F401 (fixtures)


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


def test_a_token_submits_watches_and_fetches_over_rest_with_only_its_scopes(token_service, idp):
    """The issue's "done when": a test issuer's token, scoped compute.create + compute.read,
    submits, watches and fetches a job over REST; the job is the same over SOAP; what the
    token's scopes do not grant (closeSpool: compute.modify) is refused."""
    import json

    svc = token_service()
    token = idp.issuer.token("alice", "compute.create compute.read")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    v1 = svc.url + "v1/"
    with session.get(v1 + "jobs/watch", params={"constraint": 'RestTag == "tok"'}, stream=True, timeout=60) as watch:
        assert watch.status_code == 200
        lines = watch.iter_lines(decode_unicode=True)
        assert "event: reset" in [next(lines) for _ in range(5)]
        made = session.post(v1 + "jobs/DEFAULT", json={"cmd": "/bin/echo", "arguments": "scoped",
                                                       "out": "out.txt", "RestTag": "tok"}, timeout=60)
        assert made.status_code == 201, made.text
        jobid = made.json()["jobids"][0]
        done = None
        for line in lines:
            if line.startswith("data: ") and f'"{jobid}"' in line:
                if json.loads(line[6:])["classad"]["jobstatus"] == 4:
                    done = line
                    break
        assert done, "the watch saw the job complete"
    cluster, proc = jobid.split(".")
    assert session.get(v1 + f"jobs/DEFAULT/{cluster}/{proc}/files/out.txt", timeout=30).content == b"scoped\n"
    assert session.get(v1 + f"jobs/DEFAULT/{cluster}/{proc}/owner", timeout=30).json() == "alice"
    refused = session.post(v1 + f"jobs/DEFAULT/{cluster}/{proc}/close_spool", timeout=30)
    assert (refused.status_code, refused.json()["error"]) == (403, "Permission denied")
    soap = svc.client(token=token)
    ad = {i.name: i.value for i in soap.getJobAd(None, int(cluster), int(proc)).classAd.item}
    assert ad["RestTag"] == "tok" and ad["Owner"] == "alice"
    reader = requests.Session()
    reader.headers["Authorization"] = f"Bearer {idp.issuer.token('alice', 'compute.read')}"
    assert reader.post(v1 + "jobs/DEFAULT", json={"cmd": "/bin/true"}, timeout=30).status_code == 403
    assert reader.get(v1 + "config", timeout=30).status_code == 403  # condor:/READ, not a compute scope
