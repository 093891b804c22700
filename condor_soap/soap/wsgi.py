"""The SOAP face as WSGI: POST on any path runs an operation, GET serves the WSDLs.

The original served its WSDLs as static files (``GET /condorSchedd.wsdl``, spec §2); clients
that follow ``soap:address`` (JAX-WS) need it to name this server, so each WSDL is served with
the address the client used (``PUBLIC_URL_KEY``, set by the HTTP layer).
``/<anything>?wsdl`` serves the schedd WSDL, or the collector one when the path mentions the
collector (``/condorCollector?wsdl``).
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Iterable, Optional
from xml.sax.saxutils import escape

from spyne.error import Fault
from spyne.server.wsgi import WsgiApplication

from condor_soap.environ import CALLER_KEY, PUBLIC_URL_KEY
from condor_soap.metrics import FAULT
from condor_soap.soap.application import keep_answer
from condor_soap.soap.wsdl import render_wsdl

log = logging.getLogger(__name__)

WSDL_FILES = {"condorSchedd.wsdl": "condorSchedd", "condorCollector.wsdl": "condorCollector"}
StartResponse = Callable[..., Any]
LOGGED_FAULT_CHARS = 300  # of a fault string in the log: it may quote the client's text


def fault_envelope(code: str, message: str) -> bytes:
    """A SOAP 1.1 Fault envelope (for answers made without Spyne)."""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
            f'<soap:Fault><faultcode>soap:{escape(code)}</faultcode><faultstring>{escape(message)}</faultstring>'
            '</soap:Fault></soap:Body></soap:Envelope>').encode()


SERVER_FAULT = fault_envelope("Server", "Internal error")


class _FaultsAreLoggedByTheFace(logging.Filter):
    """Spyne logs every Fault it answers, at ERROR and with a traceback, some twice; the face
    logs each one once (:meth:`SoapFace._fault_answered`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(record.msg, Fault) and not isinstance(exc, Fault)


for _name in ("spyne.server._base", "spyne.server.wsgi", "spyne.application", "spyne.application.client"):
    logging.getLogger(_name).addFilter(_FaultsAreLoggedByTheFace())
# "<XMLSyntaxError> in string <the whole request>": the fault it becomes is logged, briefly
logging.getLogger("spyne.protocol.soap.soap11.invalid").addFilter(lambda record: False)


def _printable(text: str) -> str:
    """``text`` shortened, with control characters escaped: one log line, whatever a client sent."""
    text = str(text)[:LOGGED_FAULT_CHARS]
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def wsdl_name(path: str, query: str) -> Optional[str]:
    """Which WSDL a GET of ``path?query`` asks for, if any."""
    file_name = WSDL_FILES.get(path.rsplit("/", 1)[-1])
    if file_name:
        return file_name
    if any(part.split("=", 1)[0].lower() == "wsdl" for part in query.split("&")):
        return "condorCollector" if "ollector" in path else "condorSchedd"
    return None


class _SpyneWsgi(WsgiApplication):
    """Spyne's WSGI server, keeping the answers :func:`keep_answer` keeps."""

    def get_out_string(self, ctx: Any) -> None:
        super().get_out_string(ctx)
        keep_answer(self.app, ctx)


class SoapFace:
    """Both WSDLs' operations over one Spyne application.

    ``max_body`` is the largest SOAP request read (Spyne's own default is 2 MiB, too small for
    clients that send a whole file in one ``sendFile``).
    """

    def __init__(self, application: Any, max_body: int = 1 << 30) -> None:
        self._spyne = _SpyneWsgi(application, max_content_length=max_body)
        self._spyne.event_manager.add_listener("wsgi_exception", self._fault_answered)
        self._metrics = application.config.calls.metrics

    def serves(self, method: str, path: str, query: str) -> bool:
        """True for the requests this face answers: any POST, and GETs of a WSDL."""
        return method == "POST" or (method in ("GET", "HEAD") and wsdl_name(path, query) is not None)

    @staticmethod
    def needs_caller(method: str) -> bool:
        """Operations need an authenticated caller; the WSDLs are public."""
        return method == "POST"

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        if method == "POST":
            if not environ.get("CONTENT_TYPE"):  # gSOAP did not look at it; Spyne refuses without
                environ["CONTENT_TYPE"] = "text/xml"
            return self._spyne(environ, start_response)
        name = wsdl_name(environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))
        body = render_wsdl(name, environ[PUBLIC_URL_KEY])
        start_response("200 OK", [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))])
        return [] if method == "HEAD" else [body]

    def _fault_answered(self, ctx: Any) -> None:
        """Every Fault answered: one log line (WARNING for the client's, ERROR for ours, whose
        traceback was logged where it happened) and the call's metrics."""
        try:
            error = ctx.out_error or ctx.in_error
            env = getattr(ctx.transport, "req_env", None) or {}
            who = env.get(CALLER_KEY)
            client = (who.address if who is not None and who.address else None) or env.get("REMOTE_ADDR", "")
            user = who.user if who is not None else None
            descriptor = ctx.descriptor  # None when the operation is unknown or unreadable
            operation = descriptor.name if descriptor is not None else None
            code = str(getattr(error, "faultcode", "Server"))
            level = logging.ERROR if code.startswith("Server") else logging.WARNING
            log.log(level, "%s fault for %s%s%s: %s", code, client, f" (user {user})" if user else "",
                    f" calling {operation}" if operation else "", _printable(getattr(error, "faultstring", error)),
                    extra={"client": client, "user": user, "operation": operation, "faultcode": code})
            self._metrics.call("soap", operation or "unknown", FAULT, time.time() - ctx.call_start)
        except Exception:  # never fail the answer for its log line
            log.exception("logging a fault")

    def body_too_large(self, start_response: StartResponse, message: str) -> list[bytes]:
        """A ``Client.RequestTooLong`` Fault (HTTP 500, where SOAP 1.1 clients look for one)."""
        body = fault_envelope("Client.RequestTooLong", message)
        self._metrics.call("soap", "unknown", FAULT, 0.0)
        start_response("500 Internal Server Error", [("Content-Type", "text/xml; charset=utf-8"),
                                                     ("Content-Length", str(len(body)))])
        return [body]

    @staticmethod
    def internal_error(start_response: StartResponse, exc_info: Any) -> list[bytes]:
        """A SOAP Server Fault (500) for an exception nothing below answered."""
        start_response("500 Internal Server Error", [("Content-Type", "text/xml; charset=utf-8"),
                                                     ("Content-Length", str(len(SERVER_FAULT)))], exc_info)
        return [SERVER_FAULT]
