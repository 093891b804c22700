"""The SOAP face as WSGI: POST on any path runs an operation, GET serves the WSDLs.

The original served its WSDLs as static files (``GET /condorSchedd.wsdl``, spec §2); clients
that follow ``soap:address`` (JAX-WS) need it to name this server, so each WSDL is served with
the address the client used (``PUBLIC_URL_KEY``, set by the HTTP layer).
``/<anything>?wsdl`` serves the schedd WSDL, or the collector one when the path mentions the
collector (``/condorCollector?wsdl``).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from spyne.server.wsgi import WsgiApplication

from condor_soap.environ import PUBLIC_URL_KEY
from condor_soap.soap.wsdl import render_wsdl

WSDL_FILES = {"condorSchedd.wsdl": "condorSchedd", "condorCollector.wsdl": "condorCollector"}
StartResponse = Callable[..., Any]
SERVER_FAULT = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
                b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
                b'<soap:Fault><faultcode>soap:Server</faultcode><faultstring>Internal error</faultstring>'
                b'</soap:Fault></soap:Body></soap:Envelope>')


def wsdl_name(path: str, query: str) -> Optional[str]:
    """Which WSDL a GET of ``path?query`` asks for, if any."""
    file_name = WSDL_FILES.get(path.rsplit("/", 1)[-1])
    if file_name:
        return file_name
    if any(part.split("=", 1)[0].lower() == "wsdl" for part in query.split("&")):
        return "condorCollector" if "ollector" in path else "condorSchedd"
    return None


class SoapFace:
    """Both WSDLs' operations over one Spyne application.

    ``max_body`` is the largest SOAP request read (Spyne's own default is 2 MiB, too small for
    clients that send a whole file in one ``sendFile``).
    """

    def __init__(self, application: Any, max_body: int = 1 << 30) -> None:
        self._spyne = WsgiApplication(application, max_content_length=max_body)

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

    @staticmethod
    def internal_error(start_response: StartResponse, exc_info: Any) -> list[bytes]:
        """A SOAP Server Fault (500) for an exception nothing below answered."""
        start_response("500 Internal Server Error", [("Content-Type", "text/xml; charset=utf-8"),
                                                     ("Content-Length", str(len(SERVER_FAULT)))], exc_info)
        return [SERVER_FAULT]
