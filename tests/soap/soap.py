"""Raw SOAP over HTTP for the wire tests: build envelopes, post them, read the answer."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Optional

import requests
from lxml import etree

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
TNS = "urn:condor"


def envelope(body: str, body_attrs: str = "") -> bytes:
    """A SOAP 1.1 envelope around ``body``; ``xsi``, ``xsd`` and ``c`` (urn:condor) are declared."""
    return (f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns:xsi="{XSI}" '
            f'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:c="{TNS}">'
            f'<soapenv:Body{body_attrs}>{body}</soapenv:Body></soapenv:Envelope>').encode()


def op(name: str, children: str = "") -> str:
    """``<c:name>children</c:name>``: prefixed wrapper, unqualified children (suds/JAX-WS)."""
    return f"<c:{name}>{children}</c:{name}>"


@dataclass
class Reply:
    http_status: int
    xml: bytes
    root: etree._Element

    @property
    def answer(self) -> etree._Element:
        """The Body's first child (the ``<op>Response`` wrapper or the Fault)."""
        return self.root.find(f"{{{SOAP_ENV}}}Body")[0]

    def text(self, path: str) -> Optional[str]:
        """Text of ``path`` (unqualified ElementPath) under the wrapper, None if absent."""
        found = self.answer.find(path)
        return None if found is None else found.text

    @property
    def status(self) -> tuple[Optional[str], Optional[str]]:
        """(code, message) of ``response/status`` or, for Status answers, ``response``."""
        status = self.answer.find("response/status")
        if status is None:
            status = self.answer.find("response")
        return status.findtext("code"), status.findtext("message")

    @property
    def fault(self) -> tuple[str, str]:
        fault = self.answer
        assert fault.tag == f"{{{SOAP_ENV}}}Fault", self.xml
        return fault.findtext("faultcode"), fault.findtext("faultstring")


def post(url: str, body: bytes, headers: Optional[dict] = None) -> Reply:
    response = requests.post(url, data=body, timeout=30, headers={
        "Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""', **(headers or {})})
    return Reply(response.status_code, response.content, etree.fromstring(response.content))


def call(url: str, name: str, children: str = "") -> Reply:
    """Post ``<c:name>children</c:name>`` and return the reply."""
    return post(url, envelope(op(name, children)))


def check_shape(reply: Reply, operation: str, schema: etree.XMLSchema) -> None:
    """HTTP 200, the wrapper ``{urn:condor}<operation>Response``, every child unqualified with
    no namespace declaration, and the wrapper valid against ``schema``."""
    assert reply.http_status == 200, reply.xml
    wrapper = reply.answer
    assert wrapper.tag == f"{{{TNS}}}{operation}Response"
    for el in wrapper.iterdescendants():
        assert etree.QName(el).namespace is None, f"qualified child {el.tag}"
    body = reply.xml[reply.xml.index(b"Body"):]
    assert body.count(b"xmlns") == 0, "namespace declarations below the Envelope"
    schema.assertValid(etree.ElementTree(copy.deepcopy(wrapper)))
