"""The port the core needs from a pool (local processes or a real HTCondor): what the core
defines and the backends implement.

The core owns transactions: a backend only ever sees committed work, as a
:class:`~condor_soap.core.records.CommitBatch`, plus reads. Jobs and collector ads travel as
``classad2.ClassAd`` objects; constraints as the client's ClassAd expression text.
"""
from __future__ import annotations

from typing import Iterator, Optional, Protocol, Sequence, runtime_checkable

import classad2

from condor_soap.core.records import AdType, CommitBatch, FileInfo, JobAction


class BackendError(Exception):
    """A backend could not do what was asked; the message is safe to show a client."""


class NoSuchJob(BackendError):
    """The job is not in the queue."""


class NoSuchFile(BackendError):
    """The job's spool has no file of that name."""


class JobStream(Protocol):
    """The answer of :meth:`Backend.stream_jobs` (a list is one)."""

    def __len__(self) -> int:
        """How many jobs matched when the stream was opened."""

    def __iter__(self) -> Iterator[classad2.ClassAd]:
        """The matching job ads; may fetch them page by page and raise BackendError."""


@runtime_checkable
class Backend(Protocol):
    """What the core needs from a pool. Implementations must be thread-safe."""

    def version(self) -> str:
        """``$CondorVersion: ... $`` of the pool's schedd."""

    def platform(self) -> str:
        """``$CondorPlatform: ... $`` of the pool's schedd."""

    def schedd_name(self) -> str:
        """The schedd's ``Name`` (used in ``GlobalJobId``)."""

    def new_cluster_id(self) -> int:
        """Allocate a cluster id that has never been handed out before (durable)."""

    def release_cluster_ids(self, clusters: list[int]) -> None:
        """Ids from :meth:`new_cluster_id` that will never carry a job (their transaction was
        aborted or expired, or committed no job of theirs). A backend that predicts ids may
        hand them out again; one that allocates its own may ignore this."""

    def spool_dir(self, cluster: int, proc: int) -> str:
        """The absolute spool directory of a job, as the job's ``Iwd`` will name it."""

    def apply(self, batch: CommitBatch) -> list[JobAction]:
        """Queue ``batch.jobs`` then run ``batch.actions``, atomically and at most once per
        ``batch.token``. Returns the actions that did not apply (unknown job, not held, ...);
        raises :class:`BackendError` only if nothing was applied."""

    def jobs(self, constraint: Optional[str] = None, *, projection: Sequence[str] = (),
             limit: int = 0) -> list[classad2.ClassAd]:
        """Committed job ads in the queue matching ``constraint`` (None or "" = all; an
        expression that does not parse matches nothing), in job order. ``projection``: only
        these attributes (named as given), plus ``ClusterId`` and ``ProcId``, are needed (more
        may come); ``limit`` > 0: at most that many ads."""

    def history(self, constraint: Optional[str] = None, *, projection: Sequence[str] = (),
                limit: int = 0) -> list[classad2.ClassAd]:
        """Job ads that have left the queue, as :meth:`jobs` (most recent first)."""

    def stream_jobs(self, constraint: Optional[str] = None) -> JobStream:
        """What :meth:`jobs` answers, for a bulk read: how many match is known at once, the
        ads come as the stream is iterated (a backend may fetch them in pages, so that memory
        does not grow with the queue)."""

    def job(self, cluster: int, proc: int) -> Optional[classad2.ClassAd]:
        """One committed job ad in the queue, or None."""

    def list_spool(self, cluster: int, proc: int) -> list[FileInfo]:
        """The files in a queued job's spool directory (raises :class:`NoSuchJob`)."""

    def read_spool(self, cluster: int, proc: int, name: str, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes of a spool file from ``offset`` (b"" past the end).
        Raises :class:`NoSuchJob` or :class:`NoSuchFile`."""

    def reschedule(self) -> None:
        """Ask the pool to match and start idle jobs now."""

    def query_ads(self, ad_type: Optional[AdType], constraint: Optional[str] = None) -> list[classad2.ClassAd]:
        """Collector ads of ``ad_type`` (None = any type) matching ``constraint``."""

    def advertise(self, ad_type: AdType, ad: classad2.ClassAd) -> bool:
        """Store an ad in the collector; True if new, False if it replaced one.
        Raises :class:`BackendError` if the ad is not acceptable (e.g. no ``Name``)."""

    def configuration(self, daemon: Optional[str] = None) -> dict[str, str]:
        """The pool's configuration (HTCondor knob -> value), or that of the running
        ``daemon`` (collector, master, negotiator, schedd, startd)."""

    def check(self, timeout: float) -> None:
        """Contact the pool now, cheaply, within ``timeout`` seconds (the readiness check,
        ``GET /readyz``); raise :class:`BackendError` with the reason if it cannot take work."""

    def close(self) -> None:
        """Stop background work and release resources."""
