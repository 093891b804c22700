"""The REST face as WSGI: a Falcon application built from the route table.

Falcon rather than Flask (RESTD's framework): the face needs WSGI and nothing else — no
templates, sessions or globals — so a dependency-free framework whose application is a plain
object (several services in one process, as the tests run them) fits; it streams bodies both
ways (``resp.stream``, ``req.bounded_stream``, streaming multipart), has CORS built in, and
costs less per request.

Every route runs inside :meth:`~condor_soap.calls.Calls.call` with the caller the HTTP layer
established: the same authorization, caller binding and audit as the SOAP face.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

import falcon

from condor_soap.calls import INTERNAL_ERROR, CallRecord, Calls
from condor_soap.core.policy import ANONYMOUS
from condor_soap.environ import CALLER_KEY
from condor_soap.errors import CondorSoapError
from condor_soap.rest import errors, openapi
from condor_soap.rest.api import Api
from condor_soap.rest.reads import ROUTES as READS
from condor_soap.rest.watch import ROUTES as WATCH
from condor_soap.rest.writes import ROUTES as WRITES
from condor_soap.rest.routes import Route

log = logging.getLogger(__name__)
StartResponse = Callable[..., Any]
PREFIX = "/v1"
ROUTES: list[Route] = [*READS, *WRITES, *WATCH]
ROUTES.append(openapi.route(ROUTES))


class _Resource:
    """The routes of one path, as Falcon ``on_<method>`` responders."""

    def __init__(self, face: "RestFace", routes: list[Route]) -> None:
        for route in routes:
            setattr(self, "on_" + route.method.lower(), face.responder(route))


class RestFace:
    """RESTD's v1 reads and condor-soap's writes under ``/v1/``."""

    def __init__(self, api: Api, calls: Calls) -> None:
        self.api = api
        self.calls = calls
        middleware = []
        origins = api.config.cors_origins
        if origins:
            middleware.append(falcon.CORSMiddleware(allow_origins="*" if "*" in origins else origins,
                                                    expose_headers=["X-Condor-Truncated", "Content-Range"]))
        self.app = falcon.App(middleware=middleware)
        self.app.req_options.strip_url_path_trailing_slash = True
        self.app.req_options.auto_parse_form_urlencoded = False
        self.app.add_error_handler(Exception, self._unexpected)
        self.app.add_error_handler(falcon.HTTPError, self._falcon_error)
        self.app.add_error_handler(CondorSoapError, errors.answer)
        self.app.set_error_serializer(errors.serialize)
        by_path: dict[str, list[Route]] = {}
        for route in ROUTES:
            by_path.setdefault(route.path, []).append(route)
        for path, routes in by_path.items():
            self.app.add_route(path, _Resource(self, routes))

    def responder(self, route: Route) -> Callable[..., None]:
        def respond(req: falcon.Request, resp: falcon.Response, **fields: Any) -> None:
            who = req.env.get(CALLER_KEY, ANONYMOUS)
            record = CallRecord(transaction=fields.get("txn"), cluster=fields.get("cluster"),
                                job=fields.get("proc"), file=fields.get("name"))
            with self.calls.call(who, route.operation, "rest", record):
                route.handler(self.api, req, resp, record, **fields)
        return respond

    # the dispatcher's Face protocol
    @staticmethod
    def serves(method: str, path: str, query: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    @staticmethod
    def needs_caller(method: str) -> bool:
        """Every request but a CORS preflight (browsers send those without credentials)."""
        return method != "OPTIONS"

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        return self.app(environ, start_response)

    @staticmethod
    def internal_error(start_response: StartResponse, exc_info: Any) -> list[bytes]:
        body = errors.error_body(INTERNAL_ERROR, "FAIL")
        start_response("500 Internal Server Error", [("Content-Type", "application/json"),
                                                     ("Content-Length", str(len(body)))], exc_info)
        return [body]

    @staticmethod
    def body_too_large(start_response: StartResponse, message: str) -> list[bytes]:
        """413 with the JSON error body, for a request refused unread for its size."""
        body = errors.error_body(message, "FAIL")
        start_response("413 Content Too Large", [("Content-Type", "application/json"),
                                                 ("Content-Length", str(len(body)))])
        return [body]

    # errors nothing else answered
    @staticmethod
    def _falcon_error(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError, params: Any) -> None:
        resp.status = exc.status
        for name, value in (exc.headers or {}).items():
            resp.set_header(name, value)
        errors.serialize(req, resp, exc)

    @staticmethod
    def _unexpected(req: falcon.Request, resp: falcon.Response, exc: Exception, params: Any) -> None:
        log.error("%s %s failed", req.method, req.path[:200], exc_info=exc)
        resp.status = falcon.HTTP_500
        resp.content_type = falcon.MEDIA_JSON
        resp.data = errors.error_body(INTERNAL_ERROR, "FAIL")

