"""Who sent an HTTP request: credentials, trusted proxies and the client address.

Precedence: an ``Authorization`` header (Basic, or Bearer: an opaque token from the token
file or a JWT, :mod:`condor_soap.auth.tokens`) must be valid; else a client
certificate verified by a trusted proxy (``X-SSL-Client-Verify: SUCCESS`` and
``X-SSL-Client-S-DN``) mapped through the user map; else the caller is anonymous, which
is allowed only for a direct (not proxied) request to a loopback bind, or with
``allow_anonymous``. Proxy headers (``X-Forwarded-*``, ``X-SSL-Client-*``) are read only when the
TCP peer is in ``trusted_proxies``; waitress must not rewrite them itself (no ``trusted_proxy``
passed to it), so ``REMOTE_ADDR`` stays the TCP peer.
"""
from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import logging
from dataclasses import dataclass
from typing import NamedTuple, Optional, Union

from condor_soap.auth.audit import AuditLog
from condor_soap.auth.credentials import PasswordFile, TokenFile, UserMap
from condor_soap.auth.tokens import TokenRefused, TokenVerifier, looks_like_jwt
from condor_soap.auth.throttle import FailureThrottle
from condor_soap.config import Config
from condor_soap.core.policy import Caller, Policy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refusal:
    """An unauthenticated request: answered 401; ``reason`` goes to the audit log only."""

    reason: str
    user: Optional[str] = None
    retry_after: int = 0  # > 0: too many failed logins from this address (429, not 401)


class Verified(NamedTuple):
    """Credentials that proved ``user``: how (``method``), and what a token allows."""

    user: str
    method: str
    scopes: Optional[frozenset[str]] = None


def _networks(entries: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(e, strict=False) for e in entries)


@functools.lru_cache(maxsize=1024)
def _in_networks(networks: tuple, address: str) -> bool:
    """``address`` is in one of ``networks`` (asked for every request: remembered)."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in networks)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _basic(header: str) -> Optional[tuple[str, str]]:
    """(user, password) of a well-formed ``Basic`` Authorization header, else None."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    value = value.strip()
    try:
        try:
            decoded = base64.b64decode(value, validate=True)
        except binascii.Error:  # suds-community 1.2 encodes with the URL-safe alphabet
            decoded = base64.b64decode(value, altchars=b"-_", validate=True)
        user, sep, password = decoded.decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep and user else None


class Authenticator:
    """Establishes the :class:`Caller` of each request, from one :class:`Config`."""

    def __init__(self, config: Config, policy: Policy, audit: AuditLog) -> None:
        self.policy = policy
        self.audit = audit
        self.passwords = PasswordFile(config.password_file) if config.password_file else None
        self.tokens = TokenFile(config.token_file) if config.token_file else None
        self.users = UserMap(config.cert_map_file) if config.cert_map_file else None
        self.jwts = TokenVerifier.from_config(config, self.users)
        self.proxies = _networks(config.trusted_proxies)
        self.throttle = FailureThrottle(config.max_auth_failures, config.auth_failure_window)
        # allow_anonymous None ("auto"): only direct calls to a loopback bind
        self.anonymous_direct = (_is_loopback(config.host) if config.allow_anonymous is None
                                 else config.allow_anonymous)
        self.anonymous_proxied = config.allow_anonymous is True

    # addresses
    def trusted_peer(self, environ: dict) -> bool:
        return self._in_proxies(environ.get("REMOTE_ADDR", ""))

    def _in_proxies(self, address: str) -> bool:
        if not self.proxies:
            return False
        return _in_networks(self.proxies, address)

    def client_address(self, environ: dict) -> str:
        """The TCP peer, or behind trusted proxies the right-most X-Forwarded-For address
        that is not itself a trusted proxy (the left part is the client's to forge)."""
        peer = environ.get("REMOTE_ADDR", "")
        if not self._in_proxies(peer):
            return peer
        hops = [h.strip() for h in environ.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        for hop in reversed(hops):
            if not self._in_proxies(hop):
                try:
                    return str(ipaddress.ip_address(hop))
                except ValueError:
                    return peer  # garbage from the proxy chain: fall back on what we know
        return peer

    def public_address(self, environ: dict) -> tuple[str, Optional[str]]:
        """(scheme, host) the client used: X-Forwarded-Proto/-Host from a trusted proxy."""
        scheme, host = environ["wsgi.url_scheme"], environ.get("HTTP_HOST")
        if self.trusted_peer(environ):
            proto = environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[0].strip().lower()
            if proto in ("http", "https"):
                scheme = proto
            fwd_host = environ.get("HTTP_X_FORWARDED_HOST", "").split(",")[0].strip()
            if fwd_host:
                host = fwd_host
        return scheme, host

    # identity
    def identify(self, environ: dict) -> Union[Caller, Refusal]:
        address = self.client_address(environ)
        header = environ.get("HTTP_AUTHORIZATION", "")
        certified = self.trusted_peer(environ) and environ.get("HTTP_X_SSL_CLIENT_VERIFY", "") == "SUCCESS" \
            and bool(environ.get("HTTP_X_SSL_CLIENT_S_DN"))
        if not header and not certified:
            proxied = self.trusted_peer(environ)
            if self.anonymous_proxied or (self.anonymous_direct and not proxied):
                return Caller(None, address)
            return Refusal("no credentials")
        wait = self.throttle.retry_after(address)
        if wait and not self._checked_when_throttled(header):
            return Refusal("too many failed logins", retry_after=wait)
        if header:
            result = self._authorization(header)
        else:
            result = self._certificate(environ["HTTP_X_SSL_CLIENT_S_DN"])
        if isinstance(result, Refusal):
            if wait:
                return Refusal("too many failed logins", retry_after=wait)
            self.throttle.failed(address)
            return result
        return Caller(result.user, address, result.method, self.policy.is_admin(result.user), result.scopes)

    def _checked_when_throttled(self, header: str) -> bool:
        """Credentials still checked for a throttled address, as they cost no scrypt and
        cannot be guessed: Basic ones verified before, and bearer tokens (a hash lookup or a
        signature check). Anything else waits for the throttle."""
        if header.strip().partition(" ")[0].lower() == "bearer":
            return True
        credentials = _basic(header)
        return (self.passwords is not None and credentials is not None
                and bool(self._safely(self.passwords.known, *credentials)))

    def _authorization(self, header: str) -> Union[Verified, Refusal]:
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "basic":
            credentials = _basic(header)
            if credentials is None:
                return Refusal("malformed Basic credentials")
            user, password = credentials
            if self.passwords is None:
                return Refusal("Basic authentication not configured", user)
            if not self._safely(self.passwords.check, user, password):
                return Refusal("bad password", user)
            return Verified(user, "basic")
        if scheme.lower() == "bearer":
            if self.jwts is not None and looks_like_jwt(value):
                return self._jwt(value)
            if self.tokens is None:
                return Refusal("bearer tokens not configured")
            user = self._safely(self.tokens.user, value)
            return Verified(user, "bearer") if user else Refusal("unknown bearer token")
        return Refusal(f"unsupported authorization scheme {scheme[:20]!r}")

    def _jwt(self, token: str) -> Union[Verified, Refusal]:
        assert self.jwts is not None
        try:
            found = self.jwts.verify(token)
        except TokenRefused as refused:
            return Refusal(refused.reason, refused.principal)
        except (OSError, ValueError):  # an unreadable JWKS or map file: refuse, loudly
            log.exception("token verification failed")
            return Refusal("token keys or user map unreadable")
        return Verified(found.user, found.method, found.scopes)

    def _certificate(self, subject: str) -> Union[Verified, Refusal]:
        if self.users is None:
            return Refusal("certificate map not configured", subject[:256])
        user = self._safely(self.users.user, "SSL", subject)
        return Verified(user, "certificate") if user else Refusal("certificate subject not mapped", subject[:256])

    @staticmethod
    def _safely(check, *args):  # type: ignore[no-untyped-def]
        """A credential file that cannot be read refuses, loudly in the log."""
        try:
            return check(*args)
        except (OSError, ValueError):
            log.exception("credential file unreadable")
            return None
