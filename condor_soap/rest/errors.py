"""The one place core errors become HTTP answers: a status and ``{"error", "code", "message"}``.

``error`` is the core's message (the same text a SOAP client gets in its ``Status``), ``code``
the core's ``StatusCode`` name (``FAIL``, ``UNKNOWNJOB``, ...); ``message`` repeats ``error``
because RESTD (Flask-RESTful's ``abort``) answered ``{"message": ...}`` and its clients read it.
"""
from __future__ import annotations

import json
from typing import Any

import falcon

from condor_soap.core.constraints import ConstraintTooCostly, InvalidConstraint
from condor_soap.errors import (CondorSoapError, LimitExceeded, NotFound, PermissionDenied, PoolError,
                                StatusCode)

#: Most specific first: the first class an error is an instance of decides.
BY_CLASS: tuple[tuple[type[CondorSoapError], str], ...] = (
    (PermissionDenied, falcon.HTTP_403),
    (NotFound, falcon.HTTP_404),
    (LimitExceeded, falcon.HTTP_413),
    (PoolError, falcon.HTTP_503),
    (InvalidConstraint, falcon.HTTP_400),
    (ConstraintTooCostly, falcon.HTTP_400),
)
BY_CODE = {
    StatusCode.FAIL: falcon.HTTP_400,
    StatusCode.INVALIDTRANSACTION: falcon.HTTP_404,
    StatusCode.UNKNOWNCLUSTER: falcon.HTTP_404,
    StatusCode.UNKNOWNJOB: falcon.HTTP_404,
    StatusCode.UNKNOWNFILE: falcon.HTTP_404,
    StatusCode.INCOMPLETE: falcon.HTTP_409,
    StatusCode.INVALIDOFFSET: falcon.HTTP_416,
    StatusCode.ALREADYEXISTS: falcon.HTTP_409,
}


def http_status(err: CondorSoapError) -> str:
    for cls, status in BY_CLASS:
        if isinstance(err, cls):
            return status
    return BY_CODE.get(err.code, falcon.HTTP_400)


def error_body(message: str, code: str) -> bytes:
    return json.dumps({"error": message, "code": code, "message": message}).encode()


def answer(req: falcon.Request, resp: falcon.Response, err: CondorSoapError, params: Any) -> None:
    """Falcon error handler for every :class:`CondorSoapError`."""
    resp.status = http_status(err)
    resp.content_type = falcon.MEDIA_JSON
    resp.data = error_body(err.message, err.code.name)


def serialize(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError) -> None:
    """Falcon's own errors (no such route, method not allowed, bad parameter) in our shape."""
    message = exc.description or exc.title or "Error"
    resp.content_type = falcon.MEDIA_JSON
    resp.data = error_body(message, "FAIL")
