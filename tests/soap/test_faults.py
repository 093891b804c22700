"""SOAP Faults only where gSOAP faulted (spec §0.9): unreadable requests. The service keeps
serving afterwards. Against the real application."""
from __future__ import annotations

import logging

import pytest

from tests.soap.soap import envelope, op, post

FAULTS = [
    pytest.param(b"<soapenv:Envelope xmlns:soapenv='http://schemas.xmlsoap.org/soap/envelope/'><soapenv:Body>",
                 "Client", id="truncated-xml"),
    pytest.param(b"this is not xml", "Client", id="not-xml"),
    pytest.param(b"", "Client", id="empty-body"),
    pytest.param(envelope(op("noSuchOperation")), "Client", id="unknown-operation"),
    pytest.param(envelope('<beginTransaction xmlns="urn:wrong"><duration>1</duration></beginTransaction>'),
                 "Client", id="wrapper-in-wrong-namespace"),
    pytest.param(envelope(op("beginTransaction", "<duration>abc</duration>")), "Client.ValidationError",
                 id="int-not-a-number"),
    pytest.param(envelope(op("beginTransaction", "<duration>2147483648</duration>")), "Client.ValidationError",
                 id="int-out-of-range"),
    pytest.param(envelope(op("getJobAd", "<transaction><id>x</id></transaction><clusterId>1</clusterId>")),
                 "Client.ValidationError", id="transaction-id-not-a-number"),
    pytest.param(envelope(op("createJobTemplate", "<clusterId>1</clusterId><jobId>0</jobId><type>PVM</type>")),
                 "Client.ValidationError", id="unknown-enum-literal"),
    pytest.param(envelope(op("createJobTemplate", "<clusterId>1</clusterId><jobId>0</jobId><type>99</type>")),
                 "Client.ValidationError", id="enum-number-out-of-range"),
    pytest.param(envelope(op("sendFile", "<transaction><id>1</id><duration>9</duration></transaction>"
                             "<clusterId>1</clusterId><jobId>0</jobId><name>f</name><offset>0</offset>"
                             "<data>a!!</data>")), "Client.ValidationError", id="bad-base64"),
]


@pytest.mark.parametrize("body, faultcode", FAULTS)
def test_fault_then_still_serving(service_url, body, faultcode):
    reply = post(service_url, body)
    assert reply.http_status == 500
    code, message = reply.fault
    assert code.split(":", 1)[-1].startswith(faultcode), code
    assert message and "Traceback" not in message
    after = post(service_url, envelope(op("getVersionString")))
    assert after.http_status == 200
    assert after.status[0] == "SUCCESS"


def test_wrapper_without_namespace_is_accepted(service_url):
    """SOAP::WSDL sends ``<getVersionString xmlns="">`` (toolchains §3.1); Spyne matches it."""
    reply = post(service_url, envelope('<getVersionString xmlns=""/>'))
    assert reply.http_status == 200
    assert reply.status[0] == "SUCCESS"


@pytest.mark.parametrize("body", [
    pytest.param(b"<soapenv:Envelope xmlns:soapenv='http://schemas.xmlsoap.org/soap/envelope/'>"
                 b"<soapenv:Body/></soapenv:Envelope>", id="empty-body-element"),
    pytest.param(b"<soapenv:Envelope xmlns:soapenv='http://schemas.xmlsoap.org/soap/envelope/'/>", id="no-body"),
    pytest.param(b"<getVersionString xmlns='urn:condor'/>", id="no-envelope"),
])
def test_malformed_envelope_is_a_fault(service_url, body):
    reply = post(service_url, body)
    assert reply.http_status == 500
    assert reply.fault[0].split(":", 1)[-1].startswith("Client")


def test_unparsable_request_is_one_short_warning(service_url, caplog):
    """A client's unreadable request is one WARNING line naming the client, shortened, without
    a traceback (tests/http/test_logs.py has the other kinds)."""
    with caplog.at_level(logging.DEBUG):
        reply = post(service_url, b"<not-closed>" + b"x" * 200_000)
    assert reply.http_status == 500
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.levelname for r in records] == ["WARNING"], [r.getMessage() for r in records]
    message = records[0].getMessage()
    assert "Client.XMLSyntaxError" in message and "127.0.0.1" in message and len(message) < 500
    assert records[0].exc_info is None and "\n" not in message
