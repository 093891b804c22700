"""The client's envelopes follow the reference WSDLs; answers are read the same whatever their
chunking; the fast ClassAd reader is the by-name reader's equal."""
from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from condor_soap.client import wire
from condor_soap.client.classad import READERS, ClassAd, Expression
from condor_soap.client.errors import Failed, InvalidResponse, SoapFault, UnknownJob

XSD = "{http://www.w3.org/2001/XMLSchema}"
WSDL = "{http://schemas.xmlsoap.org/wsdl/}"


def wsdl_requests(path) -> dict[str, list[str]]:
    """Each operation's request element children, in order, from a reference WSDL."""
    root = etree.parse(str(path)).getroot()
    elements = {el.get("name"): el for el in root.iter(f"{XSD}element") if el.getparent().tag == f"{XSD}schema"}
    messages = {m.get("name"): m.find(f"{WSDL}part").get("element").split(":")[1] for m in root.iter(f"{WSDL}message")}
    found = {}
    for op in root.find(f"{WSDL}portType").iter(f"{WSDL}operation"):
        request = elements[messages[op.find(f"{WSDL}input").get("message").split(":")[1]]]
        found[op.get("name")] = [c.get("name") for c in request.iter(f"{XSD}element") if c is not request]
    return found


def test_every_operation_is_the_wsdls(reference_dir):
    expected = {**wsdl_requests(reference_dir / "condorSchedd.wsdl"),
                **wsdl_requests(reference_dir / "condorCollector.wsdl")}
    assert {op: list(children) for op, children in wire.OPERATIONS.items()} == expected


def parse(envelope: bytes) -> etree._Element:
    root = etree.fromstring(envelope)
    assert root.tag == f"{{{wire.SOAP_ENV}}}Envelope"
    (body,) = root
    (operation,) = body
    return operation


def test_envelope_is_document_literal():
    op = parse(wire.envelope("declareFile", transaction=wire.Txn(-7, 60), clusterId=3, jobId=0, name="a b.txt",
                             size=5, hashType="MD5HASH", hash=None))
    assert op.tag == "{urn:condor}declareFile"
    # children unqualified, in the WSDL's order; None left out
    assert [c.tag for c in op] == ["transaction", "clusterId", "jobId", "name", "size", "hashType"]
    assert [c.tag for c in op[0]] == ["id", "duration"] and op[0][0].text == "-7"
    assert op.findtext("name") == "a b.txt" and op.findtext("hashType") == "MD5HASH"


def test_values_by_python_type():
    op = parse(wire.envelope("holdJob", clusterId=1, jobId=2, reason="r", email_user=True, email_admin=False,
                             system_hold=False))
    assert [(c.tag, c.text) for c in op] == [("clusterId", "1"), ("jobId", "2"), ("reason", "r"),
                                            ("email-user", "true"), ("email-admin", "false"), ("system-hold", "false")]
    data = bytes(range(256))
    op = parse(wire.envelope("sendFile", transaction=wire.Txn(1, 2), clusterId=1, jobId=0, name="x", offset=0, data=data))
    assert base64.b64decode(op.findtext("data")) == data
    ad = {"S": "text", "I": 3, "F": 0.5, "B": True, "E": Expression("a + 1"), "U": None}
    op = parse(wire.envelope("submit", transaction=wire.Txn(1, 2), clusterId=1, jobId=0, jobAd=ad))
    items = [(i.findtext("name"), i.findtext("type"), i.findtext("value")) for i in op.find("jobAd")]
    assert items == [("S", "STRING-ATTR", "text"), ("I", "INTEGER-ATTR", "3"), ("F", "FLOAT-ATTR", "0.5"),
                     ("B", "BOOLEAN-ATTR", "TRUE"), ("E", "EXPRESSION-ATTR", "a + 1"),
                     ("U", "UNDEFINED-ATTR", "undefined")]


def test_text_survives_xml():
    tricky = 'a & b < c > d "q" \'s\' \r\n\t é \u2603'
    op = parse(wire.envelope("getJobAds", constraint=tricky))
    assert op.findtext("constraint") == tricky  # \r included: sent as &#13;
    with pytest.raises(ValueError, match="control character"):
        wire.envelope("getJobAds", constraint="a\x01b")
    with pytest.raises(ValueError, match="finite"):
        wire.envelope("submit", jobAd={"F": float("nan")})
    with pytest.raises(TypeError, match="no argument"):
        wire.envelope("getJobAds", constraint="true", bogus=1)
    with pytest.raises(TypeError, match="cannot send"):
        wire.envelope("submit", jobAd={"L": [1, 2]})


# answers ------------------------------------------------------------------------------------

def answer(operation: str, inner: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="{wire.SOAP_ENV}" '
            f'xmlns:condor="urn:condor"><SOAP-ENV:Header></SOAP-ENV:Header><SOAP-ENV:Body>'
            f'<condor:{operation}Response>{inner}</condor:{operation}Response>'
            '</SOAP-ENV:Body></SOAP-ENV:Envelope>').encode()


def struct(items: list[tuple[str, str, str]]) -> str:
    return "".join(f"<item><name>{wire.text(n)}</name><type>{t}</type><value>{wire.text(v)}</value></item>"
                   for n, t, v in items)


ADS = [[("MyType", "STRING-ATTR", "Job"), ("ClusterId", "INTEGER-ATTR", str(c)), ("ProcId", "INTEGER-ATTR", "0"),
        ("Rate", "FLOAT-ATTR", "0.250000"), ("Done", "BOOLEAN-ATTR", "FALSE"), ("Empty", "STRING-ATTR", ""),
        ("Req", "EXPRESSION-ATTR", 'Memory >= 10 && Name =?= "x&y"')] for c in range(1, 30)]


def job_ads_answer(ads, code: str = "SUCCESS") -> bytes:
    array = "<classAdArray>" + "".join(f"<item>{struct(ad)}</item>" for ad in ads) + "</classAdArray>"
    return answer("getJobAds", f"<response><status><code>{code}</code><message>m</message></status>"
                               f"{array if code == 'SUCCESS' else ''}</response>")


def chunked(data: bytes, size: int):
    return (data[i:i + size] for i in range(0, len(data), size))


@pytest.mark.parametrize("size", [1, 7, 1000, 1 << 16])
def test_ads_stream_the_same_whatever_the_chunks(size):
    ads = list(wire.iter_ads(chunked(job_ads_answer(ADS), size), "getJobAds"))
    assert [ad["ClusterId"] for ad in ads] == list(range(1, 30))
    first = ads[0]
    assert first["rate"] == 0.25 and first["Done"] is False and first["Empty"] == ""
    assert first["Req"] == Expression('Memory >= 10 && Name =?= "x&y"')
    assert list(first) == [n for n, _, _ in ADS[0]]


def test_projection_and_failures():
    ads = list(wire.iter_ads([job_ads_answer(ADS)], "getJobAds", ["clusterid", "PROCID"]))
    assert dict(ads[3]) == {"ClusterId": 4, "ProcId": 0}
    with pytest.raises(Failed, match="getJobAds: m"):
        list(wire.iter_ads([job_ads_answer(ADS, "FAIL")], "getJobAds"))
    with pytest.raises(UnknownJob):
        list(wire.iter_ads([job_ads_answer(ADS, "UNKNOWNJOB")], "getJobAds"))
    empty = answer("getJobAds", "<response><status><code>SUCCESS</code></status><classAdArray/></response>")
    assert list(wire.iter_ads([empty], "getJobAds")) == []
    fault = (f'<e:Envelope xmlns:e="{wire.SOAP_ENV}"><e:Body><e:Fault><faultcode>e:Client</faultcode>'
             '<faultstring>bad</faultstring></e:Fault></e:Body></e:Envelope>').encode()
    with pytest.raises(SoapFault, match="e:Client: bad"):
        list(wire.iter_ads([fault], "queryAnyAds"))
    with pytest.raises(InvalidResponse):
        wire.payload(b"<html><body>proxy error</body></html>", "getJobAd")
    bad_code = answer("getJobAd", "<response><status><code>MAYBE</code></status></response>")
    with pytest.raises(InvalidResponse, match="MAYBE"):
        wire.check_status(wire.payload(bad_code, "getJobAd"), "getJobAd")
    collector = answer("queryStartdAds", "<result>" + "".join(f"<item>{struct(ad)}</item>" for ad in ADS[:2]) + "</result>")
    assert [ad["ClusterId"] for ad in wire.iter_ads(chunked(collector, 5), "queryStartdAds")] == [1, 2]


def test_entities_are_not_expanded():
    evil = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "expanded">]>' +
            answer("getVersionString", "<response><status><code>SUCCESS</code></status>"
                                       "<message>&e;</message></response>").split(b"?>", 1)[1])
    part = wire.payload(evil, "getVersionString")
    assert "expanded" not in (part.findtext("message") or "")


# the fast reader is the by-name reader's equal --------------------------------------------

TYPES = sorted(READERS)
xml_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufffe\uffff"
                                 + "".join(map(chr, range(1, 32)))), max_size=12)
items = st.lists(st.tuples(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True), st.sampled_from(TYPES),
                           st.one_of(xml_text, st.integers().map(str), st.floats(allow_nan=False).map(repr))),
                 max_size=12)


def slow(item_xml: str) -> dict:
    struct_el = etree.fromstring(f"<classAd>{item_xml}</classAd>")
    texts = wire._texts_by_name(struct_el)
    return dict(wire.from_wire(texts[0::3], texts[1::3], texts[2::3]))


@settings(max_examples=150, deadline=None)
@given(items)
def test_fast_reader_equals_by_name_reader(ad_items):
    xml = struct(ad_items)
    fast = dict(wire.ad_of(etree.fromstring(f"<classAd>{xml}</classAd>")))
    assert fast == slow(xml)
    assert fast == {n: expected_value(t, v) for n, t, v in ad_items}


def expected_value(type_name: str, text: str):
    """The reading the module docstring of condor_soap.client.classad promises."""
    try:
        return READERS[type_name](text)
    except ValueError:
        return Expression(text)


def test_items_out_of_order_are_read_by_name():
    shuffled = ("<item><name>A</name><type>INTEGER-ATTR</type><value>1</value></item>"
                "<item><value>2</value><name>B</name><type>INTEGER-ATTR</type></item>"
                "<item><name>C</name><value>x</value></item>")  # no type: an expression
    ad = wire.ad_of(etree.fromstring(f"<classAd>{shuffled}</classAd>"))
    assert isinstance(ad, ClassAd) and dict(ad) == {"A": 1, "B": 2, "C": Expression("x")}
