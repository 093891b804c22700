"""The client against the real service process on each backend (tests/functional's fixtures:
one service per module and backend; the htcondor one on the real pool)."""
from __future__ import annotations

from typing import Iterator

import pytest

from condor_soap.client import Collector, Schedd
from condor_soap.client.settings import Settings
from tests.functional.conftest import backend_name, make_service, service, service_settings  # noqa: F401 (fixtures)


@pytest.fixture(autouse=True)
def no_client_environment(monkeypatch, tmp_path) -> None:
    """Tests see no CONDOR_SOAP_* of the machine and no user's client.conf."""
    for name in ("URL", "USER", "PASSWORD", "TOKEN", "CERT", "KEY", "CA", "TIMEOUT", "OWNER"):
        monkeypatch.delenv(f"CONDOR_SOAP_{name}", raising=False)
    monkeypatch.setenv("CONDOR_SOAP_CONFIG", str(tmp_path / "no-client.conf"))


@pytest.fixture(scope="module")
def schedd(service) -> Iterator[Schedd]:
    """A client of the module's service, submitting as the owner the backend expects."""
    with Schedd(settings=Settings(url=service.url, owner=service.owner), progress=False) as client:
        yield client


@pytest.fixture(scope="module")
def collector(service) -> Iterator[Collector]:
    with Collector(settings=Settings(url=service.url)) as client:
        yield client
