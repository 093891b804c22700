"""What the schedd and the collector clients share: the connection and the two daemon-core
operations every SOAP daemon answers."""
from __future__ import annotations

from typing import Optional, Union

from condor_soap.client.settings import Settings, resolve


class Daemon:
    """A SOAP daemon at ``url``. Arguments not given are read from the environment and the
    client configuration file (:mod:`condor_soap.client.settings`).

    :param url: the service, e.g. ``http://127.0.0.1:8080/`` (condor-soap serves both WSDLs there)
    :param user: HTTP Basic user, with ``password``
    :param token: a bearer token (instead of a user)
    :param cert: client certificate: a PEM file holding the key too, or ``(cert, key)``
    :param verify: ``True``, ``False`` or a CA bundle (HTTPS)
    :param timeout: seconds to wait for an answer (default 300)
    :param owner: ``Owner`` of submitted jobs (default: the HTTP Basic user; with a token or a
        certificate, the user the service maps it to; anonymous: the local user name)
    :param retry_for: seconds to retry idempotent calls through connection failures once the
        service has answered, e.g. while it restarts
    :param settings: all of the above at once (:func:`~condor_soap.client.settings.resolve`)
    """

    def __init__(self, url: Optional[str] = None, *, user: Optional[str] = None, password: Optional[str] = None,
                 token: Optional[str] = None, cert: Union[str, tuple[str, str], None] = None,
                 verify: Union[bool, str, None] = None, timeout: Optional[float] = None, owner: Optional[str] = None,
                 retry_for: float = 30.0, settings: Optional[Settings] = None) -> None:
        self.settings = settings or resolve(url, user=user, password=password, token=token, cert=cert,
                                            verify=verify, timeout=timeout, owner=owner)
        self._endpoint = self.settings.endpoint(retry_for)

    @property
    def url(self) -> str:
        return self.settings.url

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    def close(self) -> None:
        """Close the HTTP connections."""
        self._endpoint.close()

    def __enter__(self):  # type: ignore[no-untyped-def] - the subclass
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def version(self) -> str:
        """``getVersionString``: ``$CondorVersion: ... $``."""
        return self._endpoint.call("getVersionString").findtext("message") or ""

    def platform(self) -> str:
        """``getPlatformString``: ``$CondorPlatform: ... $``."""
        return self._endpoint.call("getPlatformString").findtext("message") or ""
