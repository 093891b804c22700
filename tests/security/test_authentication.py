"""Who calls: Basic, bearer, a proxied client certificate, anonymous; 401s and their audit."""
from __future__ import annotations

import base64

import requests

from tests.soap.soap import envelope, op

VERSION = envelope(op("getVersionString"))
HEADERS = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}


def post(url: str, headers: dict | None = None, auth=None) -> requests.Response:
    return requests.post(url, data=VERSION, headers={**HEADERS, **(headers or {})}, auth=auth, timeout=30)


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_basic_good_bad_missing(serve):
    svc = serve(host="0.0.0.0")  # a non-loopback bind: anonymous refused
    assert post(svc.url, auth=("alice", "alice-pw")).status_code == 200
    bad = post(svc.url, auth=("alice", "wrong"))
    assert bad.status_code == 401
    # requests folds the repeated WWW-Authenticate headers into one, comma-joined
    assert 'Basic realm="condor-soap", charset="UTF-8"' in bad.headers["WWW-Authenticate"]
    assert 'Bearer realm="condor-soap"' in bad.headers["WWW-Authenticate"]
    assert post(svc.url, auth=("mallory", "x")).status_code == 401
    missing = post(svc.url)
    assert missing.status_code == 401 and "Basic" in missing.headers["WWW-Authenticate"]
    assert post(svc.url, headers={"Authorization": "Basic !!!notbase64"}).status_code == 401
    assert post(svc.url, headers={"Authorization": "Negotiate abc"}).status_code == 401
    failures = [line for line in svc.audit() if line["event"] == "auth-failure"]
    assert [(f["user"], f["reason"]) for f in failures] == [
        ("alice", "bad password"), ("mallory", "bad password"), (None, "no credentials"),
        (None, "malformed Basic credentials"), (None, "unsupported authorization scheme 'Negotiate'")]
    assert all(f["source"] == "127.0.0.1" and f["time"].endswith("Z") for f in failures)


def test_url_safe_base64_is_read_as_suds_sends_it(serve, creds, tmp_path):
    from condor_soap.auth import credentials as cred

    path = tmp_path / "passwd"
    password = "??>>"  # "gina:??>>" encodes with "+" and "/" in the standard alphabet
    assert set("+/") <= set(base64.b64encode(f"gina:{password}".encode()).decode())
    cred.set_entry(str(path), "gina", cred.hash_password(password))
    svc = serve(host="0.0.0.0", password_file=str(path))
    url_safe = base64.urlsafe_b64encode(f"gina:{password}".encode()).decode()
    assert post(svc.url, headers={"Authorization": f"Basic {url_safe}"}).status_code == 200
    assert post(svc.url, headers=basic("gina", password)).status_code == 200


def test_wsdl_is_public(serve):
    svc = serve(host="0.0.0.0")
    assert requests.get(f"{svc.url}condorSchedd.wsdl", timeout=30).status_code == 200


def test_bearer_token(serve, creds):
    svc = serve(host="0.0.0.0")
    assert post(svc.url, headers={"Authorization": f"Bearer {creds['token']}"}).status_code == 200
    assert post(svc.url, headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    # carol's token makes her the Owner of what she submits
    from tests.security.conftest import attrs, submit

    proxy = svc.client(token=creds["token"])
    _, cluster, proc = submit(proxy)
    assert attrs(proxy.getJobAd(None, cluster, proc).classAd)["Owner"] == "carol"


def cert_headers(subject: str, verify: str = "SUCCESS") -> dict:
    return {"X-SSL-Client-Verify": verify, "X-SSL-Client-S-DN": subject}


def test_certificate_subject_from_trusted_proxy(serve):
    svc = serve(host="0.0.0.0", trusted_proxies="127.0.0.1")
    assert post(svc.url, headers=cert_headers("/DC=org/DC=example/CN=erin")).status_code == 200
    assert post(svc.url, headers=cert_headers("CN=Dave Example,O=Example")).status_code == 200
    # not verified by the proxy, unmapped, or a \1 that is no user name: refused
    assert post(svc.url, headers=cert_headers("/DC=org/DC=example/CN=erin", "FAILED:x")).status_code == 401
    assert post(svc.url, headers=cert_headers("/DC=org/DC=evil/CN=erin")).status_code == 401
    assert post(svc.url, headers=cert_headers("x/DC=org/DC=example/CN=erin")).status_code == 401
    from tests.security.conftest import attrs, submit

    proxy = svc.client(headers=cert_headers("/DC=org/DC=example/CN=erin"))
    _, cluster, proc = submit(proxy)
    assert attrs(proxy.getJobAd(None, cluster, proc).classAd)["Owner"] == "erin"
    assert svc.audit()[-1]["auth"] == "certificate" and svc.audit()[-1]["user"] == "erin"


def test_certificate_headers_ignored_from_untrusted_peer(serve):
    svc = serve(host="0.0.0.0", trusted_proxies="10.1.2.3")
    assert post(svc.url, headers=cert_headers("/DC=org/DC=example/CN=erin")).status_code == 401
    # and on a loopback bind they make no user: the caller stays anonymous
    local = serve(trusted_proxies="10.1.2.3")
    from tests.security.conftest import attrs, submit

    proxy = local.client(headers=cert_headers("/DC=org/DC=example/CN=erin"))
    _, cluster, proc = submit(proxy, owner="someone")
    assert attrs(proxy.getJobAd(None, cluster, proc).classAd)["Owner"] == "someone"
    assert local.audit()[-1]["user"] is None


def test_forwarded_for_only_from_trusted_proxy(serve):
    trusted = serve(host="0.0.0.0", trusted_proxies="127.0.0.0/8")
    post(trusted.url, headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9"})
    assert trusted.audit()[-1]["source"] == "203.0.113.9", trusted.audit()  # right-most untrusted hop
    untrusted = serve(host="0.0.0.0", trusted_proxies="10.1.2.3")  # waitress keeps the headers
    post(untrusted.url, headers={"X-Forwarded-For": "203.0.113.9"})
    assert untrusted.audit()[-1]["source"] == "127.0.0.1"


def test_wsdl_address_from_trusted_proxy(serve):
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "soap.example.org"}
    trusted = serve(trusted_proxies="127.0.0.1")
    wsdl = requests.get(f"{trusted.url}condorSchedd.wsdl", headers=headers, timeout=30).text
    assert 'location="https://soap.example.org"' in wsdl
    untrusted = serve(trusted_proxies="10.1.2.3")
    wsdl = requests.get(f"{untrusted.url}condorSchedd.wsdl", headers=headers, timeout=30).text
    assert "soap.example.org" not in wsdl and 'location="http://127.0.0.1:' in wsdl


def test_anonymous_rules(serve):
    assert post(serve().url).status_code == 200  # loopback bind: the original's model
    assert post(serve(host="0.0.0.0").url).status_code == 401
    assert post(serve(host="0.0.0.0", allow_anonymous=True).url).status_code == 200
    # through a trusted proxy a loopback bind is no proof the client is local
    proxied = serve(trusted_proxies="127.0.0.1")
    assert post(proxied.url).status_code == 401
    assert post(serve(trusted_proxies="127.0.0.1", allow_anonymous=True).url).status_code == 200
    # an admin can refuse anonymous calls on loopback too (local users of a shared host)
    assert post(serve(allow_anonymous=False).url).status_code == 401
    assert post(serve(allow_anonymous="auto").url).status_code == 200


def test_password_change_needs_no_restart(serve, creds, tmp_path):
    from condor_soap.auth import credentials as cred

    path = tmp_path / "passwd"
    cred.set_entry(str(path), "frank", cred.hash_password("one"))
    svc = serve(host="0.0.0.0", password_file=str(path))
    assert post(svc.url, auth=("frank", "one")).status_code == 200
    cred.set_entry(str(path), "frank", cred.hash_password("two"))
    assert post(svc.url, auth=("frank", "one")).status_code == 401
    assert post(svc.url, auth=("frank", "two")).status_code == 200


def test_failed_logins_are_throttled_per_address(serve):
    svc = serve(host="0.0.0.0", trusted_proxies="127.0.0.1", max_auth_failures=3, auth_failure_window=600)
    guesser = {"X-Forwarded-For": "203.0.113.66"}
    # bob logs in once from the guesser's address (a shared NAT) before the guessing starts
    assert post(svc.url, auth=("bob", "bob-pw"), headers=guesser).status_code == 200
    for guess in ("a", "b", "c"):
        assert post(svc.url, auth=("alice", guess), headers=guesser).status_code == 401
    throttled = post(svc.url, auth=("alice", "d"), headers=guesser)
    assert throttled.status_code == 429, throttled.text
    assert 0 < int(throttled.headers["Retry-After"]) <= 600
    assert "Too many failed logins" in throttled.text
    # even the right password is not checked from there now (no scrypt for the guesser) ...
    assert post(svc.url, auth=("alice", "alice-pw"), headers=guesser).status_code == 429
    assert post(svc.url, headers={**guesser, "Authorization": "Bearer not-a-token"}).status_code == 429
    # ... but credentials verified before still pass, and other addresses are untouched
    assert post(svc.url, auth=("bob", "bob-pw"), headers=guesser).status_code == 200
    assert post(svc.url, auth=("alice", "alice-pw"), headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 200
    reasons = [(a["source"], a["reason"]) for a in svc.audit() if a["event"] == "auth-failure"]
    assert reasons == [("203.0.113.66", "bad password")] * 3 + [("203.0.113.66", "too many failed logins")] * 3


def test_throttle_window_and_memory_bound():
    from condor_soap.auth.throttle import FailureThrottle

    now = [1000.0]
    throttle = FailureThrottle(2, 60, max_addresses=3, clock=lambda: now[0])
    throttle.failed("a")
    assert throttle.retry_after("a") == 0
    now[0] += 10
    throttle.failed("a")
    assert throttle.retry_after("a") == 50  # until the first failure is 60 s old
    now[0] += 50
    assert throttle.retry_after("a") == 0
    for address in ("b", "c", "d", "e"):
        throttle.failed(address)
        throttle.failed(address)
    assert throttle.retry_after("e") > 0 and throttle.retry_after("b") == 0  # the oldest forgotten
    assert FailureThrottle(0, 60).retry_after("x") == 0
