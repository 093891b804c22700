"""Application errors and the status codes they carry.

Every error a client can see is a :class:`CondorSoapError`; the wire turns it into the
operation's ``Status`` (HTTP 200), never a SOAP Fault (spec §0.9, §6 row 13)::

    CondorSoapError            FAIL
    ├── PermissionDenied       FAIL     (the caller may not: REST 403)
    ├── NotFound               FAIL     (no such job, file, schedd, attribute: REST 404)
    ├── LimitExceeded          FAIL     (a configured limit: REST 413)
    ├── PoolError              FAIL     (the pool failed or is unreachable: REST 503)
    ├── InvalidTransaction     INVALIDTRANSACTION
    ├── UnknownCluster         UNKNOWNCLUSTER
    ├── UnknownJob             UNKNOWNJOB
    ├── UnknownFile            UNKNOWNFILE
    ├── Incomplete             INCOMPLETE
    ├── InvalidOffset          INVALIDOFFSET
    └── AlreadyExists          ALREADYEXISTS

The FAIL subclasses keep the SOAP wire exactly as it was (they are FAIL there) and let a
face that has richer codes, the REST face's HTTP statuses, tell them apart.

An error may carry ``result``: the partial answer the original still returned alongside a
failure (``createJobTemplate`` with unparsable ``args`` returns FAIL *and* the ad, spec §4.4).
"""
from __future__ import annotations

import enum
from typing import Any


class StatusCode(enum.IntEnum):
    """The wire's ``StatusCode`` enumeration, with the C values of the original."""

    SUCCESS = 0
    FAIL = 1
    INVALIDTRANSACTION = 2
    UNKNOWNCLUSTER = 3
    UNKNOWNJOB = 4
    UNKNOWNFILE = 5
    INCOMPLETE = 6
    INVALIDOFFSET = 7
    ALREADYEXISTS = 8


class CondorSoapError(Exception):
    """An application error: answered as a ``Status`` with :attr:`code` and the message."""

    code: StatusCode = StatusCode.FAIL

    def __init__(self, message: str, *, result: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.result = result


class PermissionDenied(CondorSoapError):
    """The caller is not allowed to do this."""


class NotFound(CondorSoapError):
    """What the request names does not exist."""


class LimitExceeded(CondorSoapError):
    """A configured limit refuses the request."""


class PoolError(CondorSoapError):
    """The pool (schedd, collector, local queue) failed or cannot be reached."""


class InvalidTransaction(CondorSoapError):
    code = StatusCode.INVALIDTRANSACTION

    def __init__(self, message: str = "Invalid transaction") -> None:
        super().__init__(message)


class UnknownCluster(CondorSoapError):
    code = StatusCode.UNKNOWNCLUSTER


class UnknownJob(CondorSoapError):
    code = StatusCode.UNKNOWNJOB


class UnknownFile(CondorSoapError):
    code = StatusCode.UNKNOWNFILE


class Incomplete(CondorSoapError):
    code = StatusCode.INCOMPLETE


class InvalidOffset(CondorSoapError):
    code = StatusCode.INVALIDOFFSET


class AlreadyExists(CondorSoapError):
    code = StatusCode.ALREADYEXISTS
