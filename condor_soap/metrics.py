"""The service's Prometheus metrics: one :class:`Metrics` per application, in a registry of its
own (several applications may live in one process; the global registry is never used).

Each figure is recorded where it happens: a face records every call it answers
(:meth:`Metrics.call`: face, operation, outcome, seconds), the core its commits and backend
errors, the HTTP layer the requests it refuses for their credentials; gauges are read from
the core's state when scraped (:meth:`Metrics.watch`). ``GET /metrics`` serves
:meth:`Metrics.exposition`.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, Info
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

#: Call latencies, seconds: from a getVersionString to a commit spooling large files.
CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
COMMIT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
FAULT = "Fault"  # the outcome of a SOAP call answered with a Fault (no Status)


@dataclass(frozen=True)
class StateFigures:
    """The core's state at one moment, as the gauges show it."""

    open_transactions: int
    committing_transactions: int
    staged_bytes: int


class _StateCollector(Collector):
    def __init__(self, read: Callable[[], StateFigures]) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        figures = self._read()
        txns = GaugeMetricFamily("condor_soap_transactions", "Transactions in the journal, by state",
                                 labels=["state"])
        txns.add_metric(["open"], figures.open_transactions)
        txns.add_metric(["committing"], figures.committing_transactions)
        yield txns
        yield GaugeMetricFamily("condor_soap_staged_bytes",
                                "Bytes received into open transactions' declared files, not committed yet",
                                value=figures.staged_bytes)


class Metrics:
    """Every metric of one application."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._info = Info("condor_soap", "The service: version and backend", registry=self.registry)
        self._calls = Histogram(
            "condor_soap_call_duration_seconds",
            "Calls answered, by face, operation and outcome (the Status code, or Fault), and their "
            "duration; the _count series counts the calls",
            ["face", "operation", "outcome"], buckets=CALL_BUCKETS, registry=self.registry)
        self._commits = Histogram(
            "condor_soap_commit_duration_seconds",
            "Time the backend took to apply a committed transaction (also a failed one)",
            buckets=COMMIT_BUCKETS, registry=self.registry)
        self._backend_errors = Counter(
            "condor_soap_backend_errors",
            "Backend failures: the pool could not do what was asked (an absent job or file is not one)",
            registry=self.registry)
        self._auth_failures = Counter(
            "condor_soap_auth_failures",
            "Requests refused for their credentials: 401, or 429 for an address with too many failed logins",
            ["status"], registry=self.registry)
        for status in ("401", "429"):  # both series exist from the start, at 0
            self._auth_failures.labels(status)

    def describe(self, version: str, backend: str) -> None:
        """Set ``condor_soap_info{version, backend}``."""
        self._info.info({"version": version, "backend": backend})

    def call(self, face: str, operation: str, outcome: str, seconds: float) -> None:
        """One call a face answered: ``operation`` is the operation's name (from a fixed set:
        never the client's text), ``outcome`` the Status code name or :data:`FAULT`."""
        self._calls.labels(face, operation, outcome).observe(max(seconds, 0.0))

    @contextmanager
    def commit(self) -> Iterator[None]:
        """Time a backend's application of a commit."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self._commits.observe(time.perf_counter() - started)

    def backend_error(self) -> None:
        self._backend_errors.inc()

    def auth_failure(self, status: int) -> None:
        """A request refused with ``status`` (401 or 429) for its credentials."""
        self._auth_failures.labels(str(status)).inc()

    def watch(self, read: Callable[[], StateFigures]) -> None:
        """Gauges computed from ``read()`` at every scrape."""
        self.registry.register(_StateCollector(read))

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """(body, Content-Type) in the format the scraper's ``Accept`` header asks for: the
        Prometheus text format 0.0.4 by default, OpenMetrics when asked."""
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type
