"""The service log: a client's bad request is one WARNING line saying what was wrong and from
whom; a traceback only for the service's own faults; ``--log-format json`` writes one JSON
object per line. In-process (caplog) and through the real ``condor-soap serve`` process."""
from __future__ import annotations

import base64
import io
import json
import logging
from typing import Iterator

import pytest
import requests

from condor_soap import Config, create_app, logs
from condor_soap.app import build_backend
from condor_soap.auth import credentials as cred
from tests.conftest import serve_in_thread
from tests.functional.service_process import ServiceProcess
from tests.soap.soap import envelope, op, post

TIMEOUT = 30
ALICE = {"Authorization": "Basic " + base64.b64encode(b"alice:alice-pw").decode()}

# (request body, what the one warning line says)
BAD_REQUESTS = [
    pytest.param(b"<not-closed>", "Client.XMLSyntaxError", id="not-xml"),
    pytest.param(envelope(op("beginTransaction", "<duration>abc</duration>")),
                 "Client.ValidationError fault for 127.0.0.1 (user alice) calling beginTransaction: "
                 "Could not cast 'abc' to integer", id="validation"),
    pytest.param(envelope(op("noSuchOperation")), "Client.ResourceNotFound", id="unknown-operation"),
    pytest.param(b'<!DOCTYPE e [<!ENTITY x "y">]>' + envelope(op("getVersionString")),
                 "Client.SoapError fault for 127.0.0.1 (user alice): A SOAP message must not contain a "
                 "document type declaration", id="dtd"),
    pytest.param(envelope(""), "Client.SoapError fault for 127.0.0.1 (user alice): The SOAP Body holds no operation",
                 id="empty-body"),
    pytest.param(envelope(op("getVersionString", "x" * 3000)),
                 "request body of 3", id="over-max-request-body-size"),
    pytest.param(envelope(op("createJobTemplate", "<owner>a\nFAKE ERROR line</owner><type>PVM\r\nX</type>")),
                 "Unknown UniverseType value 'PVM\\nX'", id="newlines-are-escaped"),
]


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[str]:
    """The application with alice's password and a 2000-byte request limit."""
    root = tmp_path_factory.mktemp("logs")
    cred.set_entry(str(root / "passwd"), "alice", cred.hash_password("alice-pw"))
    app = create_app(Config(state_dir=str(root / "state"), password_file=str(root / "passwd"),
                            max_request_body_size=2000))
    try:
        with serve_in_thread(app) as url:
            yield url
    finally:
        app.close()


@pytest.mark.parametrize("body, says", BAD_REQUESTS)
def test_bad_request_is_one_warning_line(service, caplog, body, says):
    with caplog.at_level(logging.DEBUG):
        response = requests.post(service, data=body, timeout=TIMEOUT, headers={"Content-Type": "text/xml", **ALICE})
    assert response.status_code == 500 and b"Fault" in response.content
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.levelname for r in loud] == ["WARNING"], [(r.name, r.getMessage()) for r in loud]
    line = loud[0].getMessage()
    assert says in line and "127.0.0.1" in line, line
    assert loud[0].exc_info is None and "\n" not in line and "\r" not in line and len(line) < 600
    assert loud[0].client == "127.0.0.1" and loud[0].user == "alice"


def test_service_fault_is_logged_with_its_traceback(tmp_path, caplog):
    """The service's own fault (here: its backend is closed under it) is an ERROR with the
    traceback; the client gets FAIL "Internal error" and no traceback."""
    config = Config(state_dir=str(tmp_path / "state"))
    backend = build_backend(config)
    app = create_app(config, backend)
    try:
        with serve_in_thread(app) as url:
            backend.close()
            with caplog.at_level(logging.DEBUG):
                reply = post(url, envelope(op("getJobAds", "<constraint>true</constraint>")))
    finally:
        app.close()
    assert reply.status == ("FAIL", "Internal error") and b"Traceback" not in reply.xml
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == ["getJobAds failed"]
    assert errors[0].exc_info is not None


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The service log configured as ``--log-format json`` into a buffer (restored after)."""
    buffer = io.StringIO()
    root = logging.getLogger()
    level = root.level
    logs.configure("INFO", "json", buffer)
    try:
        yield buffer
    finally:
        for handler in [h for h in root.handlers if h.get_name() == "condor-soap"]:
            root.removeHandler(handler)
        root.setLevel(level)


def test_json_lines_carry_extras_and_tracebacks(json_log, tmp_path):
    config = Config(state_dir=str(tmp_path / "state"))
    backend = build_backend(config)
    app = create_app(config, backend)
    try:
        with serve_in_thread(app) as url:
            post(url, envelope(op("beginTransaction", "<duration>abc</duration>")))
            backend.close()
            post(url, envelope(op("getJobAds", "<constraint>true</constraint>")))
    finally:
        app.close()
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    warning = next(line for line in lines if line["level"] == "WARNING")
    assert warning["logger"] == "condor_soap.soap.wsgi" and warning["client"] == "127.0.0.1"
    assert (warning["faultcode"], warning["operation"]) == ("Client.ValidationError", "beginTransaction")
    assert warning["time"].endswith("+00:00")
    error = next(line for line in lines if line["level"] == "ERROR")
    assert error["message"] == "getJobAds failed" and error["exception"].startswith("Traceback")


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_condor_soap_serve_log_format(tmp_path, log_format):
    """The real process: ``--log-format`` shapes every line on stderr; a bad request is one
    WARNING line, and nothing carries a traceback."""
    proc = ServiceProcess(tmp_path / "state", "--log-format", log_format)
    url = proc.start()
    try:
        assert requests.get(url + "readyz", timeout=TIMEOUT).status_code == 200
        post(url, envelope(op("beginTransaction", "<duration>abc</duration>")))
        post(url, b"<not-closed>")
    finally:
        assert proc.stop() == 0
    lines = proc.log().splitlines()
    assert lines and "Traceback" not in proc.log()
    if log_format == "json":
        records = [json.loads(line) for line in lines]  # every line is one JSON object
        warnings = [r for r in records if r["level"] == "WARNING"]
        assert [(r["faultcode"], r["client"]) for r in warnings] == [
            ("Client.ValidationError", "127.0.0.1"), ("Client.XMLSyntaxError", "127.0.0.1")]
    else:
        warnings = [line for line in lines if " WARNING " in line]
        assert len(warnings) == 2
        assert warnings[0].endswith("WARNING condor_soap.soap.wsgi: Client.ValidationError fault for 127.0.0.1 "
                                    "calling beginTransaction: Could not cast 'abc' to integer")
        assert not any(line.lstrip().startswith("{") for line in lines)
