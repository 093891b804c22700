"""Our own WSDL 1.1 writer: gSOAP-shaped WSDL generated from the Spyne services and models.

Spyne's WSDL differs from the original in ways generated clients notice (qualified
children, named wrapper types, ``...Result`` parts, soapAction), so this module walks the
services instead (spec §3, §7): operations in declaration order, the in/out message types
of each, their members' ``min_occurs``/``max_occurs``/``nillable`` and the enumerations'
literals. The shape is the reference's: one inline schema (``elementFormDefault=
"unqualified"``), named types, anonymous wrapper elements, messages with one ``parameters``
part, a document/literal binding with ``soapAction=""``.
"""
from __future__ import annotations

import functools
import os
from typing import Any, Iterable, Iterator

from lxml import etree
from spyne.model.complex import ComplexModelBase
from spyne.model.enum import EnumBase
from spyne.model.primitive import Unicode

from condor_soap.soap.collector import CollectorService
from condor_soap.soap.daemon_core import DaemonCoreService
from condor_soap.soap.models import SCHEMA_ORDER, TNS
from condor_soap.soap.schedd import ScheddService

DEFAULT_ADDRESS = "http://localhost:80"
WSDL_SERVICES: dict[str, tuple[Any, ...]] = {
    "condorSchedd": (DaemonCoreService, ScheddService),
    "condorCollector": (DaemonCoreService, CollectorService),
}

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
SOAP_ENC_NS = "http://schemas.xmlsoap.org/soap/encoding/"
HTTP_TRANSPORT = "http://schemas.xmlsoap.org/soap/http"
_COMMON_NS = {
    "SOAP-ENV": "http://schemas.xmlsoap.org/soap/envelope/",
    "SOAP-ENC": SOAP_ENC_NS,
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "xsd": XSD_NS,
    "condor": TNS,
}
_ROOT_NS = {None: WSDL_NS, "tns": TNS, **_COMMON_NS, "SOAP": SOAP_NS,
            "MIME": "http://schemas.xmlsoap.org/wsdl/mime/",
            "DIME": "http://schemas.xmlsoap.org/ws/2002/04/dime/wsdl/", "WSDL": WSDL_NS}
_PREFIX = {TNS: "condor", XSD_NS: "xsd"}


def _w(tag: str) -> str:
    return f"{{{WSDL_NS}}}{tag}"


def _x(tag: str) -> str:
    return f"{{{XSD_NS}}}{tag}"


def _s(tag: str) -> str:
    return f"{{{SOAP_NS}}}{tag}"


def _orig(cls: Any) -> Any:
    return cls.__orig__ or cls


def _qname(cls: Any) -> str:
    return f"{_PREFIX[cls.get_namespace()]}:{cls.get_type_name()}"


def _operations(services: Iterable[Any]) -> list[Any]:
    return [d for service in services for d in service.public_methods.values()]


def _named_types(services: Iterable[Any], operations: Iterable[Any]) -> list[Any]:
    """The ``urn:condor`` types the operations use plus those the services list in
    ``wsdl_types``, in :data:`SCHEMA_ORDER`."""
    found: set[Any] = {t for service in services for t in getattr(service, "wsdl_types", ())}

    def visit(cls: Any) -> None:
        for member in cls._type_info.values():
            orig = _orig(member)
            if member.get_namespace() == TNS and orig not in found:
                found.add(orig)
                if issubclass(orig, ComplexModelBase):
                    visit(orig)

    for d in operations:
        visit(d.in_message)
        visit(d.out_message)
    unknown = found.difference(SCHEMA_ORDER)
    if unknown:
        raise LookupError(f"types missing from models.SCHEMA_ORDER: {unknown}")
    return [t for t in SCHEMA_ORDER if t in found]


def _element(parent: Any, name: str, cls: Any) -> None:
    attrs = cls.Attributes
    max_occurs = "unbounded" if attrs.max_occurs == float("inf") else str(attrs.max_occurs)
    el = etree.SubElement(parent, _x("element"), name=name, type=_qname(cls),
                          minOccurs=str(attrs.min_occurs), maxOccurs=max_occurs)
    if attrs.nillable:
        el.set("nillable", "true")


def _sequence(parent: Any, cls: Any) -> None:
    sequence = etree.SubElement(parent, _x("sequence"))
    for name, member in cls._type_info.items():
        _element(sequence, name, member)


def _type(schema: Any, cls: Any) -> None:
    if issubclass(cls, ComplexModelBase):
        _sequence(etree.SubElement(schema, _x("complexType"), name=cls.get_type_name()), cls)
        return
    simple = etree.SubElement(schema, _x("simpleType"), name=cls.get_type_name())
    if issubclass(cls, EnumBase):  # Spyne enumerations are strings
        restriction = etree.SubElement(simple, _x("restriction"), base=_qname(Unicode))
        for literal in cls.__values__:
            etree.SubElement(restriction, _x("enumeration"), value=literal)
            restriction.append(etree.Comment(f" enum const = {cls.c_values[literal]} "))
    else:
        base = next(b for b in cls.__mro__[1:] if b.get_namespace() == XSD_NS)
        etree.SubElement(simple, _x("restriction"), base=_qname(base))


def _schema(types: Any, services: Iterable[Any], operations: list[Any]) -> None:
    schema = etree.SubElement(types, _x("schema"), nsmap={None: XSD_NS, **_COMMON_NS},
                              targetNamespace=TNS, elementFormDefault="unqualified",
                              attributeFormDefault="unqualified")
    etree.SubElement(schema, _x("import"), namespace=SOAP_ENC_NS)
    for cls in _named_types(services, operations):
        _type(schema, cls)
    for d in operations:
        for comment, message in (("request", d.in_message), ("response", d.out_message)):
            schema.append(etree.Comment(f" operation {comment} element "))
            wrapper = etree.SubElement(schema, _x("element"), name=message.get_type_name())
            _sequence(etree.SubElement(wrapper, _x("complexType")), message)


def _messages(d: Any) -> Iterator[tuple[str, str]]:
    """(message name, wrapper element name) of an operation's input and output."""
    yield d.name + d.udd.input_message_suffix, d.in_message.get_type_name()
    yield d.out_message.get_type_name(), d.out_message.get_type_name()


def _build(service_name: str, address: str) -> bytes:
    services = WSDL_SERVICES[service_name]
    operations = _operations(services)
    root = etree.Element(_w("definitions"), nsmap=_ROOT_NS, name=service_name, targetNamespace=TNS)
    _schema(etree.SubElement(root, _w("types")), services, operations)
    for d in operations:
        for message, wrapper in _messages(d):
            msg = etree.SubElement(root, _w("message"), name=message)
            etree.SubElement(msg, _w("part"), name="parameters", element=f"condor:{wrapper}")

    port_type = etree.SubElement(root, _w("portType"), name=f"{service_name}PortType")
    for d in operations:
        op = etree.SubElement(port_type, _w("operation"), name=d.name)
        etree.SubElement(op, _w("documentation")).text = f"Service definition of function condor__{d.name}"
        (input_message, _), (output_message, _) = _messages(d)
        etree.SubElement(op, _w("input"), message=f"tns:{input_message}")
        etree.SubElement(op, _w("output"), message=f"tns:{output_message}")

    binding = etree.SubElement(root, _w("binding"), name=service_name, type=f"tns:{service_name}PortType")
    etree.SubElement(binding, _s("binding"), style="document", transport=HTTP_TRANSPORT)
    for d in operations:
        op = etree.SubElement(binding, _w("operation"), name=d.name)
        etree.SubElement(op, _s("operation"), soapAction="")
        for direction in ("input", "output"):
            etree.SubElement(etree.SubElement(op, _w(direction)), _s("body"), parts="parameters", use="literal")

    service = etree.SubElement(root, _w("service"), name=service_name)
    etree.SubElement(service, _w("documentation")).text = "condor-soap generated service definition"
    port = etree.SubElement(service, _w("port"), name=service_name, binding=f"tns:{service_name}")
    etree.SubElement(port, _s("address"), location=address)
    etree.indent(root, space=" ")
    for comment in root.iter(etree.Comment):  # gSOAP puts each enum's C value on its line
        if comment.getprevious() is not None and comment.getprevious().tag == _x("enumeration"):
            comment.getprevious().tail = ""
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="UTF-8") + b"\n"


@functools.lru_cache(maxsize=64)  # bounded: the address comes from the client's Host header
def render_wsdl(service_name: str, address: str = DEFAULT_ADDRESS) -> bytes:
    """The WSDL of ``service_name`` (``condorSchedd`` or ``condorCollector``) with
    ``soap:address location=address``."""
    return _build(service_name, address)


def write_wsdls(directory: str, address: str = DEFAULT_ADDRESS) -> list[str]:
    """Write ``<service>.wsdl`` for every service into ``directory``; returns the paths."""
    os.makedirs(directory, exist_ok=True)
    paths = []
    for service_name in WSDL_SERVICES:
        path = os.path.join(directory, f"{service_name}.wsdl")
        with open(path, "wb") as f:
            f.write(render_wsdl(service_name, address))
        paths.append(path)
    return paths
