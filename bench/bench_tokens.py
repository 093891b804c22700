#!/usr/bin/env python3
"""What verifying a JWT bearer token costs per call: getVersionString throughput of one
condor-soap process with anonymous calls (the baseline), remembered Basic credentials, an
RS256 and an ES256 SciToken (keys from a JWKS file) and an HS256 HTCondor IDTOKEN, each
printed with its ratio to the baseline measured in the same run.

    .venv/bin/python bench/bench_tokens.py [--seconds 5] [--clients 4] [--threads 8]
"""
from __future__ import annotations

import argparse
import base64
import json
import multiprocessing
import os
import tempfile
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from bench_version import VERSION_BODY, _serve, drive

ISSUER, AUDIENCE, TRUST_DOMAIN = "https://idp.bench.example", "https://soap.bench.example", "bench.example"


def serve(threads: int, port_queue, settings: dict) -> None:
    from condor_soap import Config, create_app

    _serve(create_app(Config(threads=threads, **settings)), threads, port_queue)


def credentials(directory: str) -> tuple[dict, dict]:
    """Service settings and the Authorization header of each way to call."""
    from condor_soap.auth import credentials as cred
    from condor_soap.auth.idtokens import signing_key

    cred.set_entry(os.path.join(directory, "passwd"), "alice", cred.hash_password("pw"))
    keys = {"rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ec": ec.generate_private_key(ec.SECP256R1())}
    jwks = {"keys": [
        {**jwt.algorithms.RSAAlgorithm.to_jwk(keys["rsa"].public_key(), as_dict=True), "kid": "rsa", "alg": "RS256"},
        {**jwt.algorithms.ECAlgorithm.to_jwk(keys["ec"].public_key(), as_dict=True), "kid": "ec", "alg": "ES256"}]}
    with open(os.path.join(directory, "jwks"), "w") as f:
        json.dump(jwks, f)
    with open(os.path.join(directory, "usermap"), "w") as f:
        f.write(f"SCITOKENS /^{ISSUER.replace('.', '[.]')},(alice)$/ \\1\n")
    os.mkdir(os.path.join(directory, "keys"))
    pool_key = os.urandom(64)
    with open(os.path.join(directory, "keys", "POOL"), "wb") as f:
        f.write(pool_key)
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "alice", "aud": AUDIENCE, "iat": now, "exp": now + 3600, "scope": "compute.read"}
    idtoken = jwt.encode({"iss": TRUST_DOMAIN, "sub": "alice@bench.example", "iat": now},
                         signing_key(pool_key, "POOL"), algorithm="HS256", headers={"kid": "POOL"})
    headers = {
        "anonymous": None,
        "Basic (remembered)": "Basic " + base64.b64encode(b"alice:pw").decode(),
        "SciToken RS256": "Bearer " + jwt.encode(claims, keys["rsa"], algorithm="RS256", headers={"kid": "rsa"}),
        "SciToken ES256": "Bearer " + jwt.encode(claims, keys["ec"], algorithm="ES256", headers={"kid": "ec"}),
        "IDTOKEN HS256": "Bearer " + idtoken,
    }
    settings = {"state_dir": os.path.join(directory, "state"), "password_file": os.path.join(directory, "passwd"),
                "token_issuers": f"{ISSUER}={os.path.join(directory, 'jwks')}", "token_audiences": AUDIENCE,
                "cert_map_file": os.path.join(directory, "usermap"),
                "sec_password_directory": os.path.join(directory, "keys"), "trust_domain": TRUST_DOMAIN}
    return settings, headers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="condor-soap-bench-") as directory:
        settings, headers = credentials(directory)
        ctx = multiprocessing.get_context("spawn")
        ports = ctx.Queue()
        server = ctx.Process(target=serve, args=(args.threads, ports, settings), daemon=True)
        server.start()
        try:
            port = ports.get(timeout=60)
            rates = {}
            for name, header in headers.items():
                extra = {"Authorization": header} if header else {}
                drive(port, VERSION_BODY, args.clients, 1.0, b"$CondorVersion", extra)  # warm-up
                rates[name] = drive(port, VERSION_BODY, args.clients, args.seconds, b"$CondorVersion", extra)
        finally:
            server.terminate()
            server.join(10)
    for name, rate in rates.items():
        print(f"{name:20s} {rate:8.1f} req/s  ratio to anonymous {rate / rates['anonymous']:5.2f}")


if __name__ == "__main__":
    main()
