"""JWT bearer tokens from a test issuer (SciTokens / WLCG profile) against the real service
over loopback HTTP: keys over real HTTPS or from a file, every refusal with its audited
reason, the fetch bound, scopes per operation, throttling, and a portal acting for a user."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any, Optional

import jwt
import pytest
import requests

from condor_soap.core.policy import TOKEN_SCOPES
from tests.security.conftest import attrs, submit
from tests.security.issuer import AUDIENCE, hs256_with, issuer_over_https, make_ca, unsigned
from tests.soap.soap import envelope, op

VERSION = envelope(op("getVersionString"))
QUERIES = ("queryStartdAds", "queryScheddAds", "queryMasterAds", "queryAnyAds")
HEADERS = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}


def call(url: str, token: str, headers: Optional[dict] = None) -> requests.Response:
    return requests.post(url, data=VERSION, timeout=30,
                         headers={**HEADERS, "Authorization": f"Bearer {token}", **(headers or {})})


def failures(svc: Any) -> list[str]:
    return [line["reason"] for line in svc.audit() if line["event"] == "auth-failure"]


@pytest.fixture(scope="module")
def ca(tmp_path_factory) -> tuple[Path, Any, Any]:
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def idp(tmp_path, ca):
    """The issuer over HTTPS with one RSA and one EC key published."""
    _, ca_key, ca_cert = ca
    with issuer_over_https(tmp_path, ca_key, ca_cert) as server:
        server.issuer.add_key("RSA")
        server.issuer.add_key("EC")
        yield server


def user_map(tmp_path: Path, issuer_url: str) -> str:
    """SCITOKENS lines in HTCondor's form: ``<iss>,<sub>`` -> user (here: sub is the user)."""
    path = tmp_path / "usermap"
    path.write_text(f"SCITOKENS /^{re.escape(issuer_url)},([a-z]+)$/ \\1\n"
                    f"SCITOKENS /^{re.escape(issuer_url)},7f3e1c-portal-user$/ alice\n")
    return str(path)


@pytest.fixture
def token_service(serve, tmp_path, ca, idp):
    """``token_service(**settings)``: the real app trusting the HTTPS issuer."""
    def start(**settings: Any) -> Any:
        base = {"host": "0.0.0.0", "token_issuers": idp.issuer.url, "token_audiences": AUDIENCE,
                "token_ca_file": str(ca[0]), "cert_map_file": user_map(tmp_path, idp.issuer.url)}
        return serve(**{**base, **settings})

    return start


def test_valid_rs256_and_es256_tokens_act_as_the_mapped_user(token_service, idp):
    svc = token_service()
    rsa_kid, ec_kid = idp.issuer.published
    for kid in (rsa_kid, ec_kid):
        answer = call(svc.url, idp.issuer.token("alice", kid=kid))
        assert answer.status_code == 200 and "SUCCESS" in answer.text, answer.text
    # the subject through the map: a portal's opaque subject id mapped to alice
    proxy = svc.client(token=idp.issuer.token("7f3e1c-portal-user", "compute.create compute.read"))
    _, cluster, proc = submit(proxy)
    assert attrs(proxy.getJobAd(None, cluster, proc).classAd)["Owner"] == "alice"
    calls = [line for line in svc.audit() if line["event"] == "call"]
    assert {(line["user"], line["auth"]) for line in calls} == {("alice", "scitoken")}
    assert idp.hits == {"/realms/test/.well-known/openid-configuration": 1,
                        "/realms/test/protocol/openid-connect/certs": 1}  # fetched once, cached


def test_every_refusal_is_401_with_its_reason_and_never_the_token(token_service, idp, tmp_path):
    svc = token_service(token_leeway=5, max_auth_failures=0)
    issuer = idp.issuer
    rsa_kid = issuer.published[0]
    good = issuer.token("alice")
    header_b64, payload_b64, signature = good.split(".")
    claims = issuer.claims("bob")
    stranger = make_other_issuer_token(issuer, tmp_path)
    unpublished = issuer.add_key("RSA", publish=False)
    forged = {
        "expired": issuer.token("alice", exp=int(time.time()) - 60),
        "not yet valid": issuer.token("alice", nbf=int(time.time()) + 600),
        "issued in the future": issuer.token("alice", iat=int(time.time()) + 600),
        "wrong audience": issuer.token("alice", aud="https://other-service.example"),
        "no audience": issuer.token("alice", aud=None),
        "no expiry": issuer.token("alice", exp=None),
        "untrusted issuer": stranger,
        "unknown key": issuer.token("alice", kid=unpublished),
        "another key under a published kid": issuer.token("alice", kid=unpublished, header_kid=rsa_kid),
        "tampered payload": f"{header_b64}.{unsigned({}, claims).split('.')[1]}.{signature}",
        "alg none": unsigned({"alg": "none", "kid": rsa_kid}, claims) + ".",
        "HS256 keyed with the public key": hs256_with(issuer.public_pem(rsa_kid),
                                                      {"alg": "HS256", "kid": rsa_kid, "typ": "JWT"}, claims),
        "RS512": jwt.encode(claims, issuer.private[rsa_kid], algorithm="RS512", headers={"kid": rsa_kid}),
        "no kid": jwt.encode(claims, issuer.private[rsa_kid], algorithm="RS256"),
        "garbage": "not.a.jwt",
        "unmapped subject": issuer.token("Mallory Q"),
    }
    for name, token in forged.items():
        answer = call(svc.url, token)
        assert answer.status_code == 401, (name, answer.status_code, answer.text)
        assert 'Bearer realm="condor-soap", error="invalid_token"' in answer.headers["WWW-Authenticate"]
    assert call(svc.url, good).status_code == 200
    reasons = failures(svc)
    assert reasons == [
        "token expired", "token not yet valid", "token not yet valid", "token audience not accepted",
        'token lacks a required claim (Token is missing the "aud" claim)',
        'token lacks a required claim (Token is missing the "exp" claim)',
        "token issuer not trusted: 'https://stranger.example'",
        f"token signing key unknown: {unpublished!r}", "token signature invalid", "token signature invalid",
        "token algorithm not allowed: 'none'", "token algorithm not allowed: 'HS256'",
        "token algorithm not allowed: 'RS512'", "token names no signing key (kid)", "malformed token",
        "token subject not mapped (no SCITOKENS line of the user map matches)"]
    lines = [line for line in svc.audit() if line["event"] == "auth-failure"]
    # a good signature names who the refused token was for; a bad one names nobody
    assert [line["user"] for line in lines[:3]] == [f"{issuer.url},alice"] * 3
    assert all(line["user"] is None for line in lines[6:15])
    assert lines[15]["user"] == f"{issuer.url},Mallory Q"
    text = Path(svc.config.audit_log).read_text()
    for token in (*forged.values(), good):
        if len(token) > 100:  # not the "garbage" one
            assert token not in text and token.split(".")[1][:40] not in text


def make_other_issuer_token(issuer: Any, tmp_path: Path) -> str:
    """A well-signed token from an issuer the service does not trust."""
    from tests.security.issuer import Issuer

    other = Issuer("https://stranger.example")
    other.add_key("RSA")
    return other.token("alice")


def test_jwks_from_a_file_reread_when_it_changes(serve, tmp_path, idp):
    issuer = idp.issuer
    jwks = tmp_path / "issuer.jwks"
    jwks.write_text(json.dumps(issuer.jwks()))
    svc = serve(host="0.0.0.0", token_issuers=f"{issuer.url}={jwks}", token_audiences=AUDIENCE,
                cert_map_file=user_map(tmp_path, issuer.url))
    assert call(svc.url, issuer.token("alice")).status_code == 200
    rotated = issuer.add_key("EC", publish=False)
    assert call(svc.url, issuer.token("alice", kid=rotated)).status_code == 401
    issuer.published = [rotated]  # rotation: the old key withdrawn, the new one published
    jwks.write_text(json.dumps(issuer.jwks()))
    assert call(svc.url, issuer.token("alice", kid=rotated)).status_code == 200
    assert call(svc.url, issuer.token("alice")).status_code == 401
    assert idp.hits == {}  # a file issuer is never fetched


def test_unknown_key_ids_cannot_make_the_service_hammer_the_issuer(token_service, idp):
    svc = token_service(token_jwks_min_interval=3600, max_auth_failures=0)
    assert call(svc.url, idp.issuer.token("alice")).status_code == 200
    for n in range(30):
        assert call(svc.url, idp.issuer.token("alice", header_kid=f"forged-{n}")).status_code == 401
    assert idp.jwks_fetches == 1
    # a key the issuer really rotated in is not fetched either before the interval: bounded
    rotated = idp.issuer.add_key("RSA")
    assert call(svc.url, idp.issuer.token("alice", kid=rotated)).status_code == 401
    assert idp.jwks_fetches == 1


def test_rotation_and_revocation_after_the_interval_and_refresh(token_service, idp):
    svc = token_service(token_jwks_min_interval=1, token_jwks_refresh=2)
    old = idp.issuer.published[0]
    assert call(svc.url, idp.issuer.token("alice", kid=old)).status_code == 200
    new = idp.issuer.add_key("EC")
    time.sleep(1.1)  # past the minimum interval: an unknown kid fetches once
    assert call(svc.url, idp.issuer.token("alice", kid=new)).status_code == 200
    assert idp.jwks_fetches == 2
    idp.issuer.published.remove(old)  # revoked at the issuer
    assert call(svc.url, idp.issuer.token("alice", kid=old)).status_code == 200  # still cached
    time.sleep(2.1)  # past the refresh interval: keys refetched, the revoked one gone
    assert call(svc.url, idp.issuer.token("alice", kid=old)).status_code == 401
    assert call(svc.url, idp.issuer.token("alice", kid=new)).status_code == 200
    assert idp.jwks_fetches == 3


def test_issuer_keys_only_over_https_from_a_trusted_ca(serve, tmp_path, idp):
    # the system's CAs do not know the test CA: the keys cannot be fetched, the token is refused
    svc = serve(host="0.0.0.0", token_issuers=idp.issuer.url, token_audiences=AUDIENCE,
                cert_map_file=user_map(tmp_path, idp.issuer.url))
    assert call(svc.url, idp.issuer.token("alice")).status_code == 401
    assert failures(svc) == [f"token signing key unknown: {idp.issuer.published[0]!r}"]
    assert idp.jwks_fetches == 0
    with pytest.raises(ValueError, match="fetched over HTTPS only"):
        serve(token_issuers="http://idp.example", token_audiences=AUDIENCE)
    with pytest.raises(ValueError, match="needs token_audiences"):
        serve(token_issuers=idp.issuer.url)


def test_user_claim_setting(token_service, idp):
    svc = token_service(token_user_claim="preferred_username")
    assert call(svc.url, idp.issuer.token("0b1c-uuid", preferred_username="bob")).status_code == 200
    assert call(svc.url, idp.issuer.token("bob")).status_code == 401  # no preferred_username
    assert failures(svc) == ['token lacks a required claim (Token is missing the "preferred_username" claim)']


# -- scopes ------------------------------------------------------------------------------------

def denied(answer: Any) -> bool:
    """A refused operation: its Status says so; a query (no Status) answers nothing."""
    if hasattr(answer, "message"):
        return answer.message == "Permission denied"
    return not answer  # the local backend always has startd, schedd and master ads


def soap_calls(proxy: Any, collector: Any) -> dict[str, Any]:
    """Every operation, called with arguments that reach the core (whatever it then says).
    querySubmittorAds, queryLicenseAds and queryStorageAds may be empty even when allowed:
    only the other queries tell a refusal."""
    return {
        **{name: (lambda name=name: getattr(collector, name)(None))
           for name in ("queryStartdAds", "queryScheddAds", "queryMasterAds", "queryAnyAds")},
        "getVersionString": lambda: proxy.getVersionString().status,
        "getPlatformString": lambda: proxy.getPlatformString().status,
        "getJobAds": lambda: proxy.getJobAds(None, None).status,
        "getJobAd": lambda: proxy.getJobAd(None, 99, 0).status,
        "getFile": lambda: proxy.getFile(None, 99, 0, "x", 0, 1).status,
        "listSpool": lambda: proxy.listSpool(None, 99, 0).status,
        "createJobTemplate": lambda: proxy.createJobTemplate(1, 0, None, "VANILLA", "x", None, None).status,
        "discoverJobRequirements": lambda: proxy.discoverJobRequirements({"item": []}).status,
        "beginTransaction": lambda: proxy.beginTransaction(60).status,
        "commitTransaction": lambda: proxy.commitTransaction({"id": 7, "duration": 60}),
        "abortTransaction": lambda: proxy.abortTransaction({"id": 7, "duration": 60}),
        "extendTransaction": lambda: proxy.extendTransaction({"id": 7, "duration": 60}, 60).status,
        "newCluster": lambda: proxy.newCluster({"id": 7, "duration": 60}).status,
        "newJob": lambda: proxy.newJob({"id": 7, "duration": 60}, 99).status,
        "submit": lambda: proxy.submit({"id": 7, "duration": 60}, 99, 0, {"item": []}).status,
        "declareFile": lambda: proxy.declareFile({"id": 7, "duration": 60}, 99, 0, "x", 1, "NOHASH", None),
        "sendFile": lambda: proxy.sendFile({"id": 7, "duration": 60}, 99, 0, "x", 0, b"x"),
        "holdJob": lambda: proxy.holdJob(None, 99, 0, "why", False, False, False),
        "releaseJob": lambda: proxy.releaseJob(None, 99, 0, "why", False, False),
        "removeJob": lambda: proxy.removeJob(None, 99, 0, "why", False),
        "removeCluster": lambda: proxy.removeCluster(None, 99, "why"),
        "closeSpool": lambda: proxy.closeSpool(None, 99, 0),
        "requestReschedule": lambda: proxy.requestReschedule(),
        "insertAd": lambda: collector.insertAd("GENERIC-AD-TYPE", {"item": [
            {"name": "MyType", "type": "STRING-ATTR", "value": "Generic"},
            {"name": "Name", "type": "STRING-ATTR", "value": "token-test"}]}),
    }


SCOPE_CASES = {
    "compute.read": {*QUERIES, "getVersionString", "getPlatformString", "getJobAds", "getJobAd", "getFile", "listSpool",
                     "createJobTemplate", "discoverJobRequirements"},
    "compute.create": {"getVersionString", "getPlatformString", "createJobTemplate", "discoverJobRequirements",
                       "beginTransaction", "commitTransaction", "abortTransaction", "extendTransaction",
                       "newCluster", "newJob", "submit", "declareFile", "sendFile", "requestReschedule"},
    "compute.modify": {"getVersionString", "getPlatformString", "beginTransaction", "commitTransaction",
                       "abortTransaction", "extendTransaction", "holdJob", "releaseJob", "closeSpool",
                       "requestReschedule"},
    "compute.cancel": {"getVersionString", "getPlatformString", "beginTransaction", "commitTransaction",
                       "abortTransaction", "extendTransaction", "removeJob", "removeCluster"},
    "condor:/READ": {*QUERIES, "getVersionString", "getPlatformString", "getJobAds", "getJobAd", "getFile", "listSpool",
                     "createJobTemplate", "discoverJobRequirements"},
    "storage.read:/ openid": set(),
}
SCOPE_CASES["condor:/WRITE"] = set(TOKEN_SCOPES)  # WRITE implies READ


def test_the_scope_table_names_every_operation_of_both_wsdls():
    from condor_soap.soap.application import SERVICES

    operations = {name for service in SERVICES for name in service.public_methods}
    assert len(operations) == 31
    # and the REST face's own reads (its other routes are SOAP operations)
    assert set(TOKEN_SCOPES) == operations | {"getJobHistory", "watchJobs", "getConfig", "getOpenApi"}


@pytest.mark.parametrize("scope", list(SCOPE_CASES))
def test_scopes_limit_each_operation(token_service, idp, scope):
    svc = token_service()
    token = idp.issuer.token("alice", scope)
    calls = soap_calls(svc.client(token=token), svc.client(token=token, service="condorCollector"))
    refused = {name for name, run in calls.items() if denied(run())}
    assert refused == set(calls) - SCOPE_CASES[scope]


def test_a_token_without_scope_may_do_nothing(token_service, idp):
    svc = token_service()
    proxy = svc.client(token=idp.issuer.token("alice", None))
    assert proxy.getVersionString().status.message == "Permission denied"
    assert proxy.getJobAds(None, None).status.message == "Permission denied"


def test_scope_is_on_top_of_the_users_permissions(token_service, idp):
    svc = token_service(deny_write="alice@*")
    proxy = svc.client(token=idp.issuer.token("alice", "compute.create compute.read"))
    assert proxy.beginTransaction(60).status.message == "Permission denied"  # the scope alone is not enough
    assert proxy.getJobAds(None, None).status.code == "SUCCESS"
    audited = [(l["operation"], l["auth"], l["message"]) for l in svc.audit() if l["event"] == "call"]
    assert audited == [("beginTransaction", "scitoken", "Permission denied")]


# -- throttling --------------------------------------------------------------------------------

def test_refused_tokens_count_as_failed_logins(token_service, idp):
    svc = token_service(trusted_proxies="127.0.0.1", max_auth_failures=3, auth_failure_window=600)
    guesser = {"X-Forwarded-For": "203.0.113.77"}
    for _ in range(3):
        assert call(svc.url, idp.issuer.token("alice", exp=int(time.time()) - 3600), guesser).status_code == 401
    throttled = call(svc.url, idp.issuer.token("alice", aud="https://elsewhere"), guesser)
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    # a valid token is checked even from the throttled address (no scrypt, cannot be guessed)
    assert call(svc.url, idp.issuer.token("alice"), guesser).status_code == 200
    assert call(svc.url, idp.issuer.token("alice"), {"X-Forwarded-For": "198.51.100.7"}).status_code == 200
    assert [(l["source"], l["reason"]) for l in svc.audit() if l["event"] == "auth-failure"] == \
        [("203.0.113.77", "token expired")] * 3 + [("203.0.113.77", "too many failed logins")]


# -- a portal acting for its users -------------------------------------------------------------

def test_portal_submits_for_alice_and_cannot_touch_bobs_job(token_service, idp):
    """A portal holds each signed-in user's access token (from the identity provider, by the
    authorization-code flow) and calls the service with it: the job is the user's."""
    svc = token_service()
    _, bob_cluster, bob_proc = submit(svc.client("bob"))  # bob, with his password
    portal = svc.client(token=idp.issuer.token(
        "alice", "compute.read compute.create compute.modify compute.cancel"))
    _, cluster, proc = submit(portal)
    assert attrs(portal.getJobAd(None, cluster, proc).classAd)["Owner"] == "alice"
    owners = {attrs(ad)["Owner"] for ad in portal.getJobAds(None, None).classAdArray.item}
    assert owners == {"alice"}
    assert portal.getJobAd(None, bob_cluster, bob_proc).status.message == "Not job owner"
    assert portal.holdJob(None, bob_cluster, bob_proc, "mine", False, False, False).message == "Not job owner"
    assert portal.removeJob(None, bob_cluster, bob_proc, "mine", False).message == "Not job owner"
    assert portal.removeCluster(None, bob_cluster, "mine").message == "Not cluster owner"
    txn = portal.beginTransaction(60).transaction
    cluster2 = portal.newCluster(txn).integer
    ad = portal.createJobTemplate(cluster2, 0, "bob", "VANILLA", "/bin/true", None, None).classAd
    portal.newJob(txn, cluster2)
    items = [{"name": i.name, "type": i.type, "value": i.value or ""} for i in ad.item]
    assert portal.submit(txn, cluster2, 0, {"item": items}).status.message == \
        "Owner 'bob' is not the authenticated user 'alice'"
    assert portal.removeJob(None, cluster, proc, "done", False).code == "SUCCESS"
    assert svc.client("bob").getJobAd(None, bob_cluster, bob_proc).status.code == "SUCCESS"
