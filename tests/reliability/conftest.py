"""Fixtures of the reliability tests: the real service process on each backend (shared with
tests/functional), raw SOAP calls with their timing, and the long-run switch."""
from __future__ import annotations

import os
import time
from xml.sax.saxutils import escape

import pytest

from tests.functional.conftest import backend_name, make_service, service, service_settings  # noqa: F401
from tests.soap.soap import Reply, call

#: Figures of this run's reliability tests, printed in the terminal summary (the numbers of
#: docs/reliability.rst come from there): test -> name -> value.
FIGURES: dict[str, dict[str, object]] = {}


def pytest_terminal_summary(terminalreporter) -> None:
    for test, figures in FIGURES.items():
        terminalreporter.write_line(f"reliability, {test}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))


@pytest.fixture(scope="session")
def long_run(pytestconfig) -> bool:
    """``--reliability-long`` or ``CONDOR_SOAP_LONG=1``: the long runs of docs/reliability.rst
    (more kills, a longer soak) instead of the bounded CI ones."""
    return bool(pytestconfig.getoption("--reliability-long")) or os.environ.get("CONDOR_SOAP_LONG") == "1"


def timed_call(url: str, name: str, children: str = "") -> tuple[Reply, float]:
    started = time.monotonic()
    reply = call(url, name, children)
    return reply, time.monotonic() - started


def text(value: str) -> str:
    """``value`` as XML element text."""
    return escape(value)


def new_job(url: str) -> tuple[str, str, str]:
    """(transaction XML, cluster, proc) of a new transaction with one new job."""
    reply, _ = timed_call(url, "beginTransaction", "<duration>300</duration>")
    assert reply.status[0] == "SUCCESS", reply.xml
    txn = f"<transaction><id>{reply.text('response/transaction/id')}</id><duration>300</duration></transaction>"
    cluster = timed_call(url, "newCluster", txn)[0].text("response/integer")
    proc = timed_call(url, "newJob", f"{txn}<clusterId>{cluster}</clusterId>")[0].text("response/integer")
    return txn, cluster, proc


def assert_alive(svc) -> None:
    """The service process is still running and answers getVersionString at once."""
    assert svc.proc.poll() is None, f"the service died (exit {svc.proc.returncode}):\n{svc.log()[-3000:]}"
    reply, took = timed_call(svc.url, "getVersionString")
    assert reply.status[0] == "SUCCESS", reply.xml
    assert took < 5, f"getVersionString took {took:.1f} s"
