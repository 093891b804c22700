"""Token issuers' public keys (JWKS): from a file, or fetched over HTTPS and cached.

Only signature keys for RS256 (RSA, >= 2048 bits) and ES256 (EC P-256) are kept, each bound to
its one algorithm: a JWKS entry that is symmetric (``oct``), for encryption, too small or
labelled with another ``alg`` is dropped, so no token can choose how it is verified.

Fetched keys (``{issuer}/.well-known/openid-configuration`` -> ``jwks_uri``, both HTTPS) are
used for ``refresh`` seconds. A key id the cache does not know triggers a refetch, but one
issuer is fetched at most once per ``min_interval`` seconds whatever tokens arrive: forged key
ids cannot make the service hammer the issuer. A failed fetch keeps the keys it had.
"""
from __future__ import annotations

import json
import logging
import ssl
import threading
import time
import urllib.request
from typing import Any, Callable, Optional

import jwt

from condor_soap.auth.credentials import Reloading

log = logging.getLogger(__name__)

#: The one algorithm each key type is used with.
ALGORITHMS = {"RSA": "RS256", "EC": "ES256"}
MIN_RSA_BITS = 2048
MAX_DOCUMENT_BYTES = 1 << 20
FETCH_TIMEOUT = 10.0


def parse_jwks(document: Any) -> dict[str, jwt.PyJWK]:
    """The usable signature keys of a JWKS document, by ``kid``."""
    keys: dict[str, jwt.PyJWK] = {}
    entries = document.get("keys") if isinstance(document, dict) else None
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        algorithm = ALGORITHMS.get(entry.get("kty"))  # type: ignore[arg-type]
        if algorithm is None or entry.get("use", "sig") != "sig" or entry.get("alg", algorithm) != algorithm \
                or (algorithm == "ES256" and entry.get("crv") != "P-256"):
            continue
        try:
            key = jwt.PyJWK(entry, algorithm)
        except (jwt.PyJWKError, ValueError, TypeError):
            continue
        if algorithm == "RS256" and key.key.key_size < MIN_RSA_BITS:
            continue
        keys[entry["kid"]] = key
    return keys


def _read_jwks(path: str) -> dict[str, jwt.PyJWK]:
    with open(path, encoding="utf-8") as f:
        return parse_jwks(json.load(f))


class JwksFile:
    """An issuer's keys from a JWKS file, re-read when it changes."""

    def __init__(self, path: str) -> None:
        self._file = Reloading(path, _read_jwks)

    def key(self, kid: str) -> Optional[jwt.PyJWK]:
        return self._file.get().get(kid)


class _HttpsOnly(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        if not newurl.startswith("https://"):
            raise ValueError(f"redirected to a non-HTTPS address {newurl[:200]}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class JwksFetcher:
    """An issuer's keys fetched over HTTPS through its OpenID configuration, cached."""

    def __init__(self, issuer: str, *, refresh: float, min_interval: float, ca_file: Optional[str] = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.issuer = issuer
        self.refresh = refresh
        self.min_interval = min_interval
        self._clock = clock
        context = ssl.create_default_context(cafile=ca_file)
        self._opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _HttpsOnly())
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched: Optional[float] = None  # when the keys were last fetched
        self._attempted: Optional[float] = None  # when a fetch was last tried
        self._lock = threading.Lock()

    def key(self, kid: str) -> Optional[jwt.PyJWK]:
        with self._lock:  # one fetch at a time; the others then use its keys
            now = self._clock()
            stale = self._fetched is None or now - self._fetched >= self.refresh
            allowed = self._attempted is None or now - self._attempted >= self.min_interval
            if (stale or kid not in self._keys) and allowed:
                self._attempted = now
                try:
                    self._keys, self._fetched = self._fetch(), now
                except (OSError, ValueError) as exc:  # URLError, ssl and JSON errors among them
                    log.warning("cannot fetch the keys of token issuer %s: %s", self.issuer, exc)
            return self._keys.get(kid)

    def _fetch(self) -> dict[str, jwt.PyJWK]:
        configuration = self._get(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
        uri = configuration.get("jwks_uri") if isinstance(configuration, dict) else None
        if not isinstance(uri, str) or not uri.startswith("https://"):
            raise ValueError("the OpenID configuration names no https:// jwks_uri")
        return parse_jwks(self._get(uri))

    def _get(self, url: str) -> Any:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        with self._opener.open(request, timeout=FETCH_TIMEOUT) as answer:
            body = answer.read(MAX_DOCUMENT_BYTES + 1)
        if len(body) > MAX_DOCUMENT_BYTES:
            raise ValueError(f"{url[:200]} answered more than {MAX_DOCUMENT_BYTES} bytes")
        return json.loads(body)
