"""JWT bearer tokens: who a token acts for and what it may do (docs/security.rst, "Tokens").

Two kinds, told apart by their (not yet verified) ``iss``:

- **SciTokens / WLCG tokens** from the configured issuers: RS256 or ES256 only, keys from the
  issuer's JWKS (:mod:`condor_soap.auth.jwks`); ``exp``, ``iat``, ``aud`` required; the user
  is ``<iss>,<user claim>`` mapped by the user map's ``SCITOKENS`` lines (no line, no user).
  Their ``scope`` limits them: no scope claim means no scope at all.
- **HTCondor IDTOKENs** (``condor_token_create``): ``iss`` is the pool's trust domain, HS256
  only, keyed by ``kid`` in ``SEC_PASSWORD_DIRECTORY`` (:mod:`condor_soap.auth.idtokens`);
  the user is ``sub`` (``user@domain``) mapped by ``IDTOKENS`` lines, else its user part.
  Without a ``scope`` claim (no ``-authz``) they are not limited, as in HTCondor.

Verification is PyJWT's; this module only chooses the key and the algorithms a token may be
verified with, and maps its subject. A refusal carries the reason for the audit log and never
the token.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Union

import jwt

from condor_soap.auth.credentials import UserMap, valid_user
from condor_soap.auth.idtokens import SigningKeys
from condor_soap.auth.jwks import JwksFetcher, JwksFile

if TYPE_CHECKING:
    from condor_soap.config import Config

SCITOKEN, IDTOKEN = "scitoken", "idtoken"
ISSUER_ALGORITHMS = ("RS256", "ES256")  # never "none", never HS* for an issuer's tokens
IDTOKEN_ALGORITHMS = ("HS256",)
MAX_TOKEN_CHARS = 16384
KeySource = Union[JwksFile, JwksFetcher]


class TokenRefused(Exception):
    """A token that does not authenticate: ``reason`` for the audit log; ``principal`` the
    subject it names, once its signature is known to be good."""

    def __init__(self, reason: str, principal: Optional[str] = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.principal = principal[:256] if principal else None


@dataclass(frozen=True)
class TokenIdentity:
    """Who a verified token acts for: ``scopes`` None is not limited by scope."""

    user: str
    method: str
    scopes: Optional[frozenset[str]]


def looks_like_jwt(value: str) -> bool:
    """A compact JWS (``header.payload.signature``), not an opaque token."""
    return value.count(".") == 2


def scopes_of(claims: dict[str, Any]) -> Optional[frozenset[str]]:
    """The ``scope`` claim (space-separated, or a list) as a set; None without the claim."""
    scope = claims.get("scope")
    if scope is None:
        return None
    items = scope.split() if isinstance(scope, str) else scope if isinstance(scope, list) else ()
    return frozenset(s for s in items if isinstance(s, str))


# PyJWT's refusals, as audit reasons; the ones after a good signature name the principal.
_CLAIM_ERRORS = (
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.ImmatureSignatureError, "token not yet valid"),
    (jwt.InvalidAudienceError, "token audience not accepted"),
    (jwt.InvalidIssuedAtError, "token iat is not a time"),
    (jwt.MissingRequiredClaimError, "token lacks a required claim"),
)
_SIGNATURE_ERRORS = (
    (jwt.InvalidSignatureError, "token signature invalid"),
    (jwt.InvalidAlgorithmError, "token algorithm not allowed"),
    (jwt.InvalidKeyError, "token signing key unusable"),
    (jwt.DecodeError, "malformed token"),
)


class TokenVerifier:
    """Verifies JWT bearer tokens for one configuration."""

    def __init__(self, *, issuers: dict[str, KeySource], audiences: tuple[str, ...] = (), user_claim: str = "sub",
                 leeway: int = 60, pool_keys: Optional[SigningKeys] = None, trust_domain: Optional[str] = None,
                 user_map: Optional[UserMap] = None) -> None:
        self.issuers = issuers
        self.audiences = audiences
        self.user_claim = user_claim
        self.leeway = leeway
        self.pool_keys = pool_keys
        self.trust_domain = trust_domain
        self.user_map = user_map

    @classmethod
    def from_config(cls, config: "Config", user_map: Optional[UserMap]) -> Optional["TokenVerifier"]:
        """The verifier ``config`` asks for; None when it configures no JWT at all."""
        issuers: dict[str, KeySource] = {}
        for entry in config.token_issuers:
            issuer, _, jwks_file = entry.partition("=")
            issuers[issuer] = JwksFile(jwks_file) if jwks_file else JwksFetcher(
                issuer, refresh=config.token_jwks_refresh, min_interval=config.token_jwks_min_interval,
                ca_file=config.token_ca_file)
        pool_keys = SigningKeys(config.sec_password_directory) if config.sec_password_directory else None
        if not issuers and pool_keys is None:
            return None
        return cls(issuers=issuers, audiences=config.token_audiences, user_claim=config.token_user_claim,
                   leeway=config.token_leeway, pool_keys=pool_keys, trust_domain=config.trust_domain,
                   user_map=user_map)

    def verify(self, token: str) -> TokenIdentity:
        """The identity ``token`` proves, or :class:`TokenRefused` with the reason."""
        if len(token) > MAX_TOKEN_CHARS:
            raise TokenRefused("token too long")
        try:
            parts = jwt.decode_complete(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            raise TokenRefused("malformed token") from None
        header, unverified = parts["header"], parts["payload"]
        issuer = unverified.get("iss")
        if isinstance(issuer, str) and issuer in self.issuers:
            return self._scitoken(token, header, unverified, issuer)
        if self.pool_keys is not None and issuer == self.trust_domain:
            return self._idtoken(token, header, unverified)
        raise TokenRefused(f"token issuer not trusted: {str(issuer)[:200]!r}")

    def _scitoken(self, token: str, header: dict, unverified: dict, issuer: str) -> TokenIdentity:
        algorithm = self._algorithm(header, ISSUER_ALGORITHMS)
        key = self.issuers[issuer].key(self._kid(header))
        if key is None:
            raise TokenRefused(f"token signing key unknown: {self._kid(header)[:100]!r}")
        if key.algorithm_name != algorithm:
            raise TokenRefused(f"token algorithm {algorithm} does not match its key ({key.algorithm_name})")
        value = unverified.get(self.user_claim)
        principal = f"{issuer},{value}" if isinstance(value, str) else None
        claims = self._decode(token, key, algorithm, principal, issuer,
                              ("exp", "iat", "iss", "aud", self.user_claim), self.audiences)
        user = self.user_map.user("SCITOKENS", principal) if self.user_map and principal else None
        if user is None:
            raise TokenRefused("token subject not mapped (no SCITOKENS line of the user map matches)", principal)
        return TokenIdentity(user, SCITOKEN, scopes_of(claims) or frozenset())

    def _idtoken(self, token: str, header: dict, unverified: dict) -> TokenIdentity:
        assert self.pool_keys is not None
        algorithm = self._algorithm(header, IDTOKEN_ALGORITHMS)
        key = self.pool_keys.key(self._kid(header))
        if key is None:
            raise TokenRefused(f"token signing key unknown: {self._kid(header)[:100]!r}")
        subject = unverified.get("sub")
        principal = subject if isinstance(subject, str) else None
        # condor_token_create writes no aud; one that is there must name this service
        audiences = (self.audiences or None) if "aud" in unverified else None
        claims = self._decode(token, key, algorithm, principal, self.trust_domain, ("iat", "iss", "sub"), audiences)
        user = self.user_map.user("IDTOKENS", claims["sub"]) if self.user_map else None
        if user is None:
            local = claims["sub"].partition("@")[0]
            user = local if valid_user(local) else None
        if user is None:
            raise TokenRefused("token subject not mapped (not user@domain, and no IDTOKENS line matches)",
                               principal)
        return TokenIdentity(user, IDTOKEN, scopes_of(claims))

    @staticmethod
    def _algorithm(header: dict, allowed: tuple[str, ...]) -> str:
        algorithm = header.get("alg")
        if algorithm not in allowed:
            raise TokenRefused(f"token algorithm not allowed: {str(algorithm)[:20]!r}")
        return algorithm

    @staticmethod
    def _kid(header: dict) -> str:
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRefused("token names no signing key (kid)")
        return kid

    def _decode(self, token: str, key: Any, algorithm: str, principal: Optional[str], issuer: Optional[str],
                required: tuple[str, ...], audiences: Optional[tuple[str, ...]]) -> dict:
        try:
            return jwt.decode(token, key, algorithms=[algorithm], audience=audiences, issuer=issuer,
                              leeway=self.leeway, options={"require": list(required)})
        except jwt.PyJWTError as exc:
            for error, reason in _CLAIM_ERRORS:
                if isinstance(exc, error):
                    raise TokenRefused(f"{reason} ({exc})" if error is jwt.MissingRequiredClaimError else reason,
                                       principal) from None
            for error, reason in _SIGNATURE_ERRORS:
                if isinstance(exc, error):
                    raise TokenRefused(reason) from None
            raise TokenRefused(f"token refused: {type(exc).__name__}") from None
