"""ClassAd answers written straight from the core's records, streamed: the fast path beside
Spyne's generic serializer for getJobAds, getJobAd, query*Ads and createJobTemplate.

Spyne builds one model object per ``ClassAdStructAttr`` and walks them one by one; a queue of
10,000 jobs is 800,000 of them. Here an answer is text: each item is formatted from its
:class:`~condor_soap.core.records.Attr` (or, for a
:class:`~condor_soap.core.records.ShapedStruct`, one ``%`` of its shape's template fills a
whole ad), encoded and handed to the server in chunks of about :data:`CHUNK` characters as
they are made, so the memory of an answer does not grow with its size.

The bytes are Spyne's: the same envelope, prefixes, element order, escaping (``&``, ``<``,
``>`` and CR as ``&#13;``; characters XML cannot carry as U+FFFD, as :mod:`.protocol` makes
Spyne write them) and ``xsi:nil``; tests/soap/test_ads_xml.py proves every operation's
answer byte-identical to Spyne's for generated ads and valid against the reference schema.
Only :data:`HEAD` characters are made before the answer is handed over; an answer that fits
is sent whole, with a Content-Length. A longer one is chunked: ``xsi`` is declared on the
Envelope when a nil value came in the head (as Spyne does), and declared locally on a nil
value that comes later (the core's ads never have one). An error before the first byte is
the operation's usual FAIL answer; an error after it breaks the connection off, so that the
client sees a failed call, never a short list.
"""
from __future__ import annotations

import re
from itertools import chain
from typing import Iterable, Sequence

from condor_soap.core.records import Attr, Shape, ShapedStruct
from condor_soap.soap import models as m
from condor_soap.streaming import CHUNK, chunked

HEAD = CHUNK
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_XSI_DECLARATION = f' xmlns:xsi="{XSI}"'
_ENVELOPE = ("<?xml version='1.0' encoding='UTF-8'?>\n<soap11env:Envelope{xsi} "
             'xmlns:soap11env="http://schemas.xmlsoap.org/soap/envelope/" '
             f'xmlns:tns="{m.TNS}"><soap11env:Body><tns:{{operation}}Response>')
_CLOSE = "</tns:{operation}Response></soap11env:Body></soap11env:Envelope>"
_SUCCESS = "<status><code>SUCCESS</code><message>Success</message></status>"
#: Characters XML 1.0 cannot carry, and every character the writer must escape.
INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TYPES = {kind: m.ClassAdAttrType.encode[kind] for kind in m.ClassAdAttrType.encode}


def xml_text(value: str) -> str:
    """``value`` with the characters XML cannot carry replaced by U+FFFD (Spyne's text too)."""
    return INVALID_XML.sub("\ufffd", value) if INVALID_XML.search(value) else value


def escape(value: str) -> str:
    """``value`` as element text, escaped as lxml escapes it."""
    if _SPECIAL.search(value) is None:
        return value
    return (xml_text(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\r", "&#13;"))


class Streamed:
    """An answer the face writes itself: its bytes, a list (sent whole) or an iterator."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.chunks = chunks


class _Writer:
    """Formats ads; remembers whether a nil went out and how ``xsi`` is declared."""

    def __init__(self) -> None:
        self.nil = False
        self.local_xsi = False  # after the head: xsi is not declared on the Envelope
        self._templates: dict[Shape, str] = {}

    def _nil(self, tag: str) -> str:
        self.nil = True
        return f'<{tag}{_XSI_DECLARATION} xsi:nil="true"/>' if self.local_xsi else f'<{tag} xsi:nil="true"/>'

    def item(self, attr: Attr) -> str:
        name = self._nil("name") if attr.name is None else f"<name>{escape(attr.name)}</name>"
        value = self._nil("value") if attr.value is None else f"<value>{escape(attr.value)}</value>"
        return f"<item>{name}<type>{_TYPES[attr.type]}</type>{value}</item>"

    def items(self, ad: Sequence[Attr]) -> str:
        """The ``item`` elements of one ClassAdStruct."""
        if type(ad) is ShapedStruct:
            template = self._templates.get(ad.shape)
            if template is None:
                template = self._templates[ad.shape] = self._template(ad.shape)
            values = ad.values
            if _SPECIAL.search("".join(values)) is not None:
                values = [escape(v) for v in values]
            return template % tuple(values)
        return "".join([self.item(attr) for attr in ad])

    def _template(self, shape: Shape) -> str:
        parts = []
        for name, kind, constant in shape.items:
            value = "%s" if constant is None else escape(constant).replace("%", "%%")
            parts.append(f"<item><name>{escape(name).replace('%', '%%')}</name><type>{_TYPES[kind]}</type>"
                         f"<value>{value}</value></item>")
        return "".join(parts)

    def array_item(self, ad: Sequence[Attr]) -> str:
        """One ``item`` of a ClassAdStructArray."""
        inner = self.items(ad)
        return f"<item>{inner}</item>" if inner else "<item/>"


def ads_answer(operation: str, member: str, ads: Iterable[Sequence[Attr]], status: bool = True) -> Streamed:
    """The answer of ``operation`` holding ``ads`` in its ClassAdStructArray ``member``
    (``classAdArray`` in ``response`` with a SUCCESS status; ``result`` of query*Ads without).
    Makes the head now, so that an error there is still the operation's FAIL answer."""
    writer = _Writer()
    ads = iter(ads)
    parts: list[str] = []
    size = 0
    more = False
    for ad in ads:
        part = writer.array_item(ad)
        parts.append(part)
        size += len(part)
        if size >= HEAD:
            more = True
            break
    opening, closing = (f"<response>{_SUCCESS}", "</response>") if status else ("", "")
    if not more:
        body = f"<{member}>{''.join(parts)}</{member}>" if parts else f"<{member}/>"
        return Streamed([_whole(operation, writer.nil, opening + body + closing)])
    head = _ENVELOPE.format(xsi=_XSI_DECLARATION if writer.nil else "", operation=operation) + \
        opening + f"<{member}>" + "".join(parts)
    writer.local_xsi = not writer.nil
    tail = f"</{member}>{closing}" + _CLOSE.format(operation=operation)
    # CHUNK read here, not chunked()'s default: tests set it smaller to stream a short answer
    return Streamed(chunked(chain((head,), map(writer.array_item, ads), (tail,)), operation, CHUNK))


def ad_answer(operation: str, ad: Sequence[Attr]) -> Streamed:
    """The answer of ``operation`` holding one ClassAdStruct ``classAd`` with SUCCESS."""
    writer = _Writer()
    items = writer.items(ad)
    body = f"<classAd>{items}</classAd>" if items else "<classAd/>"
    return Streamed([_whole(operation, writer.nil, f"<response>{_SUCCESS}{body}</response>")])


def _whole(operation: str, nil: bool, body: str) -> bytes:
    return (_ENVELOPE.format(xsi=_XSI_DECLARATION if nil else "", operation=operation) + body
            + _CLOSE.format(operation=operation)).encode()
