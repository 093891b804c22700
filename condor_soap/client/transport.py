"""HTTP to one service URL: a ``requests`` session with the caller's credentials, one POST
per operation, retries for the operations that may be repeated."""
from __future__ import annotations

import logging
import time
from typing import Any, Iterator, Optional, Union

import requests

from condor_soap.client import wire
from condor_soap.client.errors import ConnectionFailed, HTTPError, InvalidResponse, map_exceptions, raise_for_http
from condor_soap.client.classad import ClassAd

log = logging.getLogger(__name__)

#: Operations that may be sent again after a transport failure: reads, and writes whose
#: repetition changes nothing (the same bytes at the same offset, a duplicate declaration
#: answered ALREADYEXISTS, a lease set again).
IDEMPOTENT = frozenset((
    "getVersionString", "getPlatformString", "getJobAds", "getJobAd", "getFile", "listSpool",
    "createJobTemplate", "discoverJobRequirements", "extendTransaction", "declareFile", "sendFile",
    "closeSpool", "requestReschedule",
    *(f"query{kind}Ads" for kind in ("Startd", "Schedd", "Master", "Submittor", "License", "Storage", "Any"))))
#: Failures worth retrying: the service restarting, a proxy between restarts (a read
#: timeout is a slow service, not a gone one: asking again would only add load).
RETRYABLE = (ConnectionFailed,)
RETRYABLE_HTTP = frozenset((502, 503, 504))
CHUNK = 1 << 16  # bytes read from the socket at a time when streaming an answer

Cert = Union[str, tuple[str, str], None]


class Endpoint:
    """A service URL and how to authenticate to it.

    :param url: the service (``http://host:8080/``); both WSDLs' operations are served there
    :param user: HTTP Basic user (with ``password``)
    :param token: bearer token (instead of a user)
    :param cert: client certificate: a PEM file holding the key too, or ``(cert, key)``
    :param verify: ``True``, ``False`` or a CA bundle path (HTTPS)
    :param timeout: seconds to wait for an answer to start (and between its bytes); a
        connection gets at most 15 of them. condor-soap builds a large answer whole before
        sending it: 10,000 jobs take it tens of seconds
    :param retry_for: seconds to keep retrying an idempotent operation through connection
        failures once the service has answered at least once (it is restarting); a service
        never reached fails at once; 0 disables retries
    """

    def __init__(self, url: str, *, user: Optional[str] = None, password: Optional[str] = None,
                 token: Optional[str] = None, cert: Cert = None, verify: Union[bool, str] = True,
                 timeout: float = 300.0, retry_for: float = 30.0) -> None:
        if user is not None and token is not None:
            raise ValueError("give a user and password or a token, not both")
        if not url or "://" not in url:
            raise ValueError(f"not a service URL: {url!r} (e.g. http://127.0.0.1:8080/)")
        self.url = url
        self.user, self._password, self._token = user, password, token
        self.cert, self.verify, self.timeout, self.retry_for = cert, verify, timeout, retry_for
        self.reached = False  # the service has answered on this endpoint
        self.session = self._new_session()

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        session.headers.update({"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
        if self.user is not None:
            session.auth = (self.user, self._password or "")
        elif self._token is not None:
            session.headers["Authorization"] = f"Bearer {self._token}"
        session.cert = self.cert
        session.verify = self.verify
        return session

    def clone(self) -> "Endpoint":
        """The same endpoint on a session of its own (for another thread)."""
        twin = Endpoint.__new__(Endpoint)
        twin.__dict__.update(self.__dict__)
        twin.session = self._new_session()
        return twin

    def close(self) -> None:
        self.session.close()

    def _post(self, operation: str, body: bytes, stream: bool, job: Optional[str]) -> requests.Response:
        """One POST; raises the client exception for anything but an HTTP 200 or a Fault."""
        with map_exceptions(operation, job):
            # verify and cert per request: requests lets $REQUESTS_CA_BUNDLE override a session's
            response = self.session.post(self.url, data=body, timeout=(min(self.timeout, 15.0), self.timeout),
                                         stream=stream, verify=self.verify, cert=self.cert)
            if response.status_code != 200 and not _is_fault(response):
                raise_for_http(response, operation, job)
        self.reached = True
        return response

    def _send(self, operation: str, body: bytes, stream: bool, job: Optional[str]) -> requests.Response:
        """:meth:`_post`, retried for :data:`IDEMPOTENT` operations within ``retry_for``."""
        deadline = time.monotonic() + self.retry_for
        delay = 0.25
        while True:
            try:
                return self._post(operation, body, stream, job)
            except (*RETRYABLE, HTTPError) as exc:
                retry = (self.reached and operation in IDEMPOTENT and time.monotonic() + delay < deadline and
                         (not isinstance(exc, HTTPError) or exc.http_status in RETRYABLE_HTTP))
                if not retry:
                    raise
                log.info("%s: %s; retrying in %.2g s", operation, exc.message, delay)
                time.sleep(delay)
                delay = min(delay * 2, 4.0)

    def call(self, operation: str, *, job: Optional[str] = None, **arguments: Any) -> Any:
        """Send ``operation`` and return the answer's part (``response``/``result``/``status``
        element), its status checked: a non-SUCCESS status raises its exception."""
        response = self._send(operation, wire.envelope(operation, **arguments), False, job)
        with map_exceptions(operation, job):
            part = wire.payload(response.content, operation)
        if not operation.startswith("query"):
            wire.check_status(part, operation, job)
        return part

    def ads(self, operation: str, projection: Optional[list[str]] = None, **arguments: Any) -> Iterator[ClassAd]:
        """Send a ``getJobAds``/``query*Ads`` and yield its ads as they arrive."""
        response = self._send(operation, wire.envelope(operation, **arguments), True, None)
        try:
            if response.status_code != 200:  # a Fault
                with map_exceptions(operation):
                    wire.payload(response.content, operation)
                raise InvalidResponse(f"HTTP {response.status_code}", operation=operation)
            with map_exceptions(operation):
                yield from wire.iter_ads(response.iter_content(CHUNK), operation, projection)
        finally:
            response.close()


def _is_fault(response: requests.Response) -> bool:
    """A SOAP 1.1 Fault comes with HTTP 500 and an XML body."""
    return response.status_code == 500 and "xml" in response.headers.get("Content-Type", "")
