"""The WSGI application: one dispatcher in front of the faces.

For each request it picks the face that serves it, establishes the caller when the face needs
one (answering 401 or 429 itself for a refused one, before any body is read), refuses a body
over ``max_request_body_size`` before reading it (in the face's format) and tells the face the
address the client used. Anything that escapes a face is logged and answered by that face's
own error format, never a traceback page.
"""
from __future__ import annotations

import logging
import re
import sys
from typing import Any, Callable, Iterable, Optional, Protocol

from condor_soap.environ import CALLER_KEY, PUBLIC_URL_KEY
from condor_soap.http.identity import Authenticator, Refusal
from condor_soap.metrics import Metrics

log = logging.getLogger(__name__)
StartResponse = Callable[..., Any]
CHALLENGE = ('Basic realm="condor-soap", charset="UTF-8"', 'Bearer realm="condor-soap"')
# RFC 6750 §3.1: a refused bearer token says so, so an OAuth2 client knows to get a new one
INVALID_TOKEN = (CHALLENGE[0], 'Bearer realm="condor-soap", error="invalid_token"')
_HOST = re.compile(r"^[A-Za-z0-9._~\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


class Face(Protocol):
    """A WSGI application behind the dispatcher (SOAP, REST)."""

    def serves(self, method: str, path: str, query: str) -> bool:
        """True for the requests this face answers."""

    def needs_caller(self, method: str) -> bool:
        """True if a request needs an authenticated (or allowed anonymous) caller."""

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]: ...

    def internal_error(self, start_response: StartResponse, exc_info: Any) -> list[bytes]:
        """The face's answer to an exception nothing below it answered."""

    def body_too_large(self, start_response: StartResponse, message: str) -> list[bytes]:
        """The face's answer to a request whose body is over the limit (``message`` says so)."""


def request_address(environ: dict, scheme: Optional[str] = None, host: Optional[str] = None) -> str:
    """``scheme://host[:port]`` as the client addressed this server (``scheme``/``host``:
    what a trusted proxy says the client used)."""
    host = host if host is not None else environ.get("HTTP_HOST", "")
    if not _HOST.match(host or ""):  # absent or not a plain host: don't echo it into a page
        host = f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
    return f"{scheme or environ['wsgi.url_scheme']}://{host}"


class HttpService:
    """The service's WSGI application; ``stop()`` runs ``on_stop`` (ending streams),
    ``close()`` both and then ``on_close`` (stopping the cores).

    ``auth`` establishes callers (None: every caller is the trusted anonymous one, the
    original's model); ``faces`` are asked in order which serves a request; ``max_body`` is
    ``max_request_body_size``; ``metrics`` counts the refused logins.
    """

    def __init__(self, faces: Iterable[Face], auth: Optional[Authenticator] = None,
                 on_close: Callable[[], None] = lambda: None,
                 on_stop: Callable[[], None] = lambda: None, *, max_body: int = 1 << 30,
                 metrics: Optional[Metrics] = None) -> None:
        self._faces = tuple(faces)
        self._auth = auth
        self._on_close = on_close
        self._on_stop = on_stop
        self._max_body = max_body
        self._metrics = metrics or Metrics()

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        face: Optional[Face] = None
        try:
            method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
            query = environ.get("QUERY_STRING", "")
            face = next((f for f in self._faces if f.serves(method, path, query)), None)
            if face is None:
                if method not in ("GET", "HEAD", "POST"):
                    return text_response(start_response, "405 Method Not Allowed", "Method not allowed\n",
                                 [("Allow", "GET, HEAD, POST")])
                return text_response(start_response, "404 Not Found", "Not found\n")
            public = self._auth.public_address(environ) if self._auth is not None else (None, None)
            environ[PUBLIC_URL_KEY] = request_address(environ, *public)
            if self._auth is not None and face.needs_caller(method):
                refused = self._identify(environ, start_response)
                if refused is not None:
                    return refused
            too_large = self._body_too_large(environ)
            if too_large:
                return face.body_too_large(start_response, too_large)
            return face(environ, start_response)
        except Exception:
            log.exception("unhandled error answering %s %s", environ.get("REQUEST_METHOD"),
                          environ.get("PATH_INFO", "")[:200])
            if face is None:
                return text_response(start_response, "500 Internal Server Error", "Internal error\n", exc_info=sys.exc_info())
            return face.internal_error(start_response, sys.exc_info())

    def _identify(self, environ: dict, start_response: StartResponse) -> Optional[list[bytes]]:
        """Bind the caller into ``environ``; or the 401/429 answer of a refused request."""
        assert self._auth is not None
        who = self._auth.identify(environ)
        if not isinstance(who, Refusal):
            environ[CALLER_KEY] = who
            return None
        self._auth.audit.record("auth-failure", user=who.user, source=self._auth.client_address(environ),
                                reason=who.reason, path=environ.get("PATH_INFO", "")[:200])
        self._metrics.auth_failure(429 if who.retry_after else 401)
        if who.retry_after:
            return text_response(start_response, "429 Too Many Requests",
                                 f"Too many failed logins from this address; retry in {who.retry_after} s\n",
                                 [("Retry-After", str(who.retry_after))])
        bearer = environ.get("HTTP_AUTHORIZATION", "").strip()[:7].lower() == "bearer "
        return text_response(start_response, "401 Unauthorized", "Authentication required\n",
                             [("WWW-Authenticate", c) for c in (INVALID_TOKEN if bearer else CHALLENGE)])

    def _body_too_large(self, environ: dict) -> Optional[str]:
        """Why the request's declared body is refused unread, or None (a server that cannot
        say the length in advance leaves the face's reader to stop at the limit)."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if length <= self._max_body:
            return None
        caller = environ.get(CALLER_KEY)
        client = caller.address if caller is not None and caller.address else environ.get("REMOTE_ADDR", "")
        log.warning("request body of %d bytes from %s refused: over max_request_body_size (%d)",
                    length, client, self._max_body,
                    extra={"client": client, "user": getattr(caller, "user", None), "bytes": length})
        return (f"The request is {length} bytes, over this service's limit of {self._max_body} bytes "
                "(setting max_request_body_size)")

    def stop(self) -> None:
        """End long-lived answers (watch streams) so the server's threads drain at once;
        called when shutdown begins, before :meth:`close`."""
        self._on_stop()

    def close(self) -> None:
        self._on_stop()
        self._on_close()


def text_response(start_response: StartResponse, status: str, text: str, headers: Iterable = (),
                  exc_info: Any = None) -> list[bytes]:
    """A small text/plain answer, never cached."""
    body = text.encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
                            ("Cache-Control", "no-store"), *headers], exc_info)
    return [body]
