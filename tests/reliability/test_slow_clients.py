"""Slow and half-open connections against the real service process (waitress settings
``connection_limit``, ``channel_timeout``, ``backlog``; docs/reliability.rst): hundreds of
sockets sending a request a byte at a time, and sockets that never send anything, do not keep
other clients from being served; idle ones are closed after ``channel_timeout``."""
from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests

from tests.reliability.conftest import FIGURES, assert_alive, timed_call

SLOW, IDLE = 300, 100
HEADERS = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: 1000000\r\n\r\n"


@pytest.fixture(scope="module")
def backend_name() -> str:
    return "local"  # connections are the server's business, whatever the backend


class Dripping:
    """``count`` connections, each sending one more byte every ``interval`` seconds."""

    def __init__(self, url: str, count: int, interval: float = 0.5) -> None:
        parts = urlsplit(url)
        self.sockets = []
        for _ in range(count):
            s = socket.create_connection((parts.hostname, parts.port), timeout=10)
            s.sendall(HEADERS)
            self.sockets.append(s)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drip, args=(interval,), daemon=True)
        self._thread.start()

    def _drip(self, interval: float) -> None:
        while not self._stop.wait(interval):
            for s in self.sockets:
                try:
                    s.send(b"<")
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        for s in self.sockets:
            s.close()


def _idle(url: str, count: int) -> list[socket.socket]:
    parts = urlsplit(url)
    return [socket.create_connection((parts.hostname, parts.port), timeout=10) for _ in range(count)]


def test_slow_and_idle_connections_do_not_starve_other_clients(make_service):
    svc = make_service()
    svc.args = (*svc.args, "--channel-timeout", "4")
    url = svc.start()
    slow = Dripping(url, SLOW)
    idle = _idle(url, IDLE)
    try:
        took = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            reply, seconds = timed_call(url, "getVersionString")
            assert reply.status[0] == "SUCCESS"
            took.append(seconds)
            reply, seconds = timed_call(url, "getJobAds", "<constraint>true</constraint>")
            assert reply.status[0] == "SUCCESS"
            took.append(seconds)
        took.sort()
        assert took[-1] < 3, f"slowest call {took[-1]:.2f} s among {len(took)}"
        FIGURES["slow and idle connections"] = {
            "dripping": SLOW, "idle": IDLE, "calls": len(took), "p50 ms": round(took[len(took) // 2] * 1e3),
            "max ms": round(took[-1] * 1e3)}
        # the idle ones are closed by channel_timeout (checked every channel_timeout / 2)
        for s in idle:
            s.settimeout(10)
            assert s.recv(1) == b""
        assert_alive(svc)
    finally:
        slow.close()
        for s in idle:
            s.close()
    svc.stop()


def test_below_the_slow_clients_a_low_connection_limit_starves_everyone(make_service):
    """The contrast that shows what ``connection_limit`` is for: at waitress's old default
    scale (here 50) the same slow clients hold every slot and a new client waits."""
    svc = make_service()
    svc.args = (*svc.args, "--connection-limit", "50")
    url = svc.start()
    slow = Dripping(url, 60)
    try:
        time.sleep(1)
        with pytest.raises(requests.exceptions.Timeout):
            requests.post(url, data=b"", timeout=3)
    finally:
        slow.close()
    # once they are gone, it serves again
    reply, _ = timed_call(url, "getVersionString")
    assert reply.status[0] == "SUCCESS"
    svc.stop()
