"""Our generated WSDLs against the gSOAP reference, compared structurally.

Every section a generated client reads is compared exactly. The differences accepted are
listed in :data:`ACCEPTED`, with the reason; the normaliser drops only those.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from condor_soap.soap import models
from condor_soap.soap.wsdl import DEFAULT_ADDRESS, WSDL_SERVICES, render_wsdl

REPO = Path(__file__).resolve().parents[2]
W = "http://schemas.xmlsoap.org/wsdl/"
X = "http://www.w3.org/2001/XMLSchema"
S = "http://schemas.xmlsoap.org/wsdl/soap/"
NS = {"w": W, "x": X, "s": S}

ACCEPTED = {
    "service/documentation":
        "names the generator ('gSOAP 2.7.10 generated service definition'); no client reads it",
    'nillable="false"':
        "gSOAP writes it on some required pointer members (ClassAdStructAttr.name/value, "
        "FileInfo.name, insertAd.ad) and omits it elsewhere; absent means false in XML Schema",
    "layout":
        "whitespace, CRLF vs LF, comments, and the schema element re-declaring the prefixes "
        "already declared on <definitions> carry no meaning",
}


def _qname(el: etree._Element, value: str) -> tuple[str, str]:
    prefix, _, local = value.rpartition(":")
    return el.nsmap[prefix or None], local


def _element(el: etree._Element) -> tuple:
    return (el.get("name"), _qname(el, el.get("type")), el.get("minOccurs", "1"),
            el.get("maxOccurs", "1"), el.get("nillable", "false"))  # ACCEPTED: nillable="false"


def _sequence(el: etree._Element) -> list[tuple]:
    (sequence,) = el.findall("x:sequence", NS)
    return [_element(child) for child in sequence.findall("x:element", NS)]


def describe(wsdl: bytes) -> dict[str, Any]:
    """Everything a client generator reads from a WSDL, as plain comparable data."""
    root = etree.fromstring(wsdl)
    schema = root.find("w:types/x:schema", NS)
    simple = {}
    for st in schema.findall("x:simpleType", NS):
        (restriction,) = st.findall("x:restriction", NS)
        simple[st.get("name")] = (_qname(restriction, restriction.get("base")),
                                  [e.get("value") for e in restriction.findall("x:enumeration", NS)])
    port_type = root.find("w:portType", NS)
    binding = root.find("w:binding", NS)
    service = root.find("w:service", NS)
    return {
        "definitions": (root.get("name"), root.get("targetNamespace")),
        "schema": (schema.get("targetNamespace"), schema.get("elementFormDefault"),
                   schema.get("attributeFormDefault"),
                   [(i.get("namespace"), i.get("schemaLocation")) for i in schema.findall("x:import", NS)]),
        "simpleTypes": simple,
        "complexTypes": {ct.get("name"): _sequence(ct) for ct in schema.findall("x:complexType", NS)},
        "elements": {e.get("name"): _sequence(e.find("x:complexType", NS)) for e in schema.findall("x:element", NS)},
        "messages": {m.get("name"): [(p.get("name"), _qname(p, p.get("element")), p.get("type"))
                                     for p in m.findall("w:part", NS)]
                     for m in root.findall("w:message", NS)},
        "portType": (port_type.get("name"), [
            (op.get("name"), op.findtext("w:documentation", namespaces=NS),
             _qname(op, op.find("w:input", NS).get("message")), _qname(op, op.find("w:output", NS).get("message")))
            for op in port_type.findall("w:operation", NS)]),
        "binding": (binding.get("name"), _qname(binding, binding.get("type")),
                    binding.find("s:binding", NS).get("style"), binding.find("s:binding", NS).get("transport"), [
            (op.get("name"), op.find("s:operation", NS).get("soapAction"),
             [(d, op.find(f"w:{d}/s:body", NS).get("parts"), op.find(f"w:{d}/s:body", NS).get("use"))
              for d in ("input", "output")])
            for op in binding.findall("w:operation", NS)]),
        # service/documentation is left out: ACCEPTED
        "service": (service.get("name"), [(p.get("name"), _qname(p, p.get("binding")),
                                           p.find("s:address", NS).get("location"))
                                          for p in service.findall("w:port", NS)]),
    }


SECTIONS = ["definitions", "schema", "simpleTypes", "complexTypes", "elements", "messages",
            "portType", "binding", "service"]


@pytest.mark.parametrize("service_name", list(WSDL_SERVICES))
@pytest.mark.parametrize("section", SECTIONS)
def test_matches_reference(reference_dir, service_name, section):
    ours = describe(render_wsdl(service_name, DEFAULT_ADDRESS))
    reference = describe((reference_dir / f"{service_name}.wsdl").read_bytes())
    assert ours[section] == reference[section]


@pytest.mark.parametrize("service_name", list(WSDL_SERVICES))
def test_type_order_matches_reference(reference_dir, service_name):
    """Not read by clients, but keeps the files diffable against the reference."""
    def names(wsdl: bytes) -> list[str]:
        schema = etree.fromstring(wsdl).find("w:types/x:schema", NS)
        return [t.get("name") for t in schema if isinstance(t.tag, str) and t.tag != f"{{{X}}}import"]

    assert names(render_wsdl(service_name)) == names((reference_dir / f"{service_name}.wsdl").read_bytes())


def _canonical_lines(wsdl: bytes) -> list[str]:
    """Canonical XML (c14n drops redundant namespace declarations), line by line, without the
    ACCEPTED items: layout, comments, nillable="false" and the service documentation."""
    text = etree.tostring(etree.fromstring(wsdl), method="c14n").decode()
    out = []
    for line in text.split("\n"):
        line = line.split("<!--")[0].strip().replace(' nillable="false"', "")
        if line and "<documentation>gSOAP" not in line and "<documentation>condor-soap" not in line:
            out.append(line)
    return out


@pytest.mark.parametrize("service_name", list(WSDL_SERVICES))
def test_accepted_differences_are_the_only_ones(reference_dir, service_name):
    """Catch-all beyond :func:`describe`: the files are equal but for what ACCEPTED lists."""
    ours = _canonical_lines(render_wsdl(service_name))
    reference = _canonical_lines((reference_dir / f"{service_name}.wsdl").read_bytes())
    assert len(ours) > 100
    empty = "<sequence></sequence>"  # an empty sequence, written <sequence/> by lxml: layout
    assert "".join(ours).replace(empty, "") == "".join(reference).replace(empty, "")


@pytest.mark.parametrize("service_name", list(WSDL_SERVICES))
def test_wsdl_directory_is_current(service_name):
    """wsdl/ holds exactly what the writer generates now (regenerate: condor-soap wsdl wsdl/)."""
    assert (REPO / "wsdl" / f"{service_name}.wsdl").read_bytes() == render_wsdl(service_name, DEFAULT_ADDRESS)


@pytest.mark.parametrize("path", [
    pytest.param("condor-7.2.4/condorSchedd.wsdl", id="7.2.4-schedd"),
    pytest.param("condor-7.2.4/condorCollector.wsdl", id="7.2.4-collector"),
    pytest.param("condorSchedd.wsdl", id="8.x-schedd"),
])
def test_every_older_literal_is_accepted_on_input(reference_dir, path):
    for name, (_, literals) in describe((reference_dir / path).read_bytes())["simpleTypes"].items():
        wire_enum = getattr(models, name)
        for literal in literals:
            assert literal in wire_enum.decode, f"{name} {literal}"


def test_served_literals_are_8x_only():
    assert "LOCALUNIVESE" not in models.UniverseType.__values__
    assert "LOCAL" in models.UniverseType.__values__
    assert "MD5" not in models.HashType.__values__
