"""A token issuer made in the test: RSA and EC keys generated with cryptography, its JWKS
served over real HTTPS on loopback (a throwaway CA signs the server certificate) or written
to a file, and tokens signed with PyJWT."""
from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import hmac
import ipaddress
import json
import ssl
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator, Optional

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

AUDIENCE = "https://soap.test.example"
REALM = "/realms/test"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict, claims: dict) -> str:
    """``header.payload`` of a JWS, for the forgeries PyJWT refuses to make."""
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"


class Issuer:
    """Signing keys by ``kid`` (which of them its JWKS publishes) and the tokens it makes."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.private: dict[str, Any] = {}
        self.published: list[str] = []

    def add_key(self, kind: str = "RSA", *, publish: bool = True) -> str:
        kid = f"{kind.lower()}-{uuid.uuid4().hex[:8]}"
        self.private[kid] = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if kind == "RSA"
                             else ec.generate_private_key(ec.SECP256R1()))
        if publish:
            self.published.append(kid)
        return kid

    def algorithm(self, kid: str) -> str:
        return "RS256" if isinstance(self.private[kid], rsa.RSAPrivateKey) else "ES256"

    def jwks(self) -> dict:
        keys = []
        for kid in self.published:
            public = self.private[kid].public_key()
            algorithm = jwt.algorithms.RSAAlgorithm if self.algorithm(kid) == "RS256" else jwt.algorithms.ECAlgorithm
            keys.append({**algorithm.to_jwk(public, as_dict=True), "kid": kid, "use": "sig",
                         "alg": self.algorithm(kid)})
        return {"keys": keys}

    def public_pem(self, kid: str) -> bytes:
        return self.private[kid].public_key().public_bytes(serialization.Encoding.PEM,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo)

    def claims(self, sub: str = "alice", scope: Optional[str] = "compute.read", *, lifetime: int = 600,
               **extra: Any) -> dict:
        now = int(time.time())
        claims = {"iss": self.url, "sub": sub, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + lifetime,
                  "jti": uuid.uuid4().hex, "wlcg.ver": "1.0"}
        if scope is not None:
            claims["scope"] = scope
        claims.update(extra)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, sub: str = "alice", scope: Optional[str] = "compute.read", *, kid: Optional[str] = None,
              header_kid: Optional[str] = None, **claims: Any) -> str:
        """A token signed with ``kid`` (default: the first key); ``header_kid`` names another."""
        kid = kid or next(iter(self.private))
        return jwt.encode(self.claims(sub, scope, **claims), self.private[kid], algorithm=self.algorithm(kid),
                          headers={"kid": header_kid or kid, "typ": "JWT"})


# -- a CA and an HTTPS server on loopback ----------------------------------------------------

def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(directory: Path, name: str = "Token Test CA") -> tuple[Path, Any, Any]:
    """A self-signed CA: (its PEM file, its key, its certificate)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    path = directory / f"{hashlib.sha1(name.encode()).hexdigest()[:8]}-ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, key, cert


def server_context(directory: Path, ca_key: Any, ca_cert: Any) -> ssl.SSLContext:
    """A server TLS context for 127.0.0.1/localhost with a certificate signed by the CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_file, key_file = directory / "server.pem", directory / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


class IssuerServer:
    """An issuer's OpenID configuration and JWKS over HTTPS; ``hits`` counts requests per path."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.hits: Counter[str] = Counter()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                owner.hits[self.path] += 1
                documents = {f"{REALM}/.well-known/openid-configuration": {
                    "issuer": owner.issuer.url, "jwks_uri": f"{owner.base}{REALM}/protocol/openid-connect/certs"},
                    f"{REALM}/protocol/openid-connect/certs": owner.issuer.jwks()}
                body = json.dumps(documents[self.path]).encode() if self.path in documents else b"{}"
                self.send_response(200 if self.path in documents else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.base = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        self.issuer = Issuer(self.base + REALM)

    @property
    def jwks_fetches(self) -> int:
        return self.hits[f"{REALM}/protocol/openid-connect/certs"]


@contextlib.contextmanager
def issuer_over_https(directory: Path, ca_key: Any, ca_cert: Any) -> Iterator[IssuerServer]:
    server = IssuerServer(server_context(directory, ca_key, ca_cert))
    thread = threading.Thread(target=server.httpd.serve_forever, name="test-issuer", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
        thread.join(10)


def hs256_with(secret: bytes, header: dict, claims: dict) -> str:
    """A token HMAC-signed with ``secret`` (e.g. an issuer's public key: the confusion attack)."""
    signing_input = unsigned(header, claims)
    return f"{signing_input}.{b64url(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"
