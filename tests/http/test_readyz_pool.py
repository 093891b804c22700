"""``GET /readyz`` of ``condor-soap serve --backend htcondor`` against the real, shared pool
(tests/pool): ready; not ready (503, with the reason) when the schedd cannot be found and when
it hangs, within the readiness timeout; ready again once the schedd answers.

The pool is shared: the hung schedd is SIGSTOPped for a few seconds only and always continued
(``finally``). It is not shut down with ``condor_off``, which would vacate every running job of
the pool, other tests' included.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest
import requests

from tests.conftest import Pool
from tests.functional.service_process import ServiceProcess

pytestmark = pytest.mark.real_pool
READY_TIMEOUT = 2.0


@pytest.fixture
def serve(tmp_path, real_pool) -> Iterator[Callable[..., str]]:
    """Start ``condor-soap serve --backend htcondor`` (extra options given); yields its URL."""
    started: list[ServiceProcess] = []

    def start(*args: str) -> str:
        proc = ServiceProcess(tmp_path / f"state{len(started)}", "--backend", "htcondor", "--ready-timeout",
                              str(READY_TIMEOUT), *args, env={"CONDOR_CONFIG": real_pool.condor_config})
        started.append(proc)
        return proc.start()

    yield start
    for proc in started:
        proc.stop()


def readyz(url: str) -> tuple[int, dict, float]:
    started = time.monotonic()
    response = requests.get(url + "readyz", timeout=60)
    return response.status_code, response.json(), time.monotonic() - started


def wait_ready(url: str, seconds: float = 60) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        status, body, _ = readyz(url)
        if status == 200 or time.monotonic() > deadline:
            return body
        time.sleep(0.5)


def pool_schedd_pid(pool: Pool) -> int:
    """The pid of the pool's condor_schedd: the one whose root is the pool's chroot."""
    root = os.path.realpath(pool.root)
    for entry in Path("/proc").iterdir():
        try:
            if (entry.name.isdigit() and (entry / "comm").read_text().strip() == "condor_schedd"
                    and os.path.realpath(entry / "root") == root):
                return int(entry.name)
        except OSError:
            continue
    raise AssertionError("the pool has no condor_schedd")


def test_ready_on_the_real_pool(serve):
    url = serve()
    status, body, _ = readyz(url)
    assert (status, body) == (200, {"ready": True, "problems": []})


def test_schedd_the_collector_does_not_know_is_503(serve):
    """What a schedd that was shut down looks like (it withdrew its ad from the collector)."""
    url = serve("--schedd-name", "no-such-schedd@nowhere")
    status, body, seconds = readyz(url)
    assert status == 503 and body["ready"] is False
    (problem,) = body["problems"]
    assert problem == ("backend: The schedd no-such-schedd@nowhere is not reachable: "
                       "the collector knows no schedd of that name"), problem
    assert seconds < READY_TIMEOUT + 2


def test_hung_schedd_is_503_within_the_timeout_then_ready_again(serve, real_pool):
    url = serve()
    assert wait_ready(url) == {"ready": True, "problems": []}
    pid = pool_schedd_pid(real_pool)
    os.kill(pid, signal.SIGSTOP)
    try:
        status, body, seconds = readyz(url)
        again = readyz(url)  # a second prober while the first check still hangs: same answer, no pile-up
    finally:
        os.kill(pid, signal.SIGCONT)
    name = real_pool.run("condor_status", "-schedd", "-af", "Name").strip()
    hung = f"backend: The schedd {name} did not answer within {READY_TIMEOUT:g} s"
    assert (status, body) == (503, {"ready": False, "problems": [hung]})
    assert seconds < READY_TIMEOUT + 2
    assert again[:2] == (503, body) and again[2] < READY_TIMEOUT + 2
    assert wait_ready(url) == {"ready": True, "problems": []}
