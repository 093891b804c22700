"""The WSGI face of the service: GET serves the WSDLs, POST on any path runs SOAP.

The original served its WSDLs as static files (``GET /condorSchedd.wsdl``, spec §2); clients
that follow ``soap:address`` (JAX-WS) need it to name this server, so each WSDL is served with
the scheme and ``Host`` the client used. ``/<anything>?wsdl`` serves the schedd WSDL, or the
collector one when the path mentions the collector (``/condorCollector?wsdl``).
"""
from __future__ import annotations

import logging
import re
import sys
from typing import Any, Callable, Iterable, Optional

from spyne.server.wsgi import WsgiApplication

from condor_soap.wire.identity import CALLER_KEY, Authenticator, Refusal
from condor_soap.wire.wsdl import render_wsdl

WSDL_FILES = {"condorSchedd.wsdl": "condorSchedd", "condorCollector.wsdl": "condorCollector"}
_HOST = re.compile(r"^[A-Za-z0-9._~\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")

log = logging.getLogger(__name__)
StartResponse = Callable[..., Any]
SERVER_FAULT = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
                b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
                b'<soap:Fault><faultcode>soap:Server</faultcode><faultstring>Internal error</faultstring>'
                b'</soap:Fault></soap:Body></soap:Envelope>')
CHALLENGE = ('Basic realm="condor-soap", charset="UTF-8"', 'Bearer realm="condor-soap"')


def wsdl_name(path: str, query: str) -> Optional[str]:
    """Which WSDL a GET of ``path?query`` asks for, if any."""
    file_name = WSDL_FILES.get(path.rsplit("/", 1)[-1])
    if file_name:
        return file_name
    if any(part.split("=", 1)[0].lower() == "wsdl" for part in query.split("&")):
        return "condorCollector" if "ollector" in path else "condorSchedd"
    return None


def request_address(environ: dict, scheme: Optional[str] = None, host: Optional[str] = None) -> str:
    """``scheme://host[:port]`` as the client addressed this server (``scheme``/``host``:
    what a trusted proxy says the client used)."""
    host = host if host is not None else environ.get("HTTP_HOST", "")
    if not _HOST.match(host or ""):  # absent or not a plain host: don't echo it into the WSDL
        host = f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
    return f"{scheme or environ['wsgi.url_scheme']}://{host}"


class SoapHttp:
    """WSGI application; ``close()`` runs ``on_close`` (stopping what serves the calls).

    ``max_body`` is the largest SOAP request read (Spyne's own default is 2 MiB, too small for
    clients that send a whole file in one ``sendFile``). ``auth`` establishes each POST's
    caller (None: every caller is the trusted anonymous one, the original's model); a request
    it refuses gets 401 before any of its body is parsed. The WSDLs are public.
    """

    def __init__(self, application: Any, on_close: Callable[[], None] = lambda: None,
                 max_body: int = 1 << 30, auth: Optional[Authenticator] = None) -> None:
        self._soap = WsgiApplication(application, max_content_length=max_body)
        self._on_close = on_close
        self._auth = auth

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        """Any exception that escapes everything below is logged and answered as a SOAP Server
        Fault (HTTP 500), never a traceback or a dropped connection."""
        try:
            return self._serve(environ, start_response)
        except Exception:
            log.exception("unhandled error answering %s %s", environ.get("REQUEST_METHOD"),
                          environ.get("PATH_INFO", "")[:200])
            start_response("500 Internal Server Error", [("Content-Type", "text/xml; charset=utf-8"),
                                                         ("Content-Length", str(len(SERVER_FAULT)))],
                           sys.exc_info())
            return [SERVER_FAULT]

    def _serve(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        if method == "POST":
            if self._auth is not None:
                who = self._auth.identify(environ)
                if isinstance(who, Refusal):
                    self._auth.audit.record("auth-failure", user=who.user, source=self._auth.client_address(environ),
                                            reason=who.reason, path=environ.get("PATH_INFO", "")[:200])
                    if who.retry_after:
                        return _text(start_response, "429 Too Many Requests",
                                     f"Too many failed logins from this address; retry in {who.retry_after} s\n",
                                     [("Retry-After", str(who.retry_after))])
                    return _text(start_response, "401 Unauthorized", "Authentication required\n",
                                 [("WWW-Authenticate", c) for c in CHALLENGE])
                environ[CALLER_KEY] = who
            if not environ.get("CONTENT_TYPE"):  # gSOAP did not look at it; Spyne refuses without
                environ["CONTENT_TYPE"] = "text/xml"
            return self._soap(environ, start_response)
        if method not in ("GET", "HEAD"):
            return _text(start_response, "405 Method Not Allowed", "Method not allowed\n", [("Allow", "GET, HEAD, POST")])
        name = wsdl_name(environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))
        if name is None:
            return _text(start_response, "404 Not Found", "Not found\n")
        public = self._auth.public_address(environ) if self._auth is not None else (None, None)
        body = render_wsdl(name, request_address(environ, *public))
        start_response("200 OK", [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))])
        return [] if method == "HEAD" else [body]

    def close(self) -> None:
        self._on_close()


def _text(start_response: StartResponse, status: str, text: str, headers: Iterable = ()) -> list[bytes]:
    body = text.encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))), *headers])
    return [body]
