"""The WSDL contract on the wire: request envelopes, answers, ClassAd arrays read as they arrive.

Requests are document/literal SOAP 1.1 in ``urn:condor``, as ``condorSchedd.wsdl`` and
``condorCollector.wsdl`` describe them: the operation element is qualified, its children are
not (``elementFormDefault="unqualified"``), in the WSDL's order. :data:`OPERATIONS` lists each
operation's children; a ``None`` argument is left out (the original read a missing element as
null, like ``xsi:nil``).
"""
from __future__ import annotations

import base64
import re
from typing import Any, Iterable, Iterator, Mapping, NamedTuple, Optional, Sequence

from lxml import etree

from condor_soap.client.classad import READERS, ClassAd, from_wire, to_wire
from condor_soap.client.errors import (InvalidResponse, SoapFault, StatusCode, error_for_status)

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
TYPE_LITERALS = frozenset(READERS)
NS = "urn:condor"

#: Each operation's request children, in the WSDLs' order.
OPERATIONS: dict[str, tuple[str, ...]] = {
    # both WSDLs (daemon core)
    "getVersionString": (),
    "getPlatformString": (),
    # condorSchedd.wsdl
    "beginTransaction": ("duration",),
    "commitTransaction": ("transaction",),
    "abortTransaction": ("transaction",),
    "extendTransaction": ("transaction", "duration"),
    "newCluster": ("transaction",),
    "removeCluster": ("transaction", "clusterId", "reason"),
    "newJob": ("transaction", "clusterId"),
    "removeJob": ("transaction", "clusterId", "jobId", "reason", "force-removal"),
    "holdJob": ("transaction", "clusterId", "jobId", "reason", "email-user", "email-admin", "system-hold"),
    "releaseJob": ("transaction", "clusterId", "jobId", "reason", "email-user", "email-admin"),
    "submit": ("transaction", "clusterId", "jobId", "jobAd"),
    "getJobAds": ("transaction", "constraint"),
    "getJobAd": ("transaction", "clusterId", "jobId"),
    "declareFile": ("transaction", "clusterId", "jobId", "name", "size", "hashType", "hash"),
    "sendFile": ("transaction", "clusterId", "jobId", "name", "offset", "data"),
    "getFile": ("transaction", "clusterId", "jobId", "name", "offset", "length"),
    "closeSpool": ("transaction", "clusterId", "jobId"),
    "listSpool": ("transaction", "clusterId", "jobId"),
    "requestReschedule": (),
    "discoverJobRequirements": ("jobAd",),
    "createJobTemplate": ("clusterId", "jobId", "owner", "type", "cmd", "args", "requirements"),
    # condorCollector.wsdl
    "insertAd": ("type", "ad"),
    **{f"query{kind}Ads": ("constraint",) for kind in
       ("Startd", "Schedd", "Master", "Submittor", "License", "Storage", "Any")},
}

_ENVELOPE = ('<?xml version="1.0" encoding="UTF-8"?>\n'
             f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}" xmlns:condor="{NS}">'
             '<SOAP-ENV:Body><condor:{op}>{body}</condor:{op}></SOAP-ENV:Body></SOAP-ENV:Envelope>')
# XML 1.0 cannot carry these at all, not even as character references.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


class Txn(NamedTuple):
    """A ``Transaction`` element: the id and lease the service gave."""

    id: int
    duration: int


def text(value: str) -> str:
    """``value`` escaped for element content (``\\r`` kept: parsers fold a raw one into ``\\n``)."""
    if _NOT_XML.search(value):
        raise ValueError(f"{value!r} holds a control character XML cannot carry")
    return value.translate(_ESCAPES)


def element(name: str, value: Any) -> str:
    """One request child: ``<name>value</name>``, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, Txn):
        inner = f"<id>{value.id}</id><duration>{value.duration}</duration>"
    elif isinstance(value, bool):
        inner = "true" if value else "false"
    elif isinstance(value, int):
        inner = str(value)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        inner = base64.b64encode(value).decode("ascii")
    elif isinstance(value, str):
        inner = text(value)
    elif isinstance(value, Mapping):  # a ClassAdStruct
        inner = "".join(f"<item><name>{text(n)}</name><type>{t}</type><value>{text(v)}</value></item>"
                        for n, t, v in to_wire(value))
    else:
        raise TypeError(f"cannot send {type(value).__name__} as <{name}>")
    return f"<{name}>{inner}</{name}>"


def envelope(operation: str, **arguments: Any) -> bytes:
    """The request for ``operation``; keyword names are the WSDL's with ``-`` as ``_``."""
    names = OPERATIONS[operation]
    unknown = set(arguments) - {n.replace("-", "_") for n in names}
    if unknown:
        raise TypeError(f"{operation} has no argument {', '.join(sorted(unknown))}")
    body = "".join(element(n, arguments.get(n.replace("-", "_"))) for n in names)
    return _ENVELOPE.format(op=operation, body=body).encode("utf-8")


# answers ------------------------------------------------------------------------------------

#: Parser for whole answers: no DTD, no entities, no network; getFile data may exceed 10 MB.
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True)


def _child(parent: etree._Element, name: str) -> Optional[etree._Element]:
    for el in parent:
        if isinstance(el.tag, str) and etree.QName(el).localname == name:
            return el
    return None


def payload(content: bytes, operation: str) -> etree._Element:
    """The answer's part (``response``, ``result`` or ``status``) of a whole SOAP answer;
    raises :class:`SoapFault` for a Fault, :class:`InvalidResponse` for anything else."""
    root = etree.fromstring(content, PARSER)
    body = _child(root, "Body") if etree.QName(root).localname == "Envelope" else None
    answer = next((el for el in body if isinstance(el.tag, str)), None) if body is not None else None
    if answer is None:
        raise InvalidResponse("the answer is not a SOAP envelope with a body", operation=operation)
    if etree.QName(answer).localname == "Fault":
        raise SoapFault(answer.findtext("faultcode") or "", answer.findtext("faultstring") or "",
                        operation=operation)
    part = next((el for el in answer if isinstance(el.tag, str)), None)
    if part is None:
        raise InvalidResponse(f"empty {etree.QName(answer).localname}", operation=operation)
    return part


def check_status(part: etree._Element, operation: str, job: Optional[str] = None) -> None:
    """Raise the :class:`StatusError` of a non-SUCCESS ``Status`` (``part`` is the Status or
    holds one as ``status``)."""
    status = part if _child(part, "code") is not None else _child(part, "status")
    if status is None:
        raise InvalidResponse("the answer has no status", operation=operation, job=job)
    literal = (_child(status, "code").text or "").strip()
    try:
        code = StatusCode[literal]
    except KeyError:
        raise InvalidResponse(f"unknown status code {literal!r}", operation=operation, job=job) from None
    if code is not StatusCode.SUCCESS:
        message = _child(status, "message")
        raise error_for_status(code, message.text if message is not None else None, operation=operation, job=job)


def field(part: etree._Element, name: str) -> Optional[etree._Element]:
    """The answer's ``name`` member (``integer``, ``transaction``, ``data``...), or None."""
    return _child(part, name)


def ad_of(struct: Optional[etree._Element], projection: Optional[frozenset[str]] = None) -> ClassAd:
    """A ``ClassAdStruct`` element as a :class:`ClassAd` (``projection``: folded names to keep)."""
    if struct is None:
        return ClassAd()
    texts = [el.text for el in struct.iter("name", "type", "value")]
    # The fast path reads the texts in document order as (name, type, value) triples; it
    # stands when the counts agree, the first item is in the WSDL's order and every third
    # text is a type literal (a shifted triple would put a name or value there).
    if len(texts) != 3 * len(struct) or not _ordered(struct) or not set(texts[1::3]) <= TYPE_LITERALS:
        texts = _texts_by_name(struct)
    names, types, values = texts[0::3], texts[1::3], texts[2::3]
    if projection is not None:
        keep = [i for i, n in enumerate(names) if n is not None and n.casefold() in projection]
        names, types, values = ([seq[i] for i in keep] for seq in (names, types, values))
    return from_wire(names, types, values)


def _ordered(struct: etree._Element) -> bool:
    """True when the first item is exactly ``name, type, value`` (the WSDL's sequence)."""
    first = struct[0] if len(struct) else None
    return first is None or [c.tag for c in first] == ["name", "type", "value"]


def _texts_by_name(struct: etree._Element) -> list[Optional[str]]:
    """The slow path of :func:`ad_of`: each item's name, type and value looked up by local
    name, whatever their order, qualification or missing members."""
    texts: list[Optional[str]] = []
    for item in struct:
        if not isinstance(item.tag, str):
            continue
        for name in ("name", "type", "value"):
            el = _child(item, name)
            texts.append(el.text if el is not None else None)
    return texts


def iter_ads(chunks: Iterable[bytes], operation: str, projection: Optional[Sequence[str]] = None) -> Iterator[ClassAd]:
    """The ads of a ``getJobAds`` or ``query*Ads`` answer, each yielded as soon as its
    ``</item>`` arrives and then dropped from the tree: memory stays at one ad plus one chunk.

    The status (getJobAds) precedes the array, so a failure raises before any ad is yielded.
    """
    keep = frozenset(n.casefold() for n in projection) if projection else None
    parser = etree.XMLPullParser(events=("start",), tag=("classAdArray", "result"), resolve_entities=False,
                                 no_network=True, huge_tree=True)
    array: Optional[etree._Element] = None
    for chunk in chunks:
        parser.feed(chunk)
        if array is None:
            for _, el in parser.read_events():
                array = el
                if el.tag == "classAdArray":  # its status came first, complete
                    check_status(el.getparent(), operation)
        if array is not None:
            while len(array) > 1:  # the last child may still be arriving
                yield ad_of(array[0], keep)
                del array[0]
    root = parser.close()
    if array is None:
        part = payload(etree.tostring(root), operation)
        if operation == "getJobAds":
            check_status(part, operation)
        return
    while len(array):
        yield ad_of(array[0], keep)
        del array[0]

