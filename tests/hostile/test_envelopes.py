"""Unreadable or hostile envelopes: each gets a SOAP Fault (HTTP 500) with a clear code and
message, nothing is fetched or expanded, and the service keeps serving (conftest)."""
from __future__ import annotations

import socket
import threading
import time

import pytest
import requests
from lxml import etree

from condor_soap.soap.protocol import DTD_REFUSED
from tests.hostile.conftest import TIMEOUT
from tests.soap.soap import SOAP_ENV, TNS, envelope, op

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
VERSION = op("getVersionString")


def fault_of(response) -> tuple[str, str]:
    """(faultcode without prefix, faultstring) of a Fault answer; asserts the shape."""
    assert response.status_code == 500, response.content[:500]
    assert response.headers["Content-Type"].startswith("text/xml"), response.headers
    root = etree.fromstring(response.content)
    fault = root.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert fault is not None, response.content[:500]
    message = fault.findtext("faultstring")
    assert message and "Traceback" not in message
    return fault.findtext("faultcode").split(":", 1)[-1], message


def laughs(levels: int = 9) -> str:
    """The billion laughs DTD: 10**levels 'lol's if expanded."""
    ents = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels + 1)]
    return f'<?xml version="1.0"?><!DOCTYPE e [{"".join(ents)}]>'


def quadratic_blowup() -> bytes:
    """One 50 kB entity referenced 5000 times (250 MB if expanded): no nesting needed."""
    return (f'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "{"x" * 50_000}">]>'.encode()
            + envelope(op("createJobTemplate", "<owner>" + "&a;" * 5000 + "</owner>")))


# (body, faultcode prefix, words in the faultstring)
FAULTS = [
    pytest.param(envelope(VERSION.replace("</c:", "<a>" * 5000 + "</a>" * 5000 + "</c:")),
                 "Client", "depth", id="deep-nesting-5000"),
    pytest.param(envelope(VERSION.replace("</c:", "<a>" * 150 + "</a>" * 150 + "</c:")),
                 "Client.SoapError", "deeper than 100", id="deep-nesting-150"),
    pytest.param(envelope(op("createJobTemplate", "<owner>\xff\xfe</owner>").encode("latin-1").decode("latin-1"))
                 .replace("\u00ff\u00fe".encode(), b"\xff\xfe"), "Client", "encoding", id="invalid-utf8"),
    pytest.param(envelope(op("createJobTemplate", "<owner>x</owner>")).replace(b">x<", b">\xc3\x28<"),
                 "Client", "encoding", id="invalid-utf8-sequence"),
    pytest.param(envelope(op("createJobTemplate", "<owner>x</owner>")).replace(b">x<", b">\xed\xa0\x80<"),
                 "Client", "", id="utf8-surrogate"),
    pytest.param(envelope(VERSION).replace(b"<c:getVersionString>", b"<c:getVersionString>\x00"),
                 "Client", "", id="nul-byte"),
    pytest.param(b'<?xml version="1.0" encoding="x-bogus"?>' + envelope(VERSION),
                 "Client", "encoding", id="unknown-encoding"),
    pytest.param(f'<e:Envelope xmlns:e="{SOAP_ENV}"><e:Header/></e:Envelope>'.encode(),
                 "Client.SoapError", "no Body", id="no-body"),
    pytest.param(f'<e:Envelope xmlns:e="{SOAP_ENV}"/>'.encode(), "Client.SoapError", "no Body", id="empty-envelope"),
    pytest.param(envelope(VERSION + op("getPlatformString")), "Client.SoapError", "more than one operation",
                 id="two-body-children"),
    pytest.param(envelope(VERSION).replace(b"</soapenv:Envelope>",
                                           b"<soapenv:Body><c:getPlatformString/></soapenv:Body></soapenv:Envelope>"),
                 "Client.SoapError", "more than one Body", id="two-bodies"),
    pytest.param(envelope(VERSION).replace(b"<soapenv:Body>", b"<soapenv:Header/><soapenv:Header/><soapenv:Body>"),
                 "Client.SoapError", "more than one Header", id="two-headers"),
    pytest.param(f'<e:Envelope xmlns:e="{SOAP12}" xmlns:c="{TNS}"><e:Body>{VERSION}</e:Body></e:Envelope>'.encode(),
                 "VersionMismatch", "SOAP 1.2", id="soap12-envelope"),
    pytest.param(f'<e:Envelope xmlns:e="urn:wrong" xmlns:c="{TNS}"><e:Body>{VERSION}</e:Body></e:Envelope>'.encode(),
                 "VersionMismatch", "urn:wrong", id="wrong-envelope-namespace"),
    pytest.param(f'<Envelope xmlns:c="{TNS}"><Body>{VERSION}</Body></Envelope>'.encode(),
                 "VersionMismatch", "none", id="envelope-without-namespace"),
    pytest.param(f'<c:getVersionString xmlns:c="{TNS}"/>'.encode(), "Client.SoapError", "not a SOAP Envelope",
                 id="operation-without-envelope"),
    pytest.param(b"hello" + envelope(VERSION), "Client", "", id="text-before-root"),
    pytest.param(envelope(VERSION) + b"trailing", "Client", "", id="text-after-root"),
    pytest.param(envelope(VERSION) + envelope(VERSION), "Client", "Extra content", id="two-roots"),
    pytest.param(envelope(""), "Client.SoapError", "no operation", id="empty-body"),
    pytest.param(envelope("just text"), "Client.SoapError", "no operation", id="text-in-body"),
    pytest.param(envelope("<!-- only a comment -->"), "Client.SoapError", "no operation", id="comment-in-body"),
    pytest.param(envelope("<?pi only?>"), "Client.SoapError", "no operation", id="pi-in-body"),
    pytest.param(envelope("<soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>x</faultstring>"
                          "</soapenv:Fault>"), "Client.SoapError", "Fault is not a request", id="fault-as-request"),
    pytest.param(envelope(op("noSuchOperation")), "Client", "", id="unknown-operation"),
    pytest.param(envelope(op("beginTransaction", '<duration xsi:type="xsd:string">abc</duration>')),
                 "Client.ValidationError", "abc", id="xsi-type-string-on-int"),
    pytest.param(envelope(op("beginTransaction", "<duration>99999999999999999999999</duration>")),
                 "Client.ValidationError", "", id="int-overflow"),
    pytest.param(envelope(op("getVersionString", '<a id="x"><b href="#x"/></a><c href="#x"/>')),
                 "Client.SoapError", "refers to itself", id="href-cycle"),
    pytest.param(envelope(op("getVersionString", '<c href="#a0"/>') + "".join(
        f'<m id="a{i}"><v href="#a{i + 1}"/></m>' for i in range(40)) + '<m id="a40">x</m>'),
                 "Client.SoapError", "href chains", id="href-chain-40"),
    pytest.param(envelope(VERSION), "Client.XMLSyntaxError", "Unknown charset", id="unknown-http-charset"),
    pytest.param(('<?xml version="1.0" encoding="UTF-16"?>' + envelope(VERSION).decode()).encode("utf-16"),
                 "Client.XMLSyntaxError", "encoding", id="utf16-sent-as-utf8"),
    pytest.param(b"", "Client", "Empty", id="empty-request"),
    pytest.param(b"   \n\t ", "Client", "", id="whitespace-request"),
    pytest.param(b"<", "Client", "", id="one-angle-bracket"),
]


@pytest.mark.parametrize("body, code, words", FAULTS)
def test_unreadable_envelope_is_a_fault(service, request, body, code, words):
    started = time.monotonic()
    charset = "x-no-such-charset" if "unknown-http-charset" in request.node.name else "utf-8"
    fault_code, message = fault_of(service.raw(body, f"text/xml; charset={charset}"))
    assert fault_code.startswith(code), (fault_code, message)
    assert words.lower() in message.lower(), message
    assert time.monotonic() - started < 10


# Document type declarations: refused by the check made for them (SOAP 1.1 §3), before any
# entity is declared or expanded; the answer is exactly this Fault, whatever the DTD holds.
DTDS = [
    pytest.param(laughs().encode() + envelope(op("beginTransaction", "<duration>&lol9;</duration>")),
                 id="billion-laughs"),
    pytest.param(laughs(30).encode() + envelope(op("beginTransaction", "<duration>&lol30;</duration>")),
                 id="billion-laughs-30-levels"),
    pytest.param(quadratic_blowup(), id="quadratic-blowup"),
    pytest.param(b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x "EXPANDED">]>' + envelope(VERSION),
                 id="harmless-internal-entity"),
    pytest.param(b"<!DOCTYPE soapenv:Envelope>" + envelope(VERSION), id="bare-doctype"),
    pytest.param(b'<?xml version="1.0"?><!-- c --><?pi x?>\n<!DOCTYPE e SYSTEM "http://127.0.0.1:9/x.dtd">'
                 + envelope(VERSION), id="external-dtd-after-comment-and-pi"),
    pytest.param(('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE e [<!ENTITY x "y">]>'
                  + envelope(VERSION).decode()).encode("utf-16"), id="utf16"),
    pytest.param(b"<!DOCTYPE e [<!ENTITY a '" + b"x" * 300_000 + b"'>]>" + envelope(VERSION),
                 id="dtd-longer-than-one-read"),
]


@pytest.mark.parametrize("body", DTDS)
@pytest.mark.parametrize("content_type", ["text/xml; charset=utf-8", "text/xml"])
def test_dtd_is_refused_by_its_check(service, request, body, content_type):
    if "utf16" in request.node.name:
        content_type = content_type.replace("utf-8", "utf-16")
    started = time.monotonic()
    assert fault_of(service.raw(body, content_type)) == ("Client.SoapError", DTD_REFUSED)
    assert time.monotonic() - started < 5


def test_dtd_in_a_multipart_body_is_refused(service):
    """SOAP with attachments: the SOAP part is checked once Spyne has taken it out."""
    part = b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x "y">]>' + envelope(VERSION)
    body = (b"--b1\r\nContent-Type: text/xml; charset=utf-8\r\nContent-ID: <root>\r\n\r\n" + part
            + b"\r\n--b1--\r\n")
    response = service.raw(body, 'multipart/related; type="text/xml"; start="<root>"; boundary="b1"')
    assert fault_of(response) == ("Client.SoapError", DTD_REFUSED)


# Accepted: what well-behaved clients legitimately send around the operation.
ACCEPTED = [
    pytest.param(b'<?xml version="1.0"?><?evil do="x"?>' + envelope(op("getVersionString", "<?pi x?>")), id="pis"),
    pytest.param(envelope("<!-- c -->" + op("getVersionString", "<!-- c -->")), id="comments"),
    pytest.param(envelope(op("getVersionString", '<b href="#x"/>')).replace(b"</soapenv:Body>",
                 b'<a id="x">' + b"<d>" * 95 + b"</d>" * 95 + b"</a></soapenv:Body>"), id="href-to-deep-target"),
    pytest.param(envelope(VERSION).replace(b"<soapenv:Body>", b'<soapenv:Header><x:h xmlns:x="urn:x" '
                                                             b'soapenv:mustUnderstand="1"/></soapenv:Header>'
                                                             b"<soapenv:Body>"), id="unknown-header"),
    pytest.param(envelope(op("getVersionString", "<a>" * 90 + "</a>" * 90)), id="nesting-within-limit"),
    pytest.param(envelope(op("getVersionString", '<a xsi:type="c:ClassAdStruct"><item href="#m"/></a>')
                          + '<multiRef id="m"><x/></multiRef>'), id="multiref-sibling"),
    pytest.param(envelope(op("getVersionString", '<a href="#nowhere"/><b id="y"/>')), id="dangling-href"),
]


def _version_ok(response) -> None:
    assert response.status_code == 200, response.content[:500]
    root = etree.fromstring(response.content)
    assert root.find(f"{{{SOAP_ENV}}}Body/{{{TNS}}}getVersionStringResponse/response/status/code").text == "SUCCESS"


@pytest.mark.parametrize("body", ACCEPTED)
def test_accepted_envelope(service, body):
    _version_ok(service.raw(body))


@pytest.mark.parametrize("content_type", ["text/xml; charset=utf-16", "text/xml"])
def test_utf16_with_its_charset_is_read(service, content_type):
    _version_ok(service.raw(('<?xml version="1.0" encoding="UTF-16"?>' + envelope(VERSION).decode()).encode("utf-16"),
                            content_type))


def test_latin1_declared_is_read_as_latin1(service):
    body = b'<?xml version="1.0" encoding="ISO-8859-1"?>' + _template_with_owner("x").replace(b">x<", b">\xe9<")
    response = service.raw(body, "text/xml")
    assert response.status_code == 200
    owner = [i.findtext("value") for i in etree.fromstring(response.content).iter("item") if i.findtext("name") == "Owner"]
    assert owner == ["\u00e9"]


def test_cdata_and_comment_text_is_data(service):
    """CDATA is plain text (never markup) and a comment splits nothing into the value."""
    reply = service.call("createJobTemplate", '<clusterId>1</clusterId><jobId>0</jobId>'
                                              '<owner><![CDATA[a"]<b>]]>c<!-- x -->d</owner>')
    owner = [i for i in reply.answer.iter("item") if i.findtext("name") == "Owner"]
    assert [(i.findtext("type"), i.findtext("value")) for i in owner] == [("STRING-ATTR", 'a"]<b>cd')]


def test_xsi_type_cannot_turn_an_int_into_a_struct(service):
    reply = service.call("beginTransaction", '<duration xsi:type="c:ClassAdStruct"><item><name>x</name>'
                                             '<value>1</value></item></duration>')
    # the element has no text: a missing int is 0, beginTransaction with 0 still opens one
    assert reply.http_status == 200 and reply.status[0] == "SUCCESS"


# External entities and DTDs: never fetched, never read.
class Listener:
    """A loopback TCP socket that records whether anyone connected."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def listener():
    listening = Listener()
    yield listening
    listening.close()


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-MARKER-1234")
    return path


def _template_with_owner(owner: str) -> bytes:
    return envelope(op("createJobTemplate", f"<clusterId>1</clusterId><jobId>0</jobId><owner>{owner}</owner>"))


@pytest.mark.parametrize("dtd", [
    pytest.param('<!DOCTYPE e [<!ENTITY x SYSTEM "{file}">]>', id="external-entity-file"),
    pytest.param('<!DOCTYPE e [<!ENTITY x SYSTEM "{http}/entity">]>', id="external-entity-http"),
    pytest.param('<!DOCTYPE e [<!ENTITY x PUBLIC "-//X//Y" "{http}/public">]>', id="public-entity-http"),
    pytest.param('<!DOCTYPE e [<!ENTITY % p SYSTEM "{http}/param"> %p;]>', id="parameter-entity-http"),
    pytest.param('<!DOCTYPE e [<!ENTITY % p SYSTEM "{file}"> %p;]>', id="parameter-entity-file"),
    pytest.param('<!DOCTYPE e SYSTEM "{http}/external.dtd">', id="external-dtd-http"),
    pytest.param('<!DOCTYPE e SYSTEM "{file}">', id="external-dtd-file"),
    pytest.param('<!DOCTYPE e [<!ENTITY x SYSTEM "{ftp}/e">]>', id="external-entity-ftp"),
])
def test_external_entities_are_never_fetched(service, listener, secret, dtd):
    head = dtd.format(file=secret.as_uri(), http=f"http://127.0.0.1:{listener.port}",
                      ftp=f"ftp://127.0.0.1:{listener.port}")
    response = service.raw(f'<?xml version="1.0"?>{head}'.encode() + _template_with_owner("&x;" if "ENTITY x" in dtd else "o"))
    assert b"TOP-SECRET-MARKER" not in response.content
    time.sleep(0.3)  # a fetch would have connected by now
    assert listener.connections == 0
    assert fault_of(response) == ("Client.SoapError", DTD_REFUSED)


def test_xinclude_is_not_processed(service, secret):
    body = _template_with_owner(f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{secret.as_uri()}" '
                                'parse="text"/>')
    response = service.raw(body)
    assert response.status_code == 200
    assert b"TOP-SECRET-MARKER" not in response.content


def test_internal_entity_is_not_substituted(service):
    """Even a harmless internal entity is refused, never expanded."""
    body = b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x "EXPANDED">]>' + _template_with_owner("a&x;b")
    response = service.raw(body)
    assert b"EXPANDED" not in response.content
    assert fault_of(response) == ("Client.SoapError", DTD_REFUSED)


def test_entity_reference_without_dtd_is_a_syntax_fault(service):
    """No DTD, no entity: a reference to one is malformed XML (libxml2's own message)."""
    code, message = fault_of(service.raw(_template_with_owner("a&x;b")))
    assert code == "Client.XMLSyntaxError" and "Entity 'x' not defined" in message, message


def test_huge_text_node_is_read(service):
    """A 12 MiB text node (over libxml2's 10 MB default, the reason for huge_tree) is read whole."""
    owner = "A" * (12 << 20)
    response = service.raw(_template_with_owner(owner))
    assert response.status_code == 200
    assert owner.encode() in response.content


def test_many_attributes_and_siblings_are_bounded_in_time(service):
    started = time.monotonic()
    body = envelope(op("getVersionString", "<a " + " ".join(f'a{i}="1"' for i in range(50_000)) + "/>"
                       + "<b/>" * 200_000))
    response = service.raw(body)
    assert response.status_code == 200
    assert time.monotonic() - started < 20


def test_http_pipelined_garbage_then_valid(service):
    """A raw socket sends garbage headers; the server answers 400 and still serves."""
    host, port = service.url.split("//")[1].rstrip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")
        answer = sock.recv(200)
    assert answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n")[0]


# Oversized requests: refused before they are read, by a check naming the limit and its setting.
LIMIT = 100_000


def _padded(size: int) -> bytes:
    """A valid getVersionString envelope of exactly ``size`` bytes (white space in the Body)."""
    body = envelope(VERSION)
    return body.replace(b"<soapenv:Body>", b"<soapenv:Body>" + b" " * (size - len(body)))


def _too_long(size: int) -> tuple[str, str]:
    return ("Client.RequestTooLong",
            f"The request is {size} bytes, over this service's limit of {LIMIT} bytes (setting max_request_body_size)")


def test_oversized_request_is_refused_unread(tmp_path):
    from condor_soap import Config, create_app
    from tests.conftest import serve_in_thread

    app = create_app(Config(state_dir=str(tmp_path / "state"), max_request_body_size=LIMIT))
    try:
        with serve_in_thread(app) as url:
            def send(body: bytes):
                return requests.post(url, data=body, timeout=TIMEOUT, headers={"Content-Type": "text/xml"})

            assert fault_of(send(_padded(LIMIT + 1))) == _too_long(LIMIT + 1)
            assert fault_of(send(_padded(5 * LIMIT))) == _too_long(5 * LIMIT)
            _version_ok(send(_padded(LIMIT)))  # the limit itself is accepted
    finally:
        app.close()


def test_oversized_request_through_condor_soap_serve(tmp_path):
    """The real server: waitress reads bodies up to twice the limit, so the service answers
    with its Fault; beyond that waitress cuts the request off unread (HTTP 413)."""
    from tests.functional.service_process import ServiceProcess

    proc = ServiceProcess(tmp_path / "state", "--max-request-body-size", str(LIMIT))
    url = proc.start()
    try:
        def send(body: bytes):
            return requests.post(url, data=body, timeout=TIMEOUT, headers={"Content-Type": "text/xml"})

        _version_ok(send(_padded(LIMIT)))
        assert fault_of(send(_padded(LIMIT + 1))) == _too_long(LIMIT + 1)
        assert fault_of(send(_padded(2 * LIMIT - 1))) == _too_long(2 * LIMIT - 1)
        cut = send(_padded(2 * LIMIT))
        assert cut.status_code == 413 and f"exceeds max_body of {2 * LIMIT}" in cut.text
        _version_ok(send(envelope(VERSION)))
    finally:
        assert proc.stop() == 0
