"""The operator endpoints (http/operator.py): ``GET /``, ``/healthz``, ``/readyz``, ``/metrics``
and ``web_root`` files, over real HTTP against the real application (local backend)."""
from __future__ import annotations

import base64
import http.client
import sqlite3
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from lxml import html
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from condor_soap import Config, __version__, create_app
from condor_soap.auth import credentials as cred
from condor_soap.soap.protocol import DTD_REFUSED
from tests.conftest import serve_in_thread
from tests.soap.soap import envelope, op, post

TIMEOUT = 30


def raw_get(url: str, path: str, method: str = "GET", headers: dict = {}) -> tuple[int, dict, bytes]:
    """A request with ``path`` sent exactly as given (no client-side normalization)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT)
    try:
        conn.putrequest(method, path, skip_host="Host" in headers)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def http_status(url: str, body: bytes, headers: dict = {}) -> int:
    return requests.post(url, data=body, timeout=TIMEOUT, headers={"Content-Type": "text/xml", **headers}).status_code


@pytest.fixture
def app_url(tmp_path) -> Iterator[tuple[object, str]]:
    """A fresh application (local backend, 1 s readiness timeout) and its URL."""
    app = create_app(Config(state_dir=str(tmp_path / "state"), ready_timeout=1.0))
    try:
        with serve_in_thread(app) as url:
            yield app, url
    finally:
        app.close()


# GET /
def test_home_page_names_the_service_and_links_everything(service_url):
    response = requests.get(service_url, timeout=TIMEOUT)
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/html; charset=utf-8"
    page = html.fromstring(response.content)
    text = page.text_content()
    assert f"version {__version__}" in text and "local backend" in text
    base = service_url.rstrip("/")
    links = set(page.xpath("//a/@href"))
    assert {f"{base}/condorSchedd.wsdl", f"{base}/condorCollector.wsdl", f"{base}/healthz",
            f"{base}/readyz", f"{base}/metrics"} <= links
    assert "docs/architecture.rst" in text and "README.rst" in text
    for link in links:  # every link works
        assert requests.get(link, timeout=TIMEOUT).status_code == 200, link


def test_home_page_links_follow_the_address_the_client_used(service_url):
    status, headers, body = raw_get(service_url, "/", headers={"Host": "soap.example.org:9443"})
    assert status == 200
    links = html.fromstring(body).xpath("//a/@href")
    assert "http://soap.example.org:9443/condorSchedd.wsdl" in links
    status, _, body = raw_get(service_url, "/", headers={"Host": '"><script>x</script>'})
    assert status == 200 and b"<script>" not in body


def test_head_of_home_page(service_url):
    full = requests.get(service_url, timeout=TIMEOUT)
    head = requests.head(service_url, timeout=TIMEOUT)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == str(len(full.content))


def test_query_wsdl_on_root_is_still_the_wsdl(service_url):
    response = requests.get(service_url + "?wsdl", timeout=TIMEOUT)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/xml")
    assert b"condorSchedd" in response.content


# /healthz and /readyz
def test_healthz(service_url):
    response = requests.get(service_url + "healthz", timeout=TIMEOUT)
    assert (response.status_code, response.text) == (200, "ok\n")
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_ready(service_url):
    response = requests.get(service_url + "readyz", timeout=TIMEOUT)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    assert response.json() == {"ready": True, "problems": []}


def test_readyz_journal_locked_by_another_process_is_503(app_url, tmp_path):
    """Another writer holds the journal (a second service on the same state directory, a
    backup tool): the service cannot journal anything, so it is not ready, and says why."""
    app, url = app_url
    other = sqlite3.connect(tmp_path / "state" / "journal.sqlite3", isolation_level=None, timeout=1)
    try:
        other.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        response = requests.get(url + "readyz", timeout=TIMEOUT)
        assert time.monotonic() - started < 3  # bounded by ready_timeout (1 s)
        assert response.status_code == 503
        assert response.json() == {"ready": False, "problems": ["journal: cannot be written: database is locked"]}
        assert requests.get(url + "healthz", timeout=TIMEOUT).status_code == 200  # alive, not ready
        other.execute("ROLLBACK")
        assert requests.get(url + "readyz", timeout=TIMEOUT).json() == {"ready": True, "problems": []}
    finally:
        other.close()


def test_readyz_backend_closed_is_503(tmp_path):
    from condor_soap.app import build_backend

    config = Config(state_dir=str(tmp_path / "state"), ready_timeout=1.0)
    backend = build_backend(config)
    app = create_app(config, backend)
    try:
        with serve_in_thread(app) as url:
            backend.close()
            response = requests.get(url + "readyz", timeout=TIMEOUT)
            assert response.status_code == 503
            assert response.json()["problems"] == ["backend: The local backend is closed"]
    finally:
        app.close()


def test_operator_endpoints_need_no_credentials(tmp_path):
    passwords = tmp_path / "passwd"
    cred.set_entry(str(passwords), "alice", cred.hash_password("alice-pw"))
    app = create_app(Config(state_dir=str(tmp_path / "state"), password_file=str(passwords),
                            allow_anonymous=False))
    try:
        with serve_in_thread(app) as url:
            assert http_status(url, envelope(op("getVersionString"))) == 401
            for path in ("", "healthz", "readyz", "metrics", "condorSchedd.wsdl"):
                assert requests.get(url + path, timeout=TIMEOUT).status_code == 200, path
    finally:
        app.close()


# /metrics
def samples(url: str, headers: dict = {}) -> dict[tuple[str, frozenset], float]:
    """{(sample name, labels): value} of a scrape, read by prometheus_client's own parser."""
    response = requests.get(url + "metrics", timeout=TIMEOUT, headers=headers)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def count(figures: dict, name: str, **labels: str) -> float:
    return figures.get((name, frozenset(labels.items())), 0.0)


def calls(figures: dict, operation: str, outcome: str) -> float:
    return count(figures, "condor_soap_call_duration_seconds_count", face="soap", operation=operation,
                 outcome=outcome)


@pytest.fixture
def metered(tmp_path) -> Iterator[str]:
    """The URL of an application with alice's password and 2 failed logins allowed."""
    passwords = tmp_path / "passwd"
    cred.set_entry(str(passwords), "alice", cred.hash_password("alice-pw"))
    app = create_app(Config(state_dir=str(tmp_path / "state"), password_file=str(passwords),
                            allow_anonymous=False, max_auth_failures=2))
    try:
        with serve_in_thread(app) as url:
            yield url
    finally:
        app.close()


def test_metrics_count_calls_outcomes_faults_and_refused_logins(metered):
    url = metered
    alice = {"Authorization": "Basic " + base64.b64encode(b"alice:alice-pw").decode()}
    before = samples(url)
    assert calls(before, "getVersionString", "SUCCESS") == 0
    assert count(before, "condor_soap_info", version=__version__, backend="local") == 1
    assert count(before, "condor_soap_auth_failures_total", status="401") == 0

    for _ in range(3):
        assert post(url, envelope(op("getVersionString")), headers=alice).status[0] == "SUCCESS"
    txn = "<transaction><id>12345</id><duration>60</duration></transaction>"
    assert post(url, envelope(op("commitTransaction", txn)), headers=alice).status[0] == "INVALIDTRANSACTION"
    assert post(url, envelope(op("beginTransaction", "<duration>abc</duration>")), headers=alice).http_status == 500
    assert post(url, envelope(op("noSuchOperation")), headers=alice).http_status == 500
    dtd = b'<!DOCTYPE e [<!ENTITY x "y">]>' + envelope(op("getVersionString"))
    assert post(url, dtd, headers=alice).fault[1] == DTD_REFUSED
    wrong = {"Authorization": "Basic " + base64.b64encode(b"alice:wrong").decode()}
    statuses = [http_status(url, envelope(op("getVersionString")), wrong) for _ in range(3)]
    assert statuses == [401, 401, 429]

    after = samples(url)
    assert calls(after, "getVersionString", "SUCCESS") == 3
    assert calls(after, "commitTransaction", "INVALIDTRANSACTION") == 1
    assert calls(after, "beginTransaction", "Fault") == 1
    assert calls(after, "unknown", "Fault") == 2  # the unknown operation and the DTD
    assert count(after, "condor_soap_auth_failures_total", status="401") == 2
    assert count(after, "condor_soap_auth_failures_total", status="429") == 1
    # latency: every call observed once, in seconds
    assert count(after, "condor_soap_call_duration_seconds_bucket", face="soap", operation="getVersionString",
                 outcome="SUCCESS", le="+Inf") == 3
    assert 0 < count(after, "condor_soap_call_duration_seconds_sum", face="soap", operation="getVersionString",
                     outcome="SUCCESS") < 30


def test_metrics_gauges_follow_transactions_and_staged_bytes(service_url):
    """Open transactions and staged bytes are read from the journal when scraped; a commit is
    timed; a refused insertAd is a backend error. No job data appears in the metrics."""
    before = samples(service_url)
    base_open = count(before, "condor_soap_transactions", state="open")
    commits = count(before, "condor_soap_commit_duration_seconds_count")
    errors = count(before, "condor_soap_backend_errors_total")

    txn_id = int(post(service_url, envelope(op("beginTransaction", "<duration>60</duration>")))
                 .text("response/transaction/id"))
    txn = f"<transaction><id>{txn_id}</id><duration>60</duration></transaction>"
    cluster = post(service_url, envelope(op("newCluster", txn))).text("response/integer")
    job = f"{txn}<clusterId>{cluster}</clusterId>"
    proc = post(service_url, envelope(op("newJob", job))).text("response/integer")
    job += f"<jobId>{proc}</jobId>"
    name = "secret-input-name.dat"
    assert post(service_url, envelope(op("declareFile", f"{job}<name>{name}</name><size>10</size>"
                                                        "<hashType>NOHASH</hashType>"))).status[0] == "SUCCESS"
    assert post(service_url, envelope(op("sendFile", f"{job}<name>{name}</name><offset>0</offset>"
                                                     "<data>QUJDRA==</data>"))).status[0] == "SUCCESS"  # 4 bytes
    during = samples(service_url)
    assert count(during, "condor_soap_transactions", state="open") == base_open + 1
    assert count(during, "condor_soap_staged_bytes") >= 4

    assert post(service_url, envelope(op("abortTransaction", txn))).status[0] == "SUCCESS"
    begun = post(service_url, envelope(op("beginTransaction", "<duration>60</duration>")))
    txn = f"<transaction><id>{begun.text('response/transaction/id')}</id><duration>60</duration></transaction>"
    assert post(service_url, envelope(op("commitTransaction", txn))).status[0] == "SUCCESS"
    ad = "<item><name>MyType</name><type>STRING-ATTR</type><value>Machine</value></item>"
    post(service_url, envelope(op("insertAd", f"<type>STARTD-AD-TYPE</type><ad>{ad}</ad>")))  # no Name

    scraped = requests.get(service_url + "metrics", timeout=TIMEOUT).text
    after = samples(service_url)
    assert count(after, "condor_soap_transactions", state="open") == base_open
    assert count(after, "condor_soap_commit_duration_seconds_count") == commits + 1
    assert count(after, "condor_soap_backend_errors_total") == errors + 1
    for private in (name, str(txn_id), "QUJDRA", "Machine"):
        assert private not in scraped, private


def test_metrics_in_openmetrics_when_asked(service_url):
    response = requests.get(service_url + "metrics", timeout=TIMEOUT,
                            headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


def test_each_application_has_its_own_registry(app_url, tmp_path):
    """Several applications in one process count apart, and never in the global registry."""
    other = create_app(Config(state_dir=str(tmp_path / "other")))
    try:
        with serve_in_thread(other) as other_url:
            _, url = app_url
            for _ in range(2):
                assert post(url, envelope(op("getPlatformString"))).status[0] == "SUCCESS"
            assert calls(samples(url), "getPlatformString", "SUCCESS") == 2
            assert calls(samples(other_url), "getPlatformString", "SUCCESS") == 0
    finally:
        other.close()
    assert not [family.name for family in REGISTRY.collect() if family.name.startswith("condor_soap")]


# web_root
@pytest.fixture
def web_root(tmp_path) -> Iterator[tuple[str, Path]]:
    """An application serving ``tmp_path/www``: an index, a page, a dot file, a directory
    without index, and symlinks in and out of the root."""
    root = tmp_path / "www"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "index.html").write_text("<p>docs index</p>")
    (root / "docs" / "guide.html").write_text("<p>the guide</p>")
    (root / "data.bin").write_bytes(bytes(range(256)) * 1000)
    (root / "caf\u00e9.txt").write_text("accented name")
    (root / ".secret").write_text("hidden")
    (root / "empty").mkdir()
    (tmp_path / "outside.txt").write_text("OUTSIDE-THE-ROOT")
    (root / "link-out").symlink_to(tmp_path / "outside.txt")
    (root / "link-in").symlink_to(root / "docs" / "guide.html")
    app = create_app(Config(state_dir=str(tmp_path / "state"), web_root=str(root)))
    try:
        with serve_in_thread(app) as url:
            yield url, root
    finally:
        app.close()


@pytest.mark.parametrize("path, content_type, body", [
    pytest.param("/docs/guide.html", "text/html; charset=utf-8", b"<p>the guide</p>", id="page"),
    pytest.param("/docs/", "text/html; charset=utf-8", b"<p>docs index</p>", id="directory-index"),
    pytest.param("/link-in", "text/html; charset=utf-8", b"<p>the guide</p>", id="symlink-inside"),
    pytest.param("/data.bin", "application/octet-stream", bytes(range(256)) * 1000, id="binary"),
    pytest.param("/caf%C3%A9.txt", "text/plain; charset=utf-8", b"accented name", id="utf8-name"),
])
def test_web_root_serves_its_files(web_root, path, content_type, body):
    url, _ = web_root
    status, headers, got = raw_get(url, path)
    assert (status, headers["Content-Type"], got) == (200, content_type, body)
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, got = raw_get(url, path, "HEAD")
    assert (status, int(headers["Content-Length"]), got) == (200, len(body), b"")


@pytest.mark.parametrize("path", [
    "/.secret", "/docs/../.secret", "/%2e%2e/outside.txt", "/../outside.txt", "/docs/%2e%2e/%2e%2e/outside.txt",
    "/link-out", "/empty/", "/empty", "/docs", "/docs//guide.html", "/docs/guide.html%00.txt",
    "/docs\\guide.html", "/nothing.html", "/%2fetc/passwd", "//etc/passwd",
])
def test_web_root_refuses_everything_else(web_root, path):
    url, _ = web_root
    status, _, body = raw_get(url, path)
    assert status == 404, (path, body[:100])
    assert b"OUTSIDE-THE-ROOT" not in body and b"hidden" not in body


def test_web_root_does_not_shadow_the_service(web_root):
    url, root = web_root
    (root / "index.html").write_text("site index")
    (root / "healthz").write_text("a file named healthz")
    assert b"condor-soap" in requests.get(url, timeout=TIMEOUT).content
    assert requests.get(url + "healthz", timeout=TIMEOUT).text == "ok\n"
    assert requests.get(url + "index.html", timeout=TIMEOUT).text == "site index"
    assert post(url + "docs/guide.html", envelope(op("getVersionString"))).status[0] == "SUCCESS"


def test_metrics_count_rest_calls_through_the_same_calls(service_url):
    """Both faces record through the one Calls: a REST read and a refused REST call are
    counted with face="rest" and the core operation they perform."""
    def rest(operation: str, outcome: str) -> float:
        return count(samples(service_url), "condor_soap_call_duration_seconds_count", face="rest",
                     operation=operation, outcome=outcome)

    reads, failed = rest("getJobAds", "SUCCESS"), rest("getJobAds", "FAIL")
    assert requests.get(service_url + "v1/jobs/DEFAULT", timeout=TIMEOUT).status_code == 200
    assert requests.get(service_url + "v1/jobs/DEFAULT/999999/0", timeout=TIMEOUT).status_code == 404
    assert rest("getJobAds", "SUCCESS") == reads + 1
    assert rest("getJobAds", "FAIL") == failed + 1  # NotFound: a FAIL on the wire of SOAP
