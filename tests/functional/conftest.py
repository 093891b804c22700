"""Fixtures that run the real service process, on each backend, and build zeep clients."""
from __future__ import annotations

import getpass

import pytest
import zeep

from tests.functional.service_process import ServiceProcess

# The conformance suite runs on both backends. The htcondor one needs the real pool.
BACKENDS = [
    pytest.param("local", id="local"),
    pytest.param("htcondor", id="htcondor", marks=pytest.mark.real_pool),
]


@pytest.fixture(scope="module", params=BACKENDS)
def backend_name(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def service_settings(request, backend_name):
    """(serve arguments, environment, job owner, cleanup(state_dir)) for the backend under test."""
    if backend_name == "htcondor":
        pool = request.getfixturevalue("real_pool")
        # jobs are owned by the identity of the service's IDTOKEN; root is refused by HTCondor
        return (("--backend", "htcondor"), {"CONDOR_CONFIG": pool.condor_config}, pool.submitter,
                pool.remove_jobs_under)
    return ("--backend", "local"), {}, getpass.getuser(), lambda state_dir: None


@pytest.fixture(scope="module")
def service(tmp_path_factory, service_settings):
    """One live service process per test module and backend."""
    args, env, owner, cleanup = service_settings
    proc = ServiceProcess(tmp_path_factory.mktemp("svc") / "state", *args, env=env, owner=owner)
    proc.start()
    yield proc
    proc.kill()
    cleanup(proc.state_dir)  # a real pool keeps the jobs the service queued


@pytest.fixture()
def make_service(tmp_path, service_settings):
    """A factory of stopped service processes on a fresh state dir, for restart tests."""
    args, env, owner, cleanup = service_settings
    made: list[ServiceProcess] = []

    def make() -> ServiceProcess:
        proc = ServiceProcess(tmp_path / f"state{len(made)}", *args, env=env, owner=owner)
        made.append(proc)
        return proc

    yield make
    for proc in made:
        proc.kill()
        cleanup(proc.state_dir)


def schedd_client(url: str, wsdl: str | None = None):
    """A zeep schedd proxy at ``url`` built from ``wsdl`` (default: the served WSDL)."""
    client = zeep.Client(wsdl or url + "condorSchedd.wsdl")
    return client.create_service("{urn:condor}condorSchedd", url)


def collector_client(url: str, wsdl: str | None = None):
    client = zeep.Client(wsdl or url + "condorCollector.wsdl")
    return client.create_service("{urn:condor}condorCollector", url)
