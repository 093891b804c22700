"""The one interface between the core and a pool (local processes or a real HTCondor).

The core owns transactions: a backend only ever sees committed work, as a
:class:`~condor_soap.core.records.CommitBatch`, plus reads. Jobs and collector ads travel as
``classad2.ClassAd`` objects; constraints as the client's ClassAd expression text.
"""
from __future__ import annotations

import errno
import os
import shutil
import stat
from typing import Optional, Protocol, runtime_checkable

import classad2

from condor_soap.core.records import AdType, CommitBatch, FileInfo, JobAction


class BackendError(Exception):
    """A backend could not do what was asked; the message is safe to show a client."""


class NoSuchJob(BackendError):
    """The job is not in the queue."""


class NoSuchFile(BackendError):
    """The job's spool has no file of that name."""


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

    def jobs(self, constraint: Optional[str] = None) -> list[classad2.ClassAd]:
        """Committed job ads in the queue matching ``constraint`` (None or "" = all; an
        expression that does not parse matches nothing)."""

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

    def close(self) -> None:
        """Stop background work and release resources."""


def bad_file_name(name: str) -> bool:
    """True for a name that is not a plain file name inside one directory."""
    return not name or "/" in name or "\0" in name or name in (".", "..")


def place_file(source: str, directory: str, name: str) -> None:
    """Put the staged file ``source`` into ``directory`` as ``name``: a hard link when the
    filesystem allows (no copy of large inputs), else a copy; atomically replaces an older one,
    so a batch applied again after a crash finds whole files. Raises OSError."""
    if bad_file_name(name):
        raise BackendError(f"Invalid file name {name!r}")
    tmp = os.path.join(directory, f".{name}.condor-soap-tmp")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    try:
        os.link(source, tmp)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
        shutil.copyfile(source, tmp)
    os.replace(tmp, os.path.join(directory, name))


def read_spool_file(directory: str, name: str, offset: int, length: int, job: str) -> bytes:
    """Up to ``length`` bytes from ``offset`` of the regular file ``name`` directly in
    ``directory`` (b"" past the end), never following a symlink nor reserving ``length``
    bytes. Raises :class:`NoSuchFile` for a name with a path in it, a missing or non-regular
    file, and :class:`BackendError` for a negative offset; ``job`` ("c.p") names the job."""
    if bad_file_name(name):
        raise NoSuchFile(f"No file {name!r} in the spool of job {job}")
    if offset < 0:
        raise BackendError("offset must be >= 0")
    try:
        fd = os.open(os.path.join(directory, name), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        raise NoSuchFile(f"No file {name!r} in the spool of job {job}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NoSuchFile(f"No file {name!r} in the spool of job {job}")
        count = max(0, min(length, st.st_size - offset))
        return os.pread(fd, count, offset) if count else b""
    finally:
        os.close(fd)
