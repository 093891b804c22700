"""Named fakes at the core's seams: a clock and an in-memory Backend (like zeep's
``DummyTransport``). The fake backend keeps every batch it was handed, so tests can assert
what reached the pool and how often."""
from __future__ import annotations

import collections
import os
import shutil
import threading
from typing import Optional

import classad2

from condor_soap.core.ports import BackendError, NoSuchFile, NoSuchJob
from condor_soap.core.constraints import select
from condor_soap.core.records import ActionKind, AdType, CommitBatch, FileInfo, JobAction


class FakeClock:
    """A wall clock that moves only when told: ``clock.advance(61)``."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeBackend:
    """In-memory :class:`~condor_soap.core.ports.Backend`; spools are real directories."""

    def __init__(self, spool_root: str) -> None:
        self.spool_root = spool_root
        self.queue: dict[tuple[int, int], classad2.ClassAd] = {}
        self.collector: dict[tuple[AdType, str], classad2.ClassAd] = {}
        self.batches: list[CommitBatch] = []  # every apply() call, duplicates included
        self.applied = collections.Counter()  # token -> times actually applied
        self.fail_next_apply: Optional[Exception] = None
        self.reschedules = 0
        self._next_cluster = 1
        self.released: list[int] = []  # ids the core said will never carry a job
        self._lock = threading.Lock()

    def version(self) -> str:
        return "$CondorVersion: 8.7.7 Jan 01 2024 BuildID: fake $"

    def platform(self) -> str:
        return "$CondorPlatform: X86_64-Fake $"

    def schedd_name(self) -> str:
        return "fake.example.org"

    def new_cluster_id(self) -> int:
        with self._lock:
            self._next_cluster += 1
            return self._next_cluster - 1

    def release_cluster_ids(self, clusters: list[int]) -> None:
        with self._lock:
            self.released.extend(clusters)

    def spool_dir(self, cluster: int, proc: int) -> str:
        return os.path.join(self.spool_root, f"cluster{cluster}.proc{proc}.subproc0")

    def apply(self, batch: CommitBatch) -> list[JobAction]:
        with self._lock:
            self.batches.append(batch)
            if self.fail_next_apply is not None:
                exc, self.fail_next_apply = self.fail_next_apply, None
                raise exc
            if self.applied[batch.token]:
                return []
            self.applied[batch.token] += 1
            for job in batch.jobs:
                spool = self.spool_dir(job.cluster, job.proc)
                os.makedirs(spool, exist_ok=True)
                for name, path in job.files.items():
                    shutil.copyfile(path, os.path.join(spool, name))
                self.queue[(job.cluster, job.proc)] = classad2.ClassAd(job.ad)
            return [a for a in batch.actions if not self._act(a)]

    def _act(self, action: JobAction) -> bool:
        if action.kind is ActionKind.REMOVE_CLUSTER:
            keys = [k for k in self.queue if k[0] == action.cluster]
            for key in keys:
                self.queue[key]["JobStatus"] = 3
            return bool(keys)
        ad = self.queue.get((action.cluster, action.proc))
        if ad is None:
            return False
        status = ad.get("JobStatus")
        if action.kind is ActionKind.HOLD:
            if status == 5:
                return False
            ad["JobStatus"], ad["HoldReason"] = 5, action.reason or "via fake"
        elif action.kind is ActionKind.RELEASE:
            if status != 5:
                return False
            ad["JobStatus"] = 1
        elif action.kind is ActionKind.REMOVE:
            ad["JobStatus"] = 3
        elif action.kind is ActionKind.CLOSE_SPOOL:
            ad["FilesRetrieved"] = True
        return True

    def jobs(self, constraint: Optional[str] = None) -> list[classad2.ClassAd]:
        with self._lock:
            return [classad2.ClassAd(repr(ad)) for ad in select(constraint, list(self.queue.values()))]

    def stream_jobs(self, constraint: Optional[str] = None) -> list[classad2.ClassAd]:
        return self.jobs(constraint)

    def job(self, cluster: int, proc: int) -> Optional[classad2.ClassAd]:
        with self._lock:
            ad = self.queue.get((cluster, proc))
            return classad2.ClassAd(repr(ad)) if ad is not None else None

    def list_spool(self, cluster: int, proc: int) -> list[FileInfo]:
        if (cluster, proc) not in self.queue:
            raise NoSuchJob(f"job {cluster}.{proc} is not in the queue")
        spool = self.spool_dir(cluster, proc)
        if not os.path.isdir(spool):
            return []
        return [FileInfo(e.name, e.stat().st_size) for e in os.scandir(spool)]

    def read_spool(self, cluster: int, proc: int, name: str, offset: int, length: int) -> bytes:
        if (cluster, proc) not in self.queue:
            raise NoSuchJob(f"job {cluster}.{proc} is not in the queue")
        try:
            with open(os.path.join(self.spool_dir(cluster, proc), name), "rb") as f:
                f.seek(offset)
                return f.read(length)
        except FileNotFoundError:
            raise NoSuchFile(name) from None

    def reschedule(self) -> None:
        self.reschedules += 1

    def query_ads(self, ad_type: Optional[AdType], constraint: Optional[str] = None) -> list[classad2.ClassAd]:
        return select(constraint, [ad for (t, _), ad in self.collector.items() if ad_type is None or t is ad_type])

    def advertise(self, ad_type: AdType, ad: classad2.ClassAd) -> bool:
        name = ad.get("Name")
        if not isinstance(name, str):
            raise BackendError("ad has no Name")
        new = (ad_type, name) not in self.collector
        self.collector[(ad_type, name)] = ad
        return new

    def check(self, timeout: float) -> None:
        """Always reachable."""

    def close(self) -> None:
        pass
