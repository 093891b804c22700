"""TLS with client certificates through the real nginx of examples/nginx/condor-soap.conf.

Clients connect from 127.0.0.2 (any 127/8 address is loopback on Linux) so that they are not
the trusted proxy (127.0.0.1) themselves: what the audit log calls their source address is
then really what nginx reported, and a direct request to the service from them is a request
from an untrusted peer to the very same service process nginx talks to.
"""
from __future__ import annotations

import re
from typing import Any, Optional

import pytest
import requests
import requests.adapters
import zeep
from zeep.transports import Transport

from condor_soap.config import Config
from tests.tls.conftest import CLIENT_O, EXAMPLE, PASSWORDS

CLIENT_ADDR = "127.0.0.2"
SLEEPER = b"#!/bin/sh\nsleep 600\n"
ENVELOPE = ('<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:c="urn:condor"><soap:Body><c:beginTransaction><duration>30</duration>'
            '</c:beginTransaction></soap:Body></soap:Envelope>')
FORGED = {"X-SSL-Client-Verify": "SUCCESS", "X-SSL-Client-S-DN": f"CN=alice,O={CLIENT_O}",
          "X-Forwarded-For": "203.0.113.66", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example:443"}


class FromAddress(requests.adapters.HTTPAdapter):
    """Connections from a chosen local address."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def session(stack: Any, cert: Optional[str] = None, basic: Optional[str] = None,
            source: str = CLIENT_ADDR, headers: Optional[dict] = None) -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # else REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE would replace verify below
    s.verify = stack.pki.ca
    if cert:
        s.cert = stack.pki.clients[cert]
    if basic:
        s.auth = (basic, PASSWORDS[basic])
    s.headers.update(headers or {})
    for scheme in ("http://", "https://"):
        s.mount(scheme, FromAddress(source))
    return s


def schedd(stack: Any, s: requests.Session) -> Any:
    """A zeep client built from the WSDL served through nginx, bound to the address it names."""
    client = zeep.Client(f"{stack.url}condorSchedd.wsdl", transport=Transport(session=s))
    return client.service  # the WSDL's own soap:address: must be the https one


def submit_without_owner(proxy: Any) -> tuple[int, int]:
    """begin/newCluster/newJob/createJobTemplate/declareFile/sendFile/submit/commit with the
    Owner attribute removed: the service must fill in the authenticated user."""
    txn = proxy.beginTransaction(120).transaction
    cluster = proxy.newCluster(txn).integer
    proc = proxy.newJob(txn, cluster).integer
    ad = proxy.createJobTemplate(cluster, proc, "placeholder", "VANILLA", "sleeper.sh", None, None).classAd
    assert proxy.declareFile(txn, cluster, proc, "sleeper.sh", len(SLEEPER), "NOHASH", None).code == "SUCCESS"
    assert proxy.sendFile(txn, cluster, proc, "sleeper.sh", 0, SLEEPER).code == "SUCCESS"
    items = [{"name": i.name, "type": i.type, "value": i.value or ""} for i in ad.item if i.name != "Owner"]
    answer = proxy.submit(txn, cluster, proc, {"item": items})
    assert answer.status.code == "SUCCESS", answer.status
    assert proxy.commitTransaction(txn).code == "SUCCESS"
    return cluster, proc


def owner(proxy: Any, cluster: int, proc: int) -> str:
    answer = proxy.getJobAd(None, cluster, proc)
    assert answer.status.code == "SUCCESS", answer.status
    return {i.name: i.value for i in answer.classAd.item}["Owner"]


def post(s: requests.Session, url: str) -> requests.Response:
    return s.post(url, data=ENVELOPE, headers={"Content-Type": "text/xml", "SOAPAction": '""'}, timeout=30)


def test_example_body_limit_matches_service_default():
    """client_max_body_size in the example is the service's max_request_body_size default."""
    size = re.search(r"^\s*client_max_body_size (\d+)m;", EXAMPLE.read_text(), re.M)
    assert size and int(size.group(1)) << 20 == Config().max_request_body_size


def test_wsdl_through_nginx_names_https(stack):
    body = session(stack).get(f"{stack.url}condorSchedd.wsdl", timeout=30).text
    locations = re.findall(r'<(?:\w+:)?address location="([^"]+)"', body)
    assert locations == [f"https://127.0.0.1:{stack.tls_port}"], locations
    collector = session(stack).get(f"{stack.url}condorCollector.wsdl", timeout=30).text
    assert f'location="https://127.0.0.1:{stack.tls_port}' in collector
    # the service itself, asked directly, still names its own plain-HTTP address
    direct = requests.get(f"{stack.service.url}condorSchedd.wsdl", timeout=30).text
    assert f'location="{stack.service.url.rstrip("/")}' in direct


def test_client_certificate_user_owns_job(stack):
    """A zeep client from the proxied WSDL, authenticated only by its certificate (alice):
    the whole submit works and the job's Owner is the mapped user."""
    proxy = schedd(stack, session(stack, cert="alice"))
    cluster, proc = submit_without_owner(proxy)
    assert owner(proxy, cluster, proc) == "alice"
    line = [a for a in stack.audit() if a.get("operation") == "commitTransaction"][-1]
    assert (line["user"], line["auth"], line["source"], line["outcome"]) == \
        ("alice", "certificate", CLIENT_ADDR, "SUCCESS"), line
    # another mapped certificate is another user, who cannot read alice's job
    carol = schedd(stack, session(stack, cert="carol"))
    assert carol.getJobAd(None, cluster, proc).status.message == "Not job owner"


def test_basic_auth_without_certificate(stack):
    proxy = schedd(stack, session(stack, basic="bob"))
    cluster, proc = submit_without_owner(proxy)
    assert owner(proxy, cluster, proc) == "bob"
    assert stack.audit()[-1]["auth"] == "basic"


def test_no_credentials_is_401(stack):
    """Through the proxy nobody is anonymous, although the service is bound to loopback."""
    answer = post(session(stack), stack.url)
    assert answer.status_code == 401
    assert "Basic" in answer.headers["WWW-Authenticate"]  # every SOAP toolchain can answer that
    assert stack.audit()[-1]["event"] == "auth-failure" and stack.audit()[-1]["source"] == CLIENT_ADDR
    # a wrong password is no better
    bad = session(stack)
    bad.auth = ("bob", "wrong")
    assert post(bad, stack.url).status_code == 401


def test_unmapped_certificate_is_401(stack):
    """Verified by the CA, but its subject is in no map line: no user."""
    assert post(session(stack, cert="mallory"), stack.url).status_code == 401
    assert stack.audit()[-1]["reason"] == "certificate subject not mapped"
    assert stack.audit()[-1]["user"] == "CN=mallory,O=Elsewhere"  # RFC 2253, as nginx sends it


def test_certificate_from_another_ca_refused_by_nginx(stack):
    """Same subject as alice, signed by another CA: ssl_verify_client optional makes nginx
    answer 400 itself; the request never reaches the service."""
    before = len(stack.audit())
    answer = post(session(stack, cert="evil-alice"), stack.url)
    assert answer.status_code == 400 and "SSL certificate error" in answer.text
    assert len(stack.audit()) == before
    # and it does not fall back to Basic either: the bad certificate spoils the connection
    answer = post(session(stack, cert="evil-alice", basic="bob"), stack.url)
    assert answer.status_code == 400


def test_forged_identity_headers_through_nginx_lose(stack):
    """nginx replaces the client's X-SSL-Client-* (dropping them when there is no
    certificate) and appends the real peer to X-Forwarded-For."""
    assert post(session(stack, headers=FORGED), stack.url).status_code == 401
    assert stack.audit()[-1]["source"] == CLIENT_ADDR  # not 203.0.113.66, the forged left hop
    # underscore spellings (X_SSL_Client_S_DN) are dropped by nginx, and by waitress too
    underscored = {k.replace("-", "_"): v for k, v in FORGED.items()}
    assert post(session(stack, headers=underscored), stack.url).status_code == 401
    # carol's real certificate plus a forged subject claiming alice: carol
    proxy = schedd(stack, session(stack, cert="carol", headers=FORGED))
    cluster, proc = submit_without_owner(proxy)
    assert owner(proxy, cluster, proc) == "carol"
    # the forged X-Forwarded-Host/Proto do not reach the WSDL either
    wsdl = session(stack, headers=FORGED).get(f"{stack.url}condorSchedd.wsdl", timeout=30).text
    assert "evil.example" not in wsdl and f"https://127.0.0.1:{stack.tls_port}" in wsdl


def test_forged_headers_sent_directly_from_untrusted_peer_ignored(stack):
    """The same forged headers sent straight to the service (bypassing nginx) from 127.0.0.2,
    which is loopback but not in trusted_proxies (127.0.0.1): no certificate user, no
    forwarded address, no https WSDL. The caller is the plain anonymous loopback caller."""
    direct = session(stack, headers=FORGED)
    assert post(direct, stack.service.url).status_code == 200
    line = stack.audit()[-1]
    assert (line["operation"], line["user"], line["source"]) == ("beginTransaction", None, CLIENT_ADDR), line
    wsdl = direct.get(f"{stack.service.url}condorSchedd.wsdl", timeout=30).text
    assert "https://" not in wsdl and "evil.example" not in wsdl
    # control: from the trusted address the service does believe them (which is why only the
    # proxy's address may be trusted; see docs/security.rst, "TLS with nginx")
    assert post(session(stack, headers=FORGED, source="127.0.0.1"), stack.service.url).status_code == 200
    line = stack.audit()[-1]
    assert (line["user"], line["auth"], line["source"]) == ("alice", "certificate", "203.0.113.66"), line


def test_upstream_connections_kept_alive(stack):
    """proxy_http_version 1.1 + keepalive: after a burst of calls nginx keeps idle
    connections to waitress open instead of closing one per call."""
    s = session(stack, basic="bob")
    for _ in range(5):
        assert post(s, stack.url).status_code == 200
    assert 1 <= stack.upstream_connections() <= 16


@pytest.mark.parametrize("path", ["condorSchedd.wsdl", ""])
def test_plain_http_to_tls_port_refused(stack, path):
    """The TLS port speaks only TLS: plain HTTP gets nginx's 400, never the service."""
    answer = requests.get(f"http://127.0.0.1:{stack.tls_port}/{path}", timeout=30)
    assert answer.status_code == 400
