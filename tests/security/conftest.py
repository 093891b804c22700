"""The real application on loopback HTTP with credential files, and authenticated clients."""
from __future__ import annotations

import contextlib
import itertools
import json
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest
import requests
import zeep
from zeep.transports import Transport

from condor_soap.app import create_app
from condor_soap.auth import credentials as cred
from condor_soap.config import Config
from tests.conftest import serve_in_thread


PASSWORDS = {"alice": "alice-pw", "bob": "bob-pw", "root-admin": "admin-pw"}
SLEEPER = b"#!/bin/sh\nsleep 600\n"


@pytest.fixture(scope="session")
def creds(tmp_path_factory) -> dict[str, Any]:
    """A password file (alice, bob, root-admin), a token file (carol) and a certificate map."""
    root = tmp_path_factory.mktemp("creds")
    passwords = root / "passwd"
    for user, password in PASSWORDS.items():
        cred.set_entry(str(passwords), user, cred.hash_password(password))
    tokens = root / "tokens"
    token = cred.new_token()
    cred.set_entry(str(tokens), "carol", cred.hash_token(token))
    certs = root / "certmap"
    certs.write_text('# CERTIFICATE_MAPFILE style\n'
                     'SSL "^/DC=org/DC=example/CN=([a-z]+)$" \\1\n'
                     'SSL "^CN=Dave Example,O=Example$" dave\n')
    return {"password_file": str(passwords), "token_file": str(tokens), "cert_map_file": str(certs),
            "token": token}


class Service:
    """One running application: its URL, config and audit lines."""

    def __init__(self, url: str, config: Config) -> None:
        self.url = url
        self.config = config

    def audit(self) -> list[dict]:
        path = Path(self.config.audit_log)
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def client(self, user: Optional[str] = None, password: Optional[str] = None, *,
               token: Optional[str] = None, service: str = "condorSchedd", headers: Optional[dict] = None) -> Any:
        """A zeep proxy authenticating with Basic (``user``) or a bearer ``token``."""
        session = requests.Session()
        if user is not None:
            session.auth = (user, password if password is not None else PASSWORDS[user])
        if token is not None:
            session.headers["Authorization"] = f"Bearer {token}"
        session.headers.update(headers or {})
        client = zeep.Client(f"{self.url}{service}.wsdl", transport=Transport(session=session))
        return client.create_service(f"{{urn:condor}}{service}", self.url)


@pytest.fixture
def serve(tmp_path, creds) -> Iterator[Any]:
    """``serve(**settings)`` -> a :class:`Service` with the credential files configured."""
    counter = itertools.count()
    with contextlib.ExitStack() as stack:
        def start(**settings: Any) -> Service:
            base = {k: v for k, v in creds.items() if k != "token"}
            config = Config(state_dir=str(tmp_path / f"state{next(counter)}"), **{**base, **settings})
            app = create_app(config)
            stack.callback(app.close)
            url = stack.enter_context(serve_in_thread(
                app, clear_untrusted_proxy_headers=not config.trusted_proxies))
            return Service(url, config)

        yield start


def submit(proxy: Any, owner: Optional[str] = None, *, commit: bool = True) -> tuple[Any, int, int]:
    """Queue one sleeper job (Owner from createJobTemplate's ``owner``); returns (txn, cluster, proc)."""
    txn = proxy.beginTransaction(120).transaction
    cluster = proxy.newCluster(txn).integer
    proc = proxy.newJob(txn, cluster).integer
    ad = proxy.createJobTemplate(cluster, proc, owner, "VANILLA", "sleeper.sh", None, None).classAd
    assert proxy.declareFile(txn, cluster, proc, "sleeper.sh", len(SLEEPER), "NOHASH", None).code == "SUCCESS"
    assert proxy.sendFile(txn, cluster, proc, "sleeper.sh", 0, SLEEPER).code == "SUCCESS"
    # zeep reads an empty <value></value> (Arguments "") as None; send it back as ""
    items = [{"name": i.name, "type": i.type, "value": i.value or ""} for i in ad.item]
    answer = proxy.submit(txn, cluster, proc, {"item": items})
    assert answer.status.code == "SUCCESS", answer.status
    if commit:
        assert proxy.commitTransaction(txn).code == "SUCCESS"
    return txn, cluster, proc


def attrs(ad: Any) -> dict[str, str]:
    return {item.name: item.value for item in ad.item}
