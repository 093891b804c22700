"""SOAP 1.1 with gSOAP's leniency on input (spec §2, client checklist §4.1).

Spyne's validators do not fit: ``'lxml'`` validates against Spyne's own schema and rejects
unqualified children; ``'soft'`` rejects missing ``minOccurs=1`` members and ``xsi:nil`` on
non-nillable ones, both of which the original accepted. So validation is off and this
protocol keeps only the checks gSOAP made:

* a value that cannot be read (``"abc"`` or out-of-range for ``xsd:int``, bad base64, an
  unknown enum literal) is a ``Client.ValidationError`` Fault;
* a missing, nil or empty scalar takes its model default (0, false, NOHASH...);
* enumerations read their literal, a legacy literal or the C number, into the core enum
  member, and write a core member as its 8.x literal (see :mod:`.models`).

Children match by local name, so qualified and unqualified children both work; unknown
children are skipped; ``xsi:type`` is ignored (SOAP::Lite sends it on every element).
"""
from __future__ import annotations

import binascii
import logging
from typing import Any

from spyne.error import Fault, ValidationError
from spyne.model.binary import BINARY_ENCODING_BASE64
from spyne.protocol.soap import Soap11


LOGGED_REQUEST_CHARS = 2000


def _shorten_logged_request(record: logging.LogRecord) -> bool:
    """Spyne logs the whole request when it is not XML; keep only its start."""
    if isinstance(record.args, tuple):
        record.args = tuple(arg[:LOGGED_REQUEST_CHARS] if isinstance(arg, (str, bytes)) else arg
                            for arg in record.args)
    return True


logging.getLogger("spyne.protocol.soap.soap11.invalid").addFilter(_shorten_logged_request)


class LenientSoap11(Soap11):
    """Soap11 in and out, reading requests the way gSOAP 2.7 did."""

    def __init__(self, **kw: Any) -> None:
        # huge_tree: one sendFile may carry a whole file, far over libxml2's 10 MB text limit
        super().__init__(validator=None, parse_xsi_type=False, binary_encoding=BINARY_ENCODING_BASE64,
                         huge_tree=True, **kw)

    def create_in_document(self, ctx: Any, charset: Any = None) -> None:
        try:
            super().create_in_document(ctx, charset)
        except StopIteration:  # Spyne's parser does not expect an empty body
            raise Fault("Client.XMLSyntaxError", "Empty request") from None

    def decompose_incoming_envelope(self, ctx: Any, message: Any = Soap11.REQUEST) -> None:
        envelope = ctx.in_document[0]
        body = envelope.find(f"{{{self.ns_soap_env}}}Body")
        if body is not None and len(body) == 0:  # Spyne would fail with an AttributeError
            raise Fault("Client.SoapError", "The SOAP Body holds no operation")
        super().decompose_incoming_envelope(ctx, message)

    def base_from_element(self, ctx: Any, cls: Any, element: Any) -> Any:
        text = element.text
        if text is None or not text.strip():
            return self.get_cls_attrs(cls).default
        value = self.from_unicode(cls, text.strip())  # raises ValidationError "Could not cast ..."
        if not cls.validate_native(cls, value):
            raise ValidationError(text)
        return value

    def byte_array_from_element(self, ctx: Any, cls: Any, element: Any) -> Any:
        try:
            return self.from_unicode(cls, element.text or "", self.binary_encoding)
        except (binascii.Error, ValueError):
            raise ValidationError(element.text, "Invalid base64 data: %r") from None

    def enum_from_element(self, ctx: Any, cls: Any, element: Any) -> Any:
        text = (element.text or "").strip()
        if not text:
            return self.get_cls_attrs(cls).default
        try:
            return cls.decode[text]
        except KeyError:
            raise ValidationError(text, f"Unknown {cls.get_type_name()} value %r") from None

    def enum_to_parent(self, ctx: Any, cls: Any, inst: Any, parent: Any, ns: Any, name: str = "retval", **kw: Any) -> Any:
        return self.modelbase_to_parent(ctx, cls, cls.encode[inst], parent, ns, name, **kw)
