"""HTCondor IDTOKENs made by the real ``condor_token_create`` of the project's pool, verified
with the pool's own signing key (read only): the right user, the right scopes; a token
signed with any other key is refused."""
from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import jwt
import pytest
import requests

from condor_soap.auth.idtokens import signing_key
from condor_soap.config import Config
from tests.security.conftest import attrs, submit
from tests.security.issuer import AUDIENCE
from tests.soap.soap import envelope, op

pytestmark = pytest.mark.real_pool

VERSION = envelope(op("getVersionString"))


@pytest.fixture(scope="module")
def pool_keys(real_pool) -> dict:
    """Where the pool's signing keys are (seen from outside its root) and its domains."""
    directory = real_pool.root / "etc" / "condor" / "passwords.d"
    assert (directory / "POOL").is_file(), f"the pool has no signing key in {directory}"
    value = lambda knob: real_pool.run("condor_config_val", knob).strip()  # noqa: E731
    return {"directory": str(directory), "trust_domain": value("TRUST_DOMAIN"), "uid_domain": value("UID_DOMAIN")}


def condor_token_create(pool, identity: str, *options: str) -> str:
    return pool.run("condor_token_create", "-identity", identity, *options).strip()


@pytest.fixture
def idtoken_service(serve, pool_keys, tmp_path):
    def start(**settings):
        usermap = tmp_path / "usermap"
        usermap.write_text("IDTOKENS /^carol@partner\\.example$/ bob\n")
        # token_audiences too: a service taking SciTokens as well still takes IDTOKENs (no aud)
        return serve(**{"host": "0.0.0.0", "sec_password_directory": pool_keys["directory"],
                        "trust_domain": pool_keys["trust_domain"], "cert_map_file": str(usermap),
                        "token_audiences": AUDIENCE, **settings})

    return start


def call(url: str, token: str) -> requests.Response:
    return requests.post(url, data=VERSION, timeout=30, headers={
        "Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""', "Authorization": f"Bearer {token}"})


def test_condor_token_create_tokens_act_for_their_user_with_their_scopes(real_pool, pool_keys, idtoken_service):
    svc = idtoken_service()
    domain = pool_keys["uid_domain"]
    # no -authz: the identity's own permissions, unlimited by scope (as in HTCondor)
    alice = svc.client(token=condor_token_create(real_pool, f"alice@{domain}"))
    _, cluster, proc = submit(alice)
    assert attrs(alice.getJobAd(None, cluster, proc).classAd)["Owner"] == "alice"
    # -authz READ: reads only
    reader = svc.client(token=condor_token_create(real_pool, f"alice@{domain}", "-authz", "READ", "-lifetime", "600"))
    assert reader.getJobAd(None, cluster, proc).status.code == "SUCCESS"
    assert reader.beginTransaction(60).status.message == "Permission denied"
    assert reader.removeJob(None, cluster, proc, "no", False).message == "Permission denied"
    # -authz WRITE implies READ, as HTCondor's levels do
    writer = svc.client(token=condor_token_create(real_pool, f"alice@{domain}", "-authz", "WRITE"))
    assert writer.getJobAds(None, None).status.code == "SUCCESS"
    assert writer.removeJob(None, cluster, proc, "done", False).code == "SUCCESS"
    # a map line: a subject of another domain mapped to a local user
    carol = svc.client(token=condor_token_create(real_pool, "carol@partner.example"))
    _, cluster, proc = submit(carol)
    assert attrs(carol.getJobAd(None, cluster, proc).classAd)["Owner"] == "bob"
    calls = {(line["user"], line["auth"]) for line in svc.audit() if line["event"] == "call"}
    assert calls == {("alice", "idtoken"), ("bob", "idtoken")}


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the HS512 forgery
def test_expired_and_foreign_idtokens_are_refused(real_pool, pool_keys, idtoken_service, tmp_path):
    svc = idtoken_service(token_leeway=0, max_auth_failures=0)
    domain, trust_domain = pool_keys["uid_domain"], pool_keys["trust_domain"]
    short = condor_token_create(real_pool, f"alice@{domain}", "-lifetime", "5")
    assert call(svc.url, short).status_code == 200
    # another key: a POOL key of a pool that is not this one
    other = tmp_path / "other-keys"
    other.mkdir()
    (other / "POOL").write_bytes(os.urandom(64))
    now = int(time.time())
    claims = {"iss": trust_domain, "sub": f"alice@{domain}", "iat": now, "jti": uuid.uuid4().hex}
    forged = jwt.encode(claims, signing_key((other / "POOL").read_bytes(), "POOL"), algorithm="HS256",
                        headers={"kid": "POOL"})
    real_key = signing_key((Path(pool_keys["directory"]) / "POOL").read_bytes(), "POOL")
    refused = {
        "another key": forged,
        "a key name that is a path": jwt.encode(claims, real_key, algorithm="HS256",
                                                headers={"kid": "../../../../etc/passwd"}),
        "a key the pool lacks": jwt.encode(claims, real_key, algorithm="HS256", headers={"kid": "NOSUCHKEY"}),
        "another trust domain": jwt.encode({**claims, "iss": "other.example"}, real_key, algorithm="HS256",
                                           headers={"kid": "POOL"}),
        "HS512": jwt.encode(claims, real_key, algorithm="HS512", headers={"kid": "POOL"}),
        "another audience": jwt.encode({**claims, "aud": "https://other.example"}, real_key, algorithm="HS256",
                                       headers={"kid": "POOL"}),
    }
    for name, token in refused.items():
        assert call(svc.url, token).status_code == 401, name
    # the pool key itself, used the way the test did, is the one condor_token_create signs with
    assert call(svc.url, jwt.encode(claims, real_key, algorithm="HS256", headers={"kid": "POOL"})).status_code == 200
    assert call(svc.url, jwt.encode({**claims, "aud": AUDIENCE}, real_key, algorithm="HS256",
                                    headers={"kid": "POOL"})).status_code == 200
    expires = jwt.decode(short, options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, expires - time.time() + 1.1))
    assert call(svc.url, short).status_code == 401
    reasons = [line["reason"] for line in svc.audit() if line["event"] == "auth-failure"]
    assert reasons == ["token signature invalid", "token signing key unknown: '../../../../etc/passwd'",
                       "token signing key unknown: 'NOSUCHKEY'", "token issuer not trusted: 'other.example'",
                       "token algorithm not allowed: 'HS512'", "token audience not accepted", "token expired"]
    # a service that trusts the other key directory takes the forged token and not the pool's
    elsewhere = idtoken_service(sec_password_directory=str(other), max_auth_failures=0)
    assert call(elsewhere.url, forged).status_code == 200
    assert call(elsewhere.url, condor_token_create(real_pool, f"alice@{domain}")).status_code == 401


def test_idtoken_settings_are_htcondor_knobs(pool_keys):
    config = Config.from_param({"SEC_PASSWORD_DIRECTORY": pool_keys["directory"],
                                "TRUST_DOMAIN": pool_keys["trust_domain"]}, state_dir="/nonexistent")
    assert (config.sec_password_directory, config.trust_domain) == (pool_keys["directory"], pool_keys["trust_domain"])
    with pytest.raises(ValueError, match="needs trust_domain"):
        Config(sec_password_directory=pool_keys["directory"])
