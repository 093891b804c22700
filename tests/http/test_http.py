"""HTTP around SOAP (spec §2, checklist §4.1 item 2): the WSDLs by GET with ``soap:address``
naming the server as the client addressed it; other GETs 404. Against the real application."""
from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest
import requests
from lxml import etree

from condor_soap.soap.wsdl import DEFAULT_ADDRESS, render_wsdl
from tests.soap.soap import envelope, op, post

SOAP_ADDRESS = "{http://schemas.xmlsoap.org/wsdl/soap/}address"


def _wsdl(response: requests.Response) -> tuple[str, str]:
    """(definitions name, soap:address location) of a served WSDL."""
    root = etree.fromstring(response.content)
    return root.get("name"), root.find(f".//{SOAP_ADDRESS}").get("location")


@pytest.mark.parametrize("path, expected", [
    pytest.param("condorSchedd.wsdl", "condorSchedd", id="schedd-file"),
    pytest.param("condorCollector.wsdl", "condorCollector", id="collector-file"),
    pytest.param("webservice/condorSchedd.wsdl", "condorSchedd", id="file-under-a-directory"),
    pytest.param("?wsdl", "condorSchedd", id="root-query"),
    pytest.param("anything?WSDL", "condorSchedd", id="any-path-query"),
    pytest.param("condorCollector?wsdl", "condorCollector", id="collector-query"),
    pytest.param("x?a=1&wsdl", "condorSchedd", id="query-among-others"),
])
def test_get_wsdl(service_url, path, expected):
    response = requests.get(service_url + path, timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    name, location = _wsdl(response)
    assert name == expected
    assert location == service_url.rstrip("/")  # http://127.0.0.1:<port>


def test_served_wsdl_differs_from_file_only_in_address(service_url):
    served = requests.get(service_url + "condorSchedd.wsdl", timeout=30).content
    assert served == render_wsdl("condorSchedd", DEFAULT_ADDRESS).replace(
        DEFAULT_ADDRESS.encode(), service_url.rstrip("/").encode())


@pytest.mark.parametrize("host, expected", [
    pytest.param("schedd.example.org:9618", "http://schedd.example.org:9618", id="name-and-port"),
    pytest.param("[::1]:8080", "http://[::1]:8080", id="ipv6"),
    pytest.param('evil"><x a="', None, id="markup-is-not-echoed"),
])
def test_address_follows_host_header(service_url, host, expected):
    parts = urlsplit(service_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.putrequest("GET", "/condorSchedd.wsdl", skip_host=True)
    conn.putheader("Host", host)
    conn.endheaders()
    response = conn.getresponse()
    body = response.read()
    conn.close()
    assert response.status == 200
    location = etree.fromstring(body).find(f".//{SOAP_ADDRESS}").get("location")
    if expected:
        assert location == expected
    else:  # falls back to the WSGI SERVER_NAME:SERVER_PORT
        assert "evil" not in location and location.endswith(f":{parts.port}")


@pytest.mark.parametrize("path", ["index.html", "condorSchedd.wsdl.bak", "wsdl", "healthz/x"])
def test_other_get_is_404(service_url, path):
    response = requests.get(service_url + path, timeout=30)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/plain")


def test_head_of_wsdl(service_url):
    response = requests.head(service_url + "condorCollector.wsdl", timeout=30)
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) > 1000
    assert response.content == b""


def test_other_methods_405(service_url):
    response = requests.put(service_url, data=b"x", timeout=30)
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


@pytest.mark.parametrize("headers", [
    pytest.param({"SOAPAction": None}, id="no-soapaction"),
    pytest.param({"SOAPAction": '"getVersionString"'}, id="any-soapaction"),
    pytest.param({"Content-Type": "text/xml"}, id="no-charset"),
    pytest.param({"Content-Type": None}, id="no-content-type"),
])
def test_post_headers_do_not_matter(service_url, headers):
    reply = post(service_url, envelope(op("getVersionString")), headers=headers)
    assert reply.http_status == 200
    assert reply.status[0] == "SUCCESS"


def test_escaped_exception_is_a_server_fault_and_logged(tmp_path, caplog):
    """Whatever escapes the layers below (here: a credential check that blows up) is a SOAP
    Server Fault with HTTP 500, not a traceback; the next request is served."""
    from condor_soap.app import create_app
    from condor_soap.config import Config
    from tests.conftest import serve_in_thread

    app = create_app(Config(state_dir=str(tmp_path / "state"), port=0))
    calls = []

    def broken(environ):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("credential store exploded")
        return original(environ)

    original, app._auth.identify = app._auth.identify, broken
    try:
        with serve_in_thread(app) as url:
            answer = requests.post(url, data=envelope(op("getVersionString")), timeout=30,
                                   headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
            assert answer.status_code == 500 and answer.headers["Content-Type"].startswith("text/xml")
            fault = etree.fromstring(answer.content).find(".//{http://schemas.xmlsoap.org/soap/envelope/}Fault")
            assert fault.findtext("faultcode") == "soap:Server" and fault.findtext("faultstring") == "Internal error"
            assert b"exploded" not in answer.content and b"Traceback" not in answer.content
            assert post(url, envelope(op("getVersionString"))).http_status == 200
    finally:
        app.close()
    assert "credential store exploded" in caplog.text
