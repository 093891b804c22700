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

Hostile input (tests/hostile): a document type declaration is refused before the document is
parsed (:func:`check_prolog`; SOAP 1.1 §3: "A SOAP message MUST NOT contain a Document Type
Declaration"), so no DTD, entity declaration or entity expansion ever reaches the parser
proper; the parser also loads no DTD, resolves no entity and touches no network (Spyne's
defaults, kept). The body's size is bounded before it is read (``max_request_body_size``,
checked by the HTTP layer). On top of that an envelope must be exactly one SOAP 1.1 ``Envelope``
with one ``Body`` whose first child is the operation (further children only as ``id``-bearing
multiRef targets), nest at most :data:`MAX_DEPTH` elements, and ``href`` references are
resolved here, without recursion, refusing cycles and chains longer than
:data:`MAX_HREF_CHAIN`. Each refusal is a ``Client`` Fault; an unexpected exception while
reading is logged and answered with a ``Server`` Fault, never a bare HTTP 500.
"""
from __future__ import annotations

import base64
import binascii
import codecs
import contextlib
import itertools
import logging
import re
import threading
from typing import Any, Iterable, Iterator, Optional, Union

from lxml import etree
from spyne.error import Fault, ValidationError
from spyne.model.binary import BINARY_ENCODING_BASE64
from spyne.const.http import HTTP_405
from spyne.error import RequestNotAllowed
from spyne.protocol.soap import Soap11
from spyne.protocol.soap.mime import collapse_swa
from spyne.protocol.soap.soap11 import _parse_xml_string, cgi
from spyne.server.http import HttpTransportContext

from condor_soap.soap.ads_xml import xml_text

log = logging.getLogger(__name__)

#: Deepest element nesting read (the deepest real request is about 8 levels).
MAX_DEPTH = 100
#: Longest chain of ``href`` -> ``id`` -> ``href`` ... followed (Axis multiRef nests a few).
MAX_HREF_CHAIN = 32
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"


DTD_REFUSED = ("A SOAP message must not contain a document type declaration (SOAP 1.1 §3): "
               "DTDs and entity declarations are refused")
_PROLOG_CHUNK = 1 << 16
_WS = rb"[ \t\r\n]"
_ASCII_ENCODINGS = rb"(?:utf-8|us-ascii|iso-8859-1)"
#: A prolog that cannot hold a DOCTYPE, told from the bytes alone: an optional UTF-8 BOM, an
#: optional XML declaration naming no encoding or an ASCII-compatible one, whitespace, then the
#: root's start tag. Nothing before the root can be ``<!``; anything else takes libxml2's path.
_PLAIN_PROLOG = re.compile(
    rb"(?:\xef\xbb\xbf)?" + _WS + rb"*"
    rb"(?:<\?xml" + _WS + rb"+version" + _WS + rb"*=" + _WS + rb"*(?:\"1\.[0-9]\"|'1\.[0-9]')"
    rb"(?:" + _WS + rb"+encoding" + _WS + rb"*=" + _WS + rb"*(?:\"" + _ASCII_ENCODINGS + rb"\"|'"
    + _ASCII_ENCODINGS + rb"'))?"
    rb"(?:" + _WS + rb"+standalone" + _WS + rb"*=" + _WS + rb"*(?:\"(?:yes|no)\"|'(?:yes|no)'))?"
    + _WS + rb"*\?>)?" + _WS + rb"*<[A-Za-z_]", re.IGNORECASE)
#: HTTP charsets under which the bytes read as ASCII up to the root (codecs' names).
_ASCII_CHARSETS = frozenset(("utf-8", "ascii", "latin-1"))
_PARSERS = threading.local()
_DOCUMENT_PARSERS = threading.local()  # lxml parsers are not thread-safe; one per request costs


class _Stop(Exception):
    """Raised by :class:`_Prolog` to end the scan: at the DOCTYPE (``doctype``) or the root."""

    def __init__(self, doctype: bool) -> None:
        super().__init__()
        self.doctype = doctype


class _Prolog:
    """lxml parser target that stops the parse at the document type declaration or at the
    root element's start tag, whichever comes first (bench/bench_prolog.py: stopping costs
    about the same for any document size; letting lxml call back for every element does not)."""

    def doctype(self, *args: Any) -> None:
        raise _Stop(doctype=True)

    def start(self, *args: Any) -> None:
        raise _Stop(doctype=False)

    def close(self) -> None: ...


def check_prolog(chunks: Iterable[Union[bytes, str]], charset: Optional[str] = None) -> None:
    """Refuse (``Client.SoapError`` Fault) a document with a document type declaration.

    libxml2 itself reads the document (so any encoding it detects is handled), in slices of
    :data:`_PROLOG_CHUNK`, up to the root element's start tag; a DOCTYPE stops it at once,
    before any entity is declared. ``charset`` (the HTTP one) decodes bytes first, as Spyne does
    before parsing. Text that is not XML, or not in its charset, passes: the real parse
    reports it."""
    chunks = iter(chunks)
    first = next(chunks, b"")
    if (isinstance(first, bytes) and _PLAIN_PROLOG.match(first)
            and (not charset or _codec_name(charset) in _ASCII_CHARSETS)):
        return  # the common case, decided without a parser (tests/soap/test_prolog.py)
    chunks = itertools.chain((first,), chunks)
    parser = _prolog_parser()
    try:
        # UTF-8 bytes read as libxml2 reads them decide exactly as the decoded text would
        decoder = (codecs.getincrementaldecoder(charset)()
                   if charset and codecs.lookup(charset).name != "utf-8" else None)
        for chunk in chunks:
            if decoder is not None and isinstance(chunk, bytes):
                chunk = decoder.decode(chunk)
            for start in range(0, len(chunk), _PROLOG_CHUNK):
                parser.feed(chunk[start:start + _PROLOG_CHUNK])
        parser.close()
    except _Stop as stop:
        if stop.doctype:
            raise Fault("Client.SoapError", DTD_REFUSED) from None
    except (etree.XMLSyntaxError, UnicodeError, LookupError):
        pass
    finally:
        try:
            parser.close()  # ready for the next document (a no-op after a complete one)
        except (etree.XMLSyntaxError, _Stop):
            pass


def _codec_name(charset: str) -> Optional[str]:
    try:
        return codecs.lookup(charset).name
    except LookupError:
        return None


def _prolog_parser() -> Any:
    """This thread's prolog parser: lxml inspects a target's signature each time a parser is
    made with it, which costs more than the scan (bench/bench_prolog.py), so each thread
    keeps one and resets it after every document."""
    parser = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = _PARSERS.parser = etree.XMLParser(target=_Prolog(), resolve_entities=False, no_network=True,
                                                   load_dtd=False, huge_tree=True)
    return parser


class LenientSoap11(Soap11):
    """Soap11 in and out, reading requests the way gSOAP 2.7 did."""

    def __init__(self, **kw: Any) -> None:
        # huge_tree: one sendFile may carry a whole file, far over libxml2's 10 MB text limit
        super().__init__(validator=None, parse_xsi_type=False, binary_encoding=BINARY_ENCODING_BASE64,
                         huge_tree=True, **kw)

    def _read_document(self, ctx: Any, charset: Any) -> None:
        """Soap11.create_in_document with one parser per thread, not one per request."""
        if isinstance(ctx.transport, HttpTransportContext):
            content_type = ctx.transport.get_request_content_type()
            if content_type is None or ctx.transport.get_request_method() != "POST":
                ctx.transport.resp_code = HTTP_405
                raise RequestNotAllowed("You must issue a POST request with the Content-Type header properly set.")
            ctx.in_string = collapse_swa(ctx, cgi.parse_header(content_type), self.ns_soap_env)
        parser = getattr(_DOCUMENT_PARSERS, "parser", None)
        if parser is None:
            parser = _DOCUMENT_PARSERS.parser = etree.XMLParser(**self.parser_kwargs)
        ctx.in_document = _parse_xml_string(ctx.in_string, parser, charset)

    def create_in_document(self, ctx: Any, charset: Any = None) -> None:
        try:
            self._check_prolog(ctx, charset)
            self._read_document(ctx, charset)
        except StopIteration:  # Spyne's parser does not expect an empty body
            raise Fault("Client.XMLSyntaxError", "Empty request") from None
        except UnicodeError as exc:  # Spyne decodes with the HTTP charset before parsing
            raise Fault("Client.XMLSyntaxError", f"The request is not in its declared encoding: {exc}") from None
        except LookupError:
            raise Fault("Client.XMLSyntaxError", f"Unknown charset {charset!r}") from None
        except Fault:
            raise
        except Exception:
            log.exception("cannot read a request")
            raise Fault("Server", "Cannot read the request") from None

    @staticmethod
    def _check_prolog(ctx: Any, charset: Any) -> None:
        """:func:`check_prolog` on the body (a multipart one is checked once parsed)."""
        ctx.in_string = list(ctx.in_string)  # read once here; Spyne parses the same chunks
        env = getattr(ctx.transport, "req_env", None) or {}
        if not env.get("CONTENT_TYPE", "").lower().startswith("multipart/"):
            check_prolog(ctx.in_string, charset)

    def decompose_incoming_envelope(self, ctx: Any, message: Any = Soap11.REQUEST) -> None:
        envelope, ids = ctx.in_document
        if envelope.getroottree().docinfo.doctype:  # a multipart body's SOAP part, or a prolog
            raise Fault("Client.SoapError", DTD_REFUSED)  # check_prolog could not read
        _check_envelope(envelope, self.ns_soap_env)
        _resolve_hrefs(envelope, ids)
        ctx.in_document = (envelope, {})  # resolved here: Spyne's recursive resolver is skipped
        with _unexpected_is_server_fault():
            super().decompose_incoming_envelope(ctx, message)

    def deserialize(self, ctx: Any, message: Any) -> None:
        with _unexpected_is_server_fault():
            super().deserialize(ctx, message)

    def base_from_element(self, ctx: Any, cls: Any, element: Any) -> Any:
        text = element.text
        if text is None or not text.strip():
            return self.get_cls_attrs(cls).default
        value = self.from_unicode(cls, text.strip())  # raises ValidationError "Could not cast ..."
        if not cls.validate_native(cls, value):
            raise ValidationError(text)
        return value

    def byte_array_from_element(self, ctx: Any, cls: Any, element: Any) -> Any:
        # Spyne's ByteArray.from_base64 joins the text character by character before decoding
        # (most of a sendFile's time): decoded here in one call, with the same leniency
        # (characters outside the alphabet, line breaks included, are skipped)
        try:
            return (base64.b64decode(element.text or ""),)
        except (binascii.Error, ValueError):
            raise ValidationError((element.text or "")[:100], "Invalid base64 data: %r") from None

    def enum_from_element(self, ctx: Any, cls: Any, element: Any) -> Any:
        text = (element.text or "").strip()
        if not text:
            return self.get_cls_attrs(cls).default
        try:
            return cls.decode[text]
        except KeyError:
            raise ValidationError(text, f"Unknown {cls.get_type_name()} value %r") from None

    def unicode_to_unicode(self, cls: Any, value: Any, **kw: Any) -> Any:
        # lxml refuses characters XML cannot carry (the whole answer would be lost): U+FFFD
        text = super().unicode_to_unicode(cls, value, **kw)
        return xml_text(text) if isinstance(text, str) else text

    def enum_to_parent(self, ctx: Any, cls: Any, inst: Any, parent: Any, ns: Any, name: str = "retval", **kw: Any) -> Any:
        return self.modelbase_to_parent(ctx, cls, cls.encode[inst], parent, ns, name, **kw)


@contextlib.contextmanager
def _unexpected_is_server_fault() -> Iterator[None]:
    """A Fault passes; anything else while reading a request is the service's own fault: its
    traceback logged, a ``Server`` Fault answered."""
    try:
        yield
    except Fault:
        raise
    except Exception:
        log.exception("cannot read a request")
        raise Fault("Server", "Cannot read the request") from None


def _check_envelope(envelope: Any, ns_env: str) -> None:
    """Refuse every envelope shape but one SOAP 1.1 Envelope, at most one Header, exactly one
    Body whose first child is an operation; later Body children must be multiRef targets."""
    if not isinstance(envelope.tag, str) or etree.QName(envelope).localname != "Envelope":
        raise Fault("Client.SoapError", "The request is not a SOAP Envelope")
    namespace = etree.QName(envelope).namespace
    if namespace != ns_env:
        version = "SOAP 1.2" if namespace == SOAP12_ENV else f"namespace {namespace or '(none)'!r}"
        raise Fault("VersionMismatch", f"Only SOAP 1.1 envelopes ({ns_env}) are served, not {version}")
    depth = 0
    for event, _ in etree.iterwalk(envelope, events=("start", "end")):
        depth += 1 if event == "start" else -1
        if depth > MAX_DEPTH:
            raise Fault("Client.SoapError", f"The request nests elements deeper than {MAX_DEPTH} levels")
    bodies = envelope.findall(f"{{{ns_env}}}Body")
    if len(bodies) != 1:
        raise Fault("Client.SoapError", "The SOAP Envelope has no Body" if not bodies else
                    "The SOAP Envelope has more than one Body")
    if len(envelope.findall(f"{{{ns_env}}}Header")) > 1:
        raise Fault("Client.SoapError", "The SOAP Envelope has more than one Header")
    children = [el for el in bodies[0] if isinstance(el.tag, str)]
    if not children:
        raise Fault("Client.SoapError", "The SOAP Body holds no operation")
    if children[0].tag == f"{{{ns_env}}}Fault":
        raise Fault("Client.SoapError", "A SOAP Fault is not a request")
    if any(el.get("id") is None for el in children[1:]):
        raise Fault("Client.SoapError", "The SOAP Body holds more than one operation")


def _resolve_hrefs(root: Any, ids: dict) -> None:
    """SOAP-encoding references, as Spyne's ``resolve_hrefs`` does them (an ``href`` element
    takes its target's attributes, children and text; elements with an ``id`` are targets, not
    walked), but iterative over the tree and refusing cycles and over-long chains."""
    if not ids:
        return
    done: set[str] = set()

    def resolve(top: Any, chain: tuple[str, ...]) -> None:
        stack = [top]
        while stack:
            for el in stack.pop():
                if not isinstance(el.tag, str) or el.get("id") is not None:
                    continue
                href = el.get("href")
                if href is None:
                    stack.append(el)
                    continue
                ref = href[1:] if href.startswith("#") else href
                target = ids.get(ref)
                if target is None:
                    continue  # unresolvable: the element stays empty (nil)
                if ref in chain:
                    raise Fault("Client.SoapError", f"The href '#{ref}' refers to itself")
                if len(chain) >= MAX_HREF_CHAIN:
                    raise Fault("Client.SoapError", f"href chains longer than {MAX_HREF_CHAIN} are refused")
                if ref not in done:
                    resolve(target, chain + (ref,))
                    done.add(ref)
                for key, value in target.items():
                    el.set(key, value)
                try:
                    el.extend(list(target))
                except ValueError:  # the target is an ancestor of el
                    raise Fault("Client.SoapError", f"The href '#{ref}' refers to itself") from None
                el.text = target.text

    resolve(root, ())
