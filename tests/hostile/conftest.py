"""Hostile-input fixtures: the real application (local backend) on loopback HTTP, its backend
reachable for checking what was stored, and raw-SOAP helpers with timeouts."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Iterator

import pytest
import requests

from condor_soap import Config, create_app
from condor_soap.app import build_backend
from tests.conftest import serve_in_thread
from tests.soap.soap import Reply, envelope, op, post

TIMEOUT = 30  # seconds, every request of this directory


@dataclass
class Service:
    url: str
    backend: object  # the LocalBackend behind the service
    state_dir: str

    def call(self, name: str, children: str = "") -> Reply:
        return post(self.url, envelope(op(name, children)))

    def raw(self, body: bytes, content_type: str = "text/xml; charset=utf-8") -> requests.Response:
        return requests.post(self.url, data=body, timeout=TIMEOUT,
                             headers={"Content-Type": content_type, "SOAPAction": '""'})

    def assert_serving(self) -> None:
        reply = self.call("getVersionString")
        assert reply.http_status == 200 and reply.status[0] == "SUCCESS", reply.xml

    # a transaction with one job, as the tests need it
    def begin(self, duration: int = 300) -> int:
        reply = self.call("beginTransaction", f"<duration>{duration}</duration>")
        assert reply.status[0] == "SUCCESS", reply.xml
        return int(reply.text("response/transaction/id"))

    def job(self) -> tuple[str, int, int]:
        """(transaction XML, cluster, proc) of a fresh transaction with one new job."""
        txn = f"<transaction><id>{self.begin()}</id><duration>300</duration></transaction>"
        cluster = int(self.call("newCluster", txn).text("response/integer"))
        proc = int(self.call("newJob", f"{txn}<clusterId>{cluster}</clusterId>").text("response/integer"))
        return txn, cluster, proc


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(scope="session")
def service(tmp_path_factory) -> Iterator[Service]:
    state = str(tmp_path_factory.mktemp("hostile") / "state")
    config = Config(state_dir=state)
    backend = build_backend(config)
    app = create_app(config, backend)
    try:
        with serve_in_thread(app) as url:
            yield Service(url, backend, state)
    finally:
        app.close()


@pytest.fixture(autouse=True)
def still_serving(service) -> Iterator[None]:
    """Every hostile test ends with the service answering getVersionString."""
    yield
    service.assert_serving()


def pytest_terminal_summary(terminalreporter) -> None:
    """The fuzz volume reached (tests/hostile/test_fuzz.py), one line per fuzz test."""
    import sys

    fuzz = sys.modules.get("tests.hostile.test_fuzz")
    for test, counts in (getattr(fuzz, "STATS", None) or {}).items():
        shown = {k: v for k, v in counts.items() if k != "started"}
        terminalreporter.write_line(f"hostile fuzz, {test}: " + ", ".join(f"{k} {v}" for k, v in sorted(shown.items())))
