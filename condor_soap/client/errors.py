"""Everything the client raises, and the one seam where the wire's failures become exceptions.

::

    CondorSoapClientError              base of everything below: operation, job, message
    ├── StatusError                    the service answered a Status other than SUCCESS
    │   ├── Failed                     FAIL
    │   ├── InvalidTransaction         INVALIDTRANSACTION
    │   ├── UnknownCluster             UNKNOWNCLUSTER
    │   ├── UnknownJob                 UNKNOWNJOB
    │   ├── UnknownFile                UNKNOWNFILE
    │   ├── Incomplete                 INCOMPLETE
    │   ├── InvalidOffset              INVALIDOFFSET
    │   └── AlreadyExists              ALREADYEXISTS
    ├── SoapFault                      a SOAP Fault (malformed request, unknown operation)
    └── TransportError                 no usable answer
        ├── ConnectionFailed           refused, reset, DNS, TLS
        ├── Timeout                    no answer within the timeout
        ├── AuthenticationFailed       HTTP 401
        ├── TooManyRequests            HTTP 429 (``retry_after`` seconds)
        ├── HTTPError                  any other HTTP status but 200 (``http_status``)
        └── InvalidResponse            an answer that is not a SOAP envelope of the contract

:func:`map_exceptions` turns ``requests`` and lxml exceptions into these, and
:func:`raise_for_http` the HTTP statuses; nothing else in the client catches transport errors.
"""
from __future__ import annotations

import contextlib
import re
from typing import Iterator, NoReturn, Optional

import requests
from lxml import etree

from condor_soap.errors import StatusCode  # the WSDL's enumeration: one definition


class CondorSoapClientError(Exception):
    """Base class of every client error.

    :param operation: the SOAP operation that failed (``"getJobAd"``), if any
    :param job: the job it was about (``"12.0"``), if any
    :param message: what the service (or the transport) said
    """

    def __init__(self, message: str, *, operation: Optional[str] = None, job: Optional[str] = None) -> None:
        self.message = message
        self.operation = operation
        self.job = job
        where = " ".join(part for part in (operation, job) if part)
        super().__init__(f"{where}: {message}" if where else message)


class StatusError(CondorSoapClientError):
    """The service answered a ``Status`` whose code is not ``SUCCESS``."""

    code: StatusCode = StatusCode.FAIL


class Failed(StatusError):
    """``FAIL``: the operation failed; the message says why."""

    code = StatusCode.FAIL


class InvalidTransaction(StatusError):
    """``INVALIDTRANSACTION``: the transaction is unknown, committed, aborted or expired."""

    code = StatusCode.INVALIDTRANSACTION


class UnknownCluster(StatusError):
    """``UNKNOWNCLUSTER``."""

    code = StatusCode.UNKNOWNCLUSTER


class UnknownJob(StatusError):
    """``UNKNOWNJOB``: no such job (or not visible to this user)."""

    code = StatusCode.UNKNOWNJOB


class UnknownFile(StatusError):
    """``UNKNOWNFILE``."""

    code = StatusCode.UNKNOWNFILE


class Incomplete(StatusError):
    """``INCOMPLETE``: a declared file did not receive all its bytes (at commit)."""

    code = StatusCode.INCOMPLETE


class InvalidOffset(StatusError):
    """``INVALIDOFFSET``."""

    code = StatusCode.INVALIDOFFSET


class AlreadyExists(StatusError):
    """``ALREADYEXISTS``: the file is declared already, or the service holds its content."""

    code = StatusCode.ALREADYEXISTS


#: The exception class for each non-SUCCESS status code.
STATUS_ERRORS: dict[StatusCode, type[StatusError]] = {
    cls.code: cls for cls in (Failed, InvalidTransaction, UnknownCluster, UnknownJob, UnknownFile,
                              Incomplete, InvalidOffset, AlreadyExists)}


class SoapFault(CondorSoapClientError):
    """A SOAP Fault: the service could not read the request (``faultcode``, ``faultstring``)."""

    def __init__(self, faultcode: str, faultstring: str, *, operation: Optional[str] = None,
                 job: Optional[str] = None) -> None:
        self.faultcode = faultcode
        super().__init__(f"SOAP Fault {faultcode}: {faultstring}", operation=operation, job=job)


class TransportError(CondorSoapClientError):
    """The service could not be asked, or gave no usable answer."""


class ConnectionFailed(TransportError):
    """Connection refused or reset, unknown host, TLS failure."""


class Timeout(TransportError):
    """No answer within the timeout."""


class AuthenticationFailed(TransportError):
    """HTTP 401: credentials missing or refused."""


class TooManyRequests(TransportError):
    """HTTP 429: too many failed logins from this address; ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: Optional[int] = None, **kw: Optional[str]) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class HTTPError(TransportError):
    """Any other HTTP status but 200 (``http_status``): a proxy error, 404, 413, 5xx."""

    def __init__(self, message: str, *, http_status: int, **kw: Optional[str]) -> None:
        self.http_status = http_status
        super().__init__(message, **kw)


class InvalidResponse(TransportError):
    """An answer that is not a SOAP envelope of the contract (not XML, wrong shape)."""


def error_for_status(code: StatusCode, message: Optional[str], *, operation: Optional[str] = None,
                     job: Optional[str] = None) -> StatusError:
    """The exception for a non-SUCCESS ``code``."""
    return STATUS_ERRORS[code](message or code.name, operation=operation, job=job)


#: ``requests``/lxml exception -> client exception, most specific first.
TRANSPORT_ERRORS: tuple[tuple[type[BaseException], type[TransportError]], ...] = (
    (requests.exceptions.Timeout, Timeout),  # ConnectTimeout, ReadTimeout
    (requests.exceptions.SSLError, ConnectionFailed),
    (requests.exceptions.ConnectionError, ConnectionFailed),
    (requests.exceptions.ChunkedEncodingError, ConnectionFailed),  # cut mid-answer
    (requests.exceptions.ContentDecodingError, InvalidResponse),
    (requests.exceptions.InvalidURL, ConnectionFailed),
    (requests.exceptions.MissingSchema, ConnectionFailed),
    (requests.exceptions.InvalidSchema, ConnectionFailed),
    (etree.XMLSyntaxError, InvalidResponse),
)


_CONNECTION_PREFIX = re.compile(r"^<?\w*Connection(?:Pool)?\b[^:]*>?: ")


@contextlib.contextmanager
def map_exceptions(operation: str, job: Optional[str] = None) -> Iterator[None]:
    """Raise the client exception of :data:`TRANSPORT_ERRORS` for a transport failure inside."""
    try:
        yield
    except CondorSoapClientError:
        raise
    except Exception as exc:
        for source, target in TRANSPORT_ERRORS:
            if isinstance(exc, source):
                raise target(_describe(exc), operation=operation, job=job) from exc
        raise


def _describe(exc: BaseException) -> str:
    """One line for a transport exception (urllib3 nests the useful part)."""
    text = str(exc) or type(exc).__name__
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    if reason is not None:
        text = str(reason)
    # "HTTPConnection(host='h', port=1): Failed to establish..." -> "Failed to establish..."
    return " ".join(_CONNECTION_PREFIX.sub("", text).split())


def raise_for_http(response: requests.Response, operation: str, job: Optional[str] = None) -> NoReturn:
    """Raise for an HTTP status that carries no SOAP answer (the caller reads 200 and Faults)."""
    status = response.status_code
    if status == 401:
        raise AuthenticationFailed("HTTP 401: authentication required (user/password, token or "
                                   "certificate missing or refused)", operation=operation, job=job)
    if status == 429:
        after = response.headers.get("Retry-After", "")
        raise TooManyRequests(f"HTTP 429: {_text(response) or 'too many requests'}",
                              retry_after=int(after) if after.isdigit() else None, operation=operation, job=job)
    raise HTTPError(f"HTTP {status} {response.reason or ''}".rstrip() + (f": {_text(response)}" if _text(response) else ""),
                    http_status=status, operation=operation, job=job)


def _text(response: requests.Response) -> str:
    """The start of a plain-text error body, on one line (HTML pages are not shown)."""
    if "html" in response.headers.get("Content-Type", ""):
        return ""
    return " ".join(response.text[:200].split())
