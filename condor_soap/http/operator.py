"""What an operator, a load balancer and Prometheus ask the service, without credentials and
without any job data: ``GET /`` (a page naming the service, its WSDLs and these endpoints),
``/healthz`` (the process answers), ``/readyz`` (the journal takes a write and the backend
answers: 200, else 503 with the reasons), ``/metrics`` (:mod:`condor_soap.metrics`), and the
files of ``web_root`` at their paths, as the original's ``WEB_ROOT_DIR``.

Files: only regular files whose resolved path stays inside ``web_root`` (a symlink out of it
is refused), no path segment that is empty, ``.``/``..`` or starts with a dot, no listings
(a path ending in ``/`` serves that directory's ``index.html`` if there is one).
"""
from __future__ import annotations

import html
import json
import mimetypes
import os
import stat
from typing import Any, Callable, Iterable, Iterator, Optional

from condor_soap import __version__
from condor_soap.environ import PUBLIC_URL_KEY
from condor_soap.http.app import text_response
from condor_soap.metrics import Metrics

StartResponse = Callable[..., Any]
ENDPOINTS = ("/", "/healthz", "/readyz", "/metrics")
_CHUNK = 1 << 16
_NO_CACHE = ("Cache-Control", "no-store")
DOCUMENTS = ("README.rst (Running in production)", "docs/architecture.rst", "docs/security.rst",
             "docs/htcondor-backend.rst", "docs/tls-nginx.rst", "docs/spec/original-soap-api.md (the API)")


class OperatorFace:
    """The operator endpoints, as a face of :class:`~condor_soap.http.app.HttpService`.

    ``ready(timeout)`` lists why the service cannot take work (empty: ready); ``backend``
    names the backend on the home page.
    """

    def __init__(self, *, backend: str, ready: Callable[[float], list[str]], ready_timeout: float,
                 metrics: Metrics, web_root: Optional[str] = None) -> None:
        self._backend = backend
        self._ready = ready
        self._ready_timeout = ready_timeout
        self._metrics = metrics
        self._root = os.path.realpath(web_root) if web_root else None
        self._pages = {"/": self._home, "/healthz": self._healthz, "/readyz": self._readyz,
                       "/metrics": self._metrics_page}

    def serves(self, method: str, path: str, query: str) -> bool:
        return method in ("GET", "HEAD") and ((path or "/") in self._pages or self._file(path) is not None)

    @staticmethod
    def needs_caller(method: str) -> bool:
        return False  # nothing here is the users' business: no job data, no credentials asked

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        page = self._pages.get(path)
        if page is None:
            return self._send_file(environ, start_response)
        status, content_type, body = page(environ)
        start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body))),
                                ("X-Content-Type-Options", "nosniff"), _NO_CACHE])
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    # the pages
    def _home(self, environ: dict) -> tuple[str, str, bytes]:
        base = environ[PUBLIC_URL_KEY]
        e = html.escape

        def link(path: str, about: str) -> str:
            return f'<li><a href="{e(base + path)}">{e(base + path)}</a>: {e(about)}</li>'

        page = "\n".join((
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8"><title>condor-soap</title></head><body>',
            "<h1>condor-soap</h1>",
            f"<p>HTCondor's SOAP web service (<code>urn:condor</code>, &quot;birdbath&quot;): version "
            f"{e(__version__)}, {e(self._backend)} backend.</p>",
            "<h2>WSDLs</h2><ul>",
            link("/condorSchedd.wsdl", "the schedd's operations (transactions, jobs, files)"),
            link("/condorCollector.wsdl", "the collector's operations (queries, insertAd)"),
            "</ul>",
            f"<p>Generate a client from a WSDL (for example <code>python -m zeep {e(base)}/condorSchedd.wsdl"
            f"</code>); every operation is a POST to <code>{e(base)}/</code>.</p>",
            "<h2>Operations</h2><ul>",
            link("/healthz", "the process answers (200)"),
            link("/readyz", "the journal takes writes and the backend answers (200), else 503 with the reasons"),
            link("/metrics", "Prometheus metrics"),
            "</ul>",
            "<h2>Documentation</h2><p>In the condor-soap source: "
            + ", ".join(f"<code>{e(d)}</code>" for d in DOCUMENTS) + ".</p>",
            "</body></html>", ""))
        return "200 OK", "text/html; charset=utf-8", page.encode()

    @staticmethod
    def _healthz(environ: dict) -> tuple[str, str, bytes]:
        return "200 OK", "text/plain; charset=utf-8", b"ok\n"

    def _readyz(self, environ: dict) -> tuple[str, str, bytes]:
        problems = self._ready(self._ready_timeout)
        body = json.dumps({"ready": not problems, "problems": problems}).encode() + b"\n"
        return ("503 Service Unavailable" if problems else "200 OK"), "application/json", body

    def _metrics_page(self, environ: dict) -> tuple[str, str, bytes]:
        body, content_type = self._metrics.exposition(environ.get("HTTP_ACCEPT", ""))
        return "200 OK", content_type, body

    # web_root
    def _file(self, path: str) -> Optional[str]:
        """The file of ``web_root`` that ``path`` names, or None."""
        if self._root is None or not path.startswith("/"):
            return None
        parts = os.fsdecode(path.encode("latin-1")).split("/")[1:]  # WSGI: the path's bytes as latin-1
        if parts[-1] == "":
            parts[-1] = "index.html"
        if any(not p or p.startswith(".") or "\\" in p or "\0" in p for p in parts):
            return None
        real = os.path.realpath(os.path.join(self._root, *parts))
        if os.path.commonpath([real, self._root]) != self._root or not os.path.isfile(real):
            return None
        return real

    def _send_file(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = self._file(environ.get("PATH_INFO", ""))
        try:
            if path is None:
                raise FileNotFoundError(environ.get("PATH_INFO"))
            f = open(path, "rb")
        except OSError:  # gone since serves() looked
            return text_response(start_response, "404 Not Found", "Not found\n")
        size = os.fstat(f.fileno())
        if not stat.S_ISREG(size.st_mode):
            f.close()
            return text_response(start_response, "404 Not Found", "Not found\n")
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        if content_type.startswith("text/"):
            content_type += "; charset=utf-8"
        start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(size.st_size)),
                                  ("X-Content-Type-Options", "nosniff")])
        if environ["REQUEST_METHOD"] == "HEAD":
            f.close()
            return []
        wrapper = environ.get("wsgi.file_wrapper")
        return wrapper(f, _CHUNK) if wrapper else _chunks(f)

    def body_too_large(self, start_response: StartResponse, message: str) -> list[bytes]:
        return text_response(start_response, "413 Content Too Large", message + "\n")

    @staticmethod
    def internal_error(start_response: StartResponse, exc_info: Any) -> list[bytes]:
        return text_response(start_response, "500 Internal Server Error", "Internal error\n", exc_info=exc_info)


def _chunks(f: Any) -> Iterator[bytes]:
    with f:
        yield from iter(lambda: f.read(_CHUNK), b"")
