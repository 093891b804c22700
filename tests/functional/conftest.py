"""Fixtures that run the real service process and build zeep clients from WSDLs."""
from __future__ import annotations

import pytest
import zeep

from tests.functional.service_process import ServiceProcess

@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """One live service process (local backend) per test module."""
    proc = ServiceProcess(tmp_path_factory.mktemp("svc") / "state")
    proc.start()
    yield proc
    proc.kill()


def schedd_client(url: str, wsdl: str | None = None):
    """A zeep schedd proxy at ``url`` built from ``wsdl`` (default: the served WSDL)."""
    client = zeep.Client(wsdl or url + "condorSchedd.wsdl")
    return client.create_service("{urn:condor}condorSchedd", url)


def collector_client(url: str, wsdl: str | None = None):
    client = zeep.Client(wsdl or url + "condorCollector.wsdl")
    return client.create_service("{urn:condor}condorCollector", url)
