"""The client matrix: installed toolchains, one live service, results -> build/client-matrix.*."""
from __future__ import annotations

import datetime
import getpass
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.clients import matrix
from tests.clients.matrix import RESULTS, SESSION
from tests.clients.toolchains import TOOLCHAINS, WSDL_KINDS
from tests.functional.service_process import ServiceProcess

INSTALL = Path(__file__).resolve().parent / "install.sh"
CACHE = Path(os.environ.get("CONDOR_SOAP_CLIENTS_CACHE")
             or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "condor-soap-clients")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "clients: the client toolchain matrix (tests/clients)")


class Toolchains:
    """Where install.sh put the toolchains, and what it cost."""

    def __init__(self, install_seconds: float) -> None:
        self.cache = CACHE
        self.venv = CACHE / "venv"
        self.node = CACHE / "node"
        self.install_seconds = install_seconds


@pytest.fixture(scope="session")
def toolchains() -> Toolchains:
    """Run tests/clients/install.sh once per session; a failure fails every client test."""
    start = time.monotonic()
    env = dict(os.environ, CONDOR_SOAP_CLIENTS_CACHE=str(CACHE))
    done = subprocess.run([str(INSTALL)], capture_output=True, text=True, env=env, timeout=1200)
    if done.returncode != 0:
        pytest.fail(f"tests/clients/install.sh failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    installed = Toolchains(time.monotonic() - start)
    SESSION["install_seconds"] = installed.install_seconds
    SESSION["versions"] = {t.id: toolchain_version(t.version, installed) for t in TOOLCHAINS}
    return installed


def toolchain_version(command: str, installed: Toolchains) -> str:
    command = command.format(venv=installed.venv, node=installed.node)
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60)
    return " ".join((done.stdout or done.stderr).split()) or "?"


MATRIX_PASSWORD = "matrix-s3cret"


@pytest.fixture(scope="module")
def condor_service(tmp_path_factory, owner):
    """One condor-soap on the local backend for the whole matrix. It refuses anonymous calls:
    every program authenticates with HTTP Basic ($CONDOR_SOAP_USER / $CONDOR_SOAP_PASSWORD)."""
    base = tmp_path_factory.mktemp("clients")
    passwd = base / "passwd"
    subprocess.run([sys.executable, "-m", "condor_soap", "passwd", str(passwd), owner, "--password-stdin"],
                   input=MATRIX_PASSWORD + "\n", text=True, check=True, capture_output=True)
    service = ServiceProcess(base / "state", "--backend", "local", "--allow-anonymous", "false",
                             "--password-file", str(passwd))
    service.start()
    refused = requests.post(service.url, data=b"", timeout=10)
    assert refused.status_code == 401, f"the matrix service must refuse anonymous calls, got {refused.status_code}"
    SESSION["service_log"] = service.log_path
    service.credentials = (owner, MATRIX_PASSWORD)
    yield service
    try:
        service.stop()
    except Exception:
        service.kill()


@pytest.fixture(scope="module")
def owner() -> str:
    return os.environ.get("CONDOR_SOAP_OWNER") or getpass.getuser()


@pytest.fixture()
def no_leftover_jobs(condor_service):
    """A failed program can leave sleep jobs running; remove them so the next one gets a slot."""
    yield
    import zeep
    from zeep.transports import Transport

    url = condor_service.url
    session = requests.Session()
    session.auth = condor_service.credentials
    schedd = zeep.Client(url + "condorSchedd.wsdl", transport=Transport(session=session)).create_service(
        "{urn:condor}condorSchedd", url)
    ads = schedd.getJobAds(None, "JobStatus != 3 && JobStatus != 4").classAdArray
    for ad in ads.item if ads else []:
        attrs = {i.name: i.value for i in ad.item}
        schedd.removeJob(None, int(attrs["ClusterId"]), int(attrs["ProcId"]), "matrix cleanup", True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    params = getattr(getattr(item, "callspec", None), "params", {})
    if "toolchain" not in params or "wsdl" not in params or report.when == "teardown":
        return
    key = (params["toolchain"], params["wsdl"])
    entry = RESULTS.setdefault(key, {"timings": {}})
    if report.when == "setup" and report.passed:
        return
    if hasattr(report, "wasxfail"):
        entry["outcome"] = "xfail" if report.skipped else "XPASS"
        entry["detail"] = report.wasxfail
    elif report.passed:
        entry["outcome"] = "pass"
    elif report.skipped:
        entry["outcome"] = "skipped"
        entry["detail"] = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
    else:
        entry["outcome"] = "FAIL"
        entry["detail"] = matrix.failure_summary(report.longreprtext)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After a run of the whole matrix, save its results (``./dev matrix`` publishes them)."""
    wanted = {(t.id, kind) for t in TOOLCHAINS for kind in WSDL_KINDS}
    if not wanted <= {k for k, v in RESULTS.items() if "outcome" in v}:
        return  # a partial run (-k, a single test, an interrupted session): keep the last one
    SESSION["date"] = datetime.date.today().isoformat()
    SESSION["python"] = platform.python_version()
    SESSION["system"] = platform_description()
    matrix.save(TOOLCHAINS, RESULTS, SESSION)


def platform_description() -> str:
    try:
        pretty = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
        return pretty.get("PRETTY_NAME", "").strip('"') + f", {os.cpu_count()} CPUs"
    except OSError:
        return sys.platform
