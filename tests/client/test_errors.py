"""Every StatusCode and every transport failure reaches the caller as its own exception, mapped
at one seam; each transport failure is produced for real (closed port, silent peer, cut
answer, refused credentials, a 503 proxy, a SOAP Fault from the service)."""
from __future__ import annotations

import contextlib
import socket
import threading
from typing import Iterator

import pytest
import requests
from lxml import etree

from condor_soap.auth import credentials as cred
from condor_soap.client import (AuthenticationFailed, ConnectionFailed, CondorSoapClientError, HTTPError,
                                InvalidResponse, Schedd, SoapFault, StatusCode, StatusError, Timeout, TooManyRequests,
                                TransportError, UnknownJob)
from condor_soap.client.errors import STATUS_ERRORS, TRANSPORT_ERRORS, error_for_status, map_exceptions
from condor_soap.client.settings import Settings
from tests.conftest import serve_in_thread
from tests.functional.service_process import ServiceProcess


def test_every_status_code_has_its_exception():
    classes = set()
    for code in StatusCode:
        if code is StatusCode.SUCCESS:
            assert code not in STATUS_ERRORS
            continue
        error = error_for_status(code, "the service's words", operation="getJobAd", job="3.1")
        assert type(error) is STATUS_ERRORS[code] and error.code is code
        assert isinstance(error, StatusError) and isinstance(error, CondorSoapClientError)
        assert (error.operation, error.job, error.message) == ("getJobAd", "3.1", "the service's words")
        assert str(error) == "getJobAd 3.1: the service's words"
        classes.add(type(error))
    assert len(classes) == len(StatusCode) - 1
    assert error_for_status(StatusCode.FAIL, None).message == "FAIL"  # a Status without message


def _instance(source: type[BaseException]) -> BaseException:
    if source is etree.XMLSyntaxError:
        try:
            etree.fromstring(b"<unclosed")
        except etree.XMLSyntaxError as exc:
            return exc
    return source("what the library said")


def test_every_transport_error_is_mapped():
    for source, target in TRANSPORT_ERRORS:
        with pytest.raises(target) as caught:
            with map_exceptions("getJobAds", "1.0"):
                raise _instance(source)
        assert isinstance(caught.value, TransportError)
        assert caught.value.operation == "getJobAds" and caught.value.job == "1.0"
        assert isinstance(caught.value.__cause__, source)
    # anything else passes through untouched: the seam maps the transport only
    with pytest.raises(KeyError):
        with map_exceptions("getJobAds"):
            raise KeyError("x")


@contextlib.contextmanager
def raw_server(handle) -> Iterator[str]:
    """A loopback TCP server calling ``handle(connection)`` for each client."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()
    held = []

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)
            handle(conn)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        stop.set()
        listener.close()
        for conn in held:
            conn.close()
        thread.join(5)


def schedd_at(url: str, **kw) -> Schedd:
    return Schedd(settings=Settings(url=url, **kw), retry_for=0)


def test_connection_refused():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    with pytest.raises(ConnectionFailed, match="getVersionString: .*refused"):
        schedd_at(f"http://127.0.0.1:{port}/").version()


def test_silent_peer_times_out():
    with raw_server(lambda conn: None) as url:  # accepts, never answers
        with pytest.raises(Timeout) as caught:
            schedd_at(url, timeout=0.5).version()
    assert caught.value.operation == "getVersionString"


def test_answer_cut_short():
    def cut(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 5000\r\n\r\n<SOAP-ENV:Env")
        conn.close()

    with raw_server(cut) as url:
        with pytest.raises(ConnectionFailed):
            schedd_at(url).version()
        with pytest.raises(ConnectionFailed):
            list(schedd_at(url).query())


def test_proxy_errors_and_non_soap_answers():
    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/busy/":
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"upstream is restarting\n"]
        if path == "/page/":
            start_response("200 OK", [("Content-Type", "text/html")])
            return [b"<html><body>a login page</body></html>"]
        start_response("404 Not Found", [("Content-Type", "text/html")])
        return [b"<html>not here</html>"]

    with serve_in_thread(app) as url:
        with pytest.raises(HTTPError, match="HTTP 503 Service Unavailable: upstream is restarting") as caught:
            schedd_at(url + "busy/").version()
        assert caught.value.http_status == 503
        with pytest.raises(HTTPError) as caught:
            list(schedd_at(url + "elsewhere/").query())
        assert caught.value.http_status == 404 and "<html>" not in str(caught.value)
        with pytest.raises(InvalidResponse):
            schedd_at(url + "page/").version()


def test_soap_fault_from_the_service(service_url):
    schedd = schedd_at(service_url)
    with pytest.raises(SoapFault) as caught:  # a value the service cannot read: a Fault, not a Status
        schedd._endpoint.call("getJobAd", clusterId="abc", jobId=0)
    assert caught.value.faultcode.endswith("Client.ValidationError") and caught.value.operation == "getJobAd"
    with pytest.raises(UnknownJob):  # the same call, readable: a Status
        schedd.job("999999.0")


@pytest.fixture(scope="module")
def guarded(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """A service process refusing anonymous calls: alice/alice-pw, a token for carol; two
    failed logins from an address earn 429."""
    root = tmp_path_factory.mktemp("guarded")
    cred.set_entry(str(root / "passwd"), "alice", cred.hash_password("alice-pw"))
    token = cred.new_token()
    cred.set_entry(str(root / "tokens"), "carol", cred.hash_token(token))
    proc = ServiceProcess(root / "state", "--allow-anonymous", "false", "--password-file", str(root / "passwd"),
                          "--token-file", str(root / "tokens"), "--max-auth-failures", "3")
    url = proc.start()
    yield url, token
    proc.kill()


def test_credentials(guarded):
    url, token = guarded
    assert schedd_at(url, user="alice", password="alice-pw").version().startswith("$CondorVersion")
    assert schedd_at(url, token=token).version().startswith("$CondorVersion")
    with pytest.raises(AuthenticationFailed, match="HTTP 401"):
        schedd_at(url).version()
    with pytest.raises(AuthenticationFailed):
        list(schedd_at(url, token="not-the-token").query())
    with pytest.raises(AuthenticationFailed):
        schedd_at(url, user="alice", password="wrong").version()
    with pytest.raises(AuthenticationFailed):
        schedd_at(url, user="alice", password="wrong again").version()
    with pytest.raises(TooManyRequests) as caught:  # three failures from this address already
        schedd_at(url, user="alice", password="and again").version()
    assert caught.value.retry_after and caught.value.retry_after > 0
    # credentials that already worked still pass (docs/security.rst)
    assert schedd_at(url, user="alice", password="alice-pw").version()


def test_requests_session_carries_the_credentials(guarded):
    """Basic is sent preemptively and a token as a Bearer header, on every call."""
    url, token = guarded
    schedd = schedd_at(url, token=token)
    assert schedd._endpoint.session.headers["Authorization"] == f"Bearer {token}"
    assert isinstance(schedd_at(url, user="alice", password="alice-pw")._endpoint.session.auth, tuple)
    with pytest.raises(ValueError, match="not both"):
        Schedd(settings=Settings(url=url, user="alice", token=token))
    with pytest.raises(ValueError, match="not a service URL"):
        Schedd(settings=Settings(url="127.0.0.1:8080"))
    assert requests  # the library the seam maps
