"""The schedd: queries, job actions, submission in transactions, output retrieval."""
from __future__ import annotations

import enum
import logging
import os
import re
import threading
import time
from types import TracebackType
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence, Union

from condor_soap.client.classad import ClassAd
from condor_soap.client.errors import (CondorSoapClientError, InvalidTransaction, StatusError, TransportError,
                                       UnknownFile, UnknownJob)
from condor_soap.client.daemon import Daemon
from condor_soap.client.submit import SubmitDescription
from condor_soap.client.transfer import CHUNK_SIZE, Progress, Source, download, spool_sizes, upload
from condor_soap.client.transport import Endpoint
from condor_soap.client.wire import Txn, ad_of, field

log = logging.getLogger(__name__)

#: A job spec: ``"12.0"``, a list of those, a cluster (``12`` or ``"12"``) or a constraint.
JobSpec = Union[str, int, Sequence[str]]
_JOB_ID = re.compile(r"\s*(\d+)\.(\d+)\s*\Z")
_CLUSTER = re.compile(r"\s*(\d+)\s*\Z")


class JobAction(enum.Enum):
    """What :meth:`Schedd.act` does (htcondor2's names; the contract has these four)."""

    Hold = "hold"
    Release = "release"
    Remove = "remove"
    RemoveX = "removex"  # forced removal of a job already removed


class JobStatus(enum.IntEnum):
    """``JobStatus`` values (htcondor2.JobStatus)."""

    IDLE = 1
    RUNNING = 2
    REMOVED = 3
    COMPLETED = 4
    HELD = 5
    TRANSFERRING_OUTPUT = 6
    SUSPENDED = 7


FINAL = frozenset((JobStatus.REMOVED, JobStatus.COMPLETED, JobStatus.HELD))


def parse_job_spec(spec: JobSpec) -> tuple[str, Any]:
    """``("jobs", [(c, p), ...])``, ``("cluster", c)`` or ``("constraint", text)``."""
    if isinstance(spec, bool):
        raise TypeError("a job spec is 'c.p', a list of them, a cluster number or a constraint")
    if isinstance(spec, int):
        return "cluster", spec
    if isinstance(spec, str):
        one = _JOB_ID.match(spec)
        if one:
            return "jobs", [(int(one.group(1)), int(one.group(2)))]
        cluster = _CLUSTER.match(spec)
        if cluster:
            return "cluster", int(cluster.group(1))
        if not spec.strip():
            raise ValueError("empty job spec")
        return "constraint", spec
    jobs = []
    for item in spec:
        match = _JOB_ID.match(item) if isinstance(item, str) else None
        if not match:
            raise ValueError(f"{item!r} is not a job id 'cluster.proc'")
        jobs.append((int(match.group(1)), int(match.group(2))))
    return "jobs", jobs


def job_id(spec: str) -> tuple[int, int]:
    """``"12.3"`` -> ``(12, 3)``."""
    kind, value = parse_job_spec(spec)
    if kind != "jobs" or len(value) != 1:
        raise ValueError(f"{spec!r} is not one job id 'cluster.proc'")
    return value[0]


class SubmitResult:
    """What a submission made: ``cluster()``, ``first_proc()``, ``num_procs()`` (as
    htcondor2.SubmitResult), ``clusterad()`` (the first job's ad as submitted), ``jobs()``."""

    def __init__(self, cluster: int, procs: Sequence[int], ad: ClassAd) -> None:
        self._cluster, self._procs, self._ad = cluster, list(procs), ad

    def cluster(self) -> int:
        return self._cluster

    def first_proc(self) -> int:
        return self._procs[0]

    def num_procs(self) -> int:
        return len(self._procs)

    def clusterad(self) -> ClassAd:
        return self._ad

    def jobs(self) -> list[str]:
        """The job ids, ``["12.0", "12.1", ...]``."""
        return [f"{self._cluster}.{p}" for p in self._procs]

    def __repr__(self) -> str:
        return f"SubmitResult(cluster={self._cluster}, first_proc={self.first_proc()}, num_procs={self.num_procs()})"


class _LeaseKeeper(threading.Thread):
    """Renews a transaction's lease (``extendTransaction``) every third of it until stopped."""

    def __init__(self, endpoint: Endpoint, txn: Txn) -> None:
        super().__init__(name=f"condor-soap lease {txn.id}", daemon=True)
        self.endpoint, self.txn = endpoint, txn
        self.error: Optional[InvalidTransaction] = None
        self.renewals = 0
        self._stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self._stopped.wait(max(0.5, self.txn.duration / 3)):
                try:
                    self.endpoint.call("extendTransaction", transaction=self.txn, duration=self.txn.duration)
                    self.renewals += 1
                except InvalidTransaction as exc:
                    self.error = exc
                    return
                except CondorSoapClientError as exc:  # the next round tries again
                    log.warning("renewing transaction %d: %s", self.txn.id, exc)
        finally:
            self.endpoint.close()

    def stop(self) -> None:
        self._stopped.set()
        self.join(5)  # a renewal in flight may finish on its own: the thread is a daemon


class Transaction:
    """A transaction of the service: ``with schedd.transaction() as txn:`` commits when the block
    ends and aborts if it raises. While it is open a thread renews its lease, so a long upload
    never outlives it. Only jobs submitted in it become visible, all at once, at commit."""

    def __init__(self, schedd: "Schedd", duration: int = 60, renew: bool = True) -> None:
        self.schedd = schedd
        self.requested = duration
        self.renew = renew
        self._txn: Optional[Txn] = None
        self._keeper: Optional[_LeaseKeeper] = None

    @property
    def id(self) -> int:
        """The service's transaction id."""
        return self._open().id

    @property
    def duration(self) -> int:
        """The lease in seconds, as the service granted it."""
        return self._open().duration

    def _open(self) -> Txn:
        if self._txn is None:
            raise InvalidTransaction("the transaction is not open", operation="transaction")
        if self._keeper is not None and self._keeper.error is not None:
            raise self._keeper.error
        return self._txn

    def begin(self) -> "Transaction":
        """``beginTransaction``; the ``with`` statement calls it."""
        part = self.schedd._endpoint.call("beginTransaction", duration=self.requested)
        t = field(part, "transaction")
        self._txn = Txn(int(t.findtext("id")), int(t.findtext("duration")))
        if self.renew:
            self._keeper = _LeaseKeeper(self.schedd._endpoint.clone(), self._txn)
            self._keeper.start()
        return self

    def __enter__(self) -> "Transaction":
        return self.begin()

    def __exit__(self, kind: Optional[type], exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        if self._txn is None:
            return
        if exc is None:
            self.commit()
            return
        try:
            self.abort()
        except CondorSoapClientError as error:  # the first exception is the one to see
            log.warning("aborting transaction after %r: %s", exc, error)

    def _close(self, operation: str) -> None:
        txn = self._open()
        if self._keeper is not None:
            self._keeper.stop()
            self._keeper = None
        self._txn = None
        self.schedd._endpoint.call(operation, transaction=txn)

    def commit(self) -> None:
        """``commitTransaction``: the jobs submitted in it enter the queue."""
        self._close("commitTransaction")

    def abort(self) -> None:
        """``abortTransaction``: nothing it did remains."""
        self._close("abortTransaction")

    def extend(self, duration: int) -> int:
        """``extendTransaction``: set the lease to ``duration`` seconds; returns it."""
        txn = self._open()
        part = self.schedd._endpoint.call("extendTransaction", transaction=txn, duration=duration)
        granted = int(field(part, "transaction").findtext("duration") or duration)
        self._txn = Txn(txn.id, granted)
        if self._keeper is not None:
            self._keeper.txn = self._txn
        return granted

    def submit(self, description: Union[str, Mapping[str, Any], SubmitDescription], count: Optional[int] = None, *,
               input_files: Iterable[Union[Source, tuple[str, Source]]] = (),
               base_dir: Optional[str] = None) -> SubmitResult:
        """Queue ``count`` jobs of one new cluster (default: the description's ``queue N``, else 1).

        ``description`` is a dict of submit commands, an ``htcondor2.Submit`` or submit-file
        text (:mod:`condor_soap.client.submit` lists the commands mapped). Each job's ad is
        ``createJobTemplate``'s with the commands applied; its executable, ``input`` and
        ``transfer_input_files`` (found in ``base_dir``, default the current directory) and
        ``input_files`` (paths, or ``(name, path or bytes)``) are uploaded to it.
        """
        endpoint, txn = self.schedd._endpoint, self._open()
        if not isinstance(description, SubmitDescription):
            description = SubmitDescription(description, base_dir)
        count = count if count is not None else (description.count if description.count is not None else 1)
        if count < 1:
            raise ValueError("count must be at least 1")
        extra = [_named(f) for f in input_files]
        cluster = _integer(endpoint.call("newCluster", transaction=txn))
        templates: dict[tuple, ClassAd] = {}
        procs: list[int] = []
        first: Optional[ClassAd] = None
        for _ in range(count):
            txn = self._open()
            proc = _integer(endpoint.call("newJob", transaction=txn, clusterId=cluster))
            job = description.job(cluster, proc)
            key = (job.universe, job.cmd, job.args, job.requirements)
            if key not in templates:
                templates[key] = self.schedd._template(cluster, proc, *key)
            ad = ClassAd(templates[key])
            ad["ProcId"] = proc
            ad.update(job.attributes)
            for name, source in [*job.input_files.items(), *extra]:
                upload(endpoint, self._open(), cluster, proc, name, source, chunk_size=self.schedd.chunk_size,
                       progress=self.schedd.progress)
            endpoint.call("submit", job=f"{cluster}.{proc}", transaction=self._open(), clusterId=cluster,
                          jobId=proc, jobAd=ad)
            if job.hold:  # applied at commit, after the job is queued
                endpoint.call("holdJob", job=f"{cluster}.{proc}", transaction=self._open(), clusterId=cluster,
                              jobId=proc, reason="submitted on hold", email_user=False, email_admin=False,
                              system_hold=False)
            procs.append(proc)
            first = first or ad
        assert first is not None
        return SubmitResult(cluster, procs, first)

    def upload(self, job: str, files: Iterable[Union[Source, tuple[str, Source]]]) -> int:
        """Declare and send files to ``job`` (a job of this transaction); returns the bytes
        sent. Run again after a failure, it resumes where the service's copy ends."""
        cluster, proc = job_id(job)
        return sum(upload(self.schedd._endpoint, self._open(), cluster, proc, name, source,
                          chunk_size=self.schedd.chunk_size, progress=self.schedd.progress)
                   for name, source in map(_named, files))


def _named(item: Union[Source, tuple[str, Source]]) -> tuple[str, Source]:
    if isinstance(item, tuple):
        return item
    if isinstance(item, bytes):
        raise TypeError("give bytes with a name: (name, data)")
    return os.path.basename(os.fspath(item)), item


def _integer(part: Any) -> int:
    return int(field(part, "integer").text)


class Schedd(Daemon):
    """A condor-soap (or HTCondor 7/8 SOAP) schedd: ``Schedd(url, user=..., password=...)``;
    every connection argument is :class:`~condor_soap.client.daemon.Daemon`'s.

    :param progress: progress bars for transfers of 8 MiB or more: None = when stderr is a
        terminal, False = never, True = always, or a callable ``(name, done, total)``
    :param chunk_size: bytes per ``sendFile``/``getFile`` (256 KiB, as birdbath)
    """

    def __init__(self, url: Optional[str] = None, *, progress: Progress = None, chunk_size: int = CHUNK_SIZE,
                 **connection: Any) -> None:
        super().__init__(url, **connection)
        self.owner = self.settings.job_owner()
        self.progress = progress
        self.chunk_size = chunk_size

    # service ---------------------------------------------------------------------------------
    def reschedule(self) -> None:
        """``requestReschedule``: ask the pool to match idle jobs now."""
        self._endpoint.call("requestReschedule")

    # queue -----------------------------------------------------------------------------------
    def query(self, constraint: str = "true", projection: Sequence[str] = (), limit: int = -1) -> Iterator[ClassAd]:
        """The jobs matching ``constraint``, each a :class:`ClassAd` yielded as it arrives.

        ``projection`` keeps only those attributes (the contract has no projection, so it
        saves memory, not transfer); ``limit`` stops after that many ads.
        """
        ads = self._endpoint.ads("getJobAds", list(projection) or None, constraint=str(constraint))
        try:
            for n, ad in enumerate(ads):
                if n == limit:
                    return
                yield ad
        finally:
            ads.close()

    def job(self, job: str) -> ClassAd:
        """``getJobAd``: the ad of one job (``"12.0"``); :class:`UnknownJob` if there is none."""
        cluster, proc = job_id(job)
        part = self._endpoint.call("getJobAd", job=job, clusterId=cluster, jobId=proc)
        return ad_of(field(part, "classAd"))

    def _jobs(self, spec: JobSpec) -> list[tuple[int, int]]:
        kind, value = parse_job_spec(spec)
        if kind == "jobs":
            return value
        constraint = f"ClusterId == {value}" if kind == "cluster" else value
        return [(ad["ClusterId"], ad["ProcId"]) for ad in self.query(constraint, ["ClusterId", "ProcId"])]

    def act_each(self, action: JobAction, job_spec: JobSpec,
                 reason: Optional[str] = None) -> Iterator[tuple[str, Optional[StatusError]]]:
        """:meth:`act` one job at a time: yields ``(job id, None or the service's error)``;
        removing a whole cluster is one ``removeCluster`` (job id ``"12"``)."""
        action = JobAction(action)
        kind, value = parse_job_spec(job_spec)
        if action is JobAction.Remove and kind == "cluster":
            try:
                self._endpoint.call("removeCluster", job=str(value), clusterId=value, reason=reason)
                yield str(value), None
            except StatusError as exc:
                yield str(value), exc
            return
        for cluster, proc in self._jobs(job_spec):
            job = f"{cluster}.{proc}"
            ids = {"job": job, "clusterId": cluster, "jobId": proc, "reason": reason}
            try:
                if action is JobAction.Hold:
                    self._endpoint.call("holdJob", **ids, email_user=False, email_admin=False, system_hold=False)
                elif action is JobAction.Release:
                    self._endpoint.call("releaseJob", **ids, email_user=False, email_admin=False)
                else:
                    self._endpoint.call("removeJob", **ids, force_removal=action is JobAction.RemoveX)
                yield job, None
            except StatusError as exc:
                yield job, exc

    def act(self, action: JobAction, job_spec: JobSpec, reason: Optional[str] = None) -> ClassAd:
        """Hold, release or remove jobs: ``job_spec`` is ``"c.p"``, a list of them, a cluster
        number or a constraint. Returns counts as htcondor2 does (``TotalJobAds``,
        ``TotalSuccess``, ``TotalError``); when ``job_spec`` names one job, its failure is raised."""
        results = list(self.act_each(action, job_spec, reason))
        errors = [e for _, e in results if e is not None]
        if errors and isinstance(job_spec, str) and _JOB_ID.match(job_spec):
            raise errors[0]
        return ClassAd(TotalJobAds=len(results), TotalSuccess=len(results) - len(errors), TotalError=len(errors),
                       TotalNotFound=sum(isinstance(e, UnknownJob) for e in errors))

    def close_spool(self, job_spec: JobSpec) -> int:
        """``closeSpool``: the jobs may leave the queue once complete (their output was
        fetched); returns how many were closed."""
        jobs = self._jobs(job_spec)
        for cluster, proc in jobs:
            self._endpoint.call("closeSpool", job=f"{cluster}.{proc}", clusterId=cluster, jobId=proc)
        return len(jobs)

    def wait(self, job_spec: JobSpec, *, states: Iterable[int] = FINAL, timeout: Optional[float] = None,
             interval: float = 1.0) -> dict[str, ClassAd]:
        """Poll until every job of ``job_spec`` is in one of ``states`` (default: completed,
        removed or held) or has left the queue; returns their last ads by job id. Raises
        :class:`TimeoutError` after ``timeout`` seconds."""
        wanted = {int(s) for s in states}
        kind, value = parse_job_spec(job_spec)
        if kind == "jobs":
            constraint = " || ".join(f"(ClusterId == {c} && ProcId == {p})" for c, p in value)
        else:
            constraint = f"ClusterId == {value}" if kind == "cluster" else value
        deadline = None if timeout is None else time.monotonic() + timeout
        last: dict[str, ClassAd] = {}
        while True:
            pending = False
            for ad in self.query(constraint):
                last[f"{ad['ClusterId']}.{ad['ProcId']}"] = ad
                pending = pending or ad.get("JobStatus") not in wanted
            if not pending:
                return last
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"jobs {job_spec!r} not in states {sorted(wanted)} after {timeout} s")
            time.sleep(interval)

    # submission ------------------------------------------------------------------------------
    def transaction(self, duration: int = 60, *, renew: bool = True) -> Transaction:
        """A transaction (``with schedd.transaction() as txn: txn.submit(...)``): ``duration``
        is its lease in seconds, renewed in the background while it is open unless
        ``renew=False``."""
        return Transaction(self, duration, renew)

    def submit(self, description: Union[str, Mapping[str, Any], SubmitDescription], count: Optional[int] = None, *,
               input_files: Iterable[Union[Source, tuple[str, Source]]] = (),
               base_dir: Optional[str] = None) -> SubmitResult:
        """Submit in a transaction of its own, commit, and ask the pool to reschedule
        (:meth:`Transaction.submit` has the details)."""
        with self.transaction() as txn:
            result = txn.submit(description, count, input_files=input_files, base_dir=base_dir)
        try:
            self.reschedule()
        except (StatusError, TransportError) as exc:  # the jobs are queued; matching just waits
            log.warning("requestReschedule: %s", exc)
        return result

    def _template(self, cluster: int, proc: int, universe: str, cmd: Optional[str], args: Optional[str],
                  requirements: Optional[str]) -> ClassAd:
        part = self._endpoint.call("createJobTemplate", job=f"{cluster}.{proc}", clusterId=cluster, jobId=proc,
                                   owner=self.owner, type=universe, cmd=cmd, args=args, requirements=requirements)
        ad = ad_of(field(part, "classAd"))
        for header in ("MyType", "TargetType", "ServerTime"):  # the service's, not the job's
            ad.pop(header, None)
        return ad

    # files -----------------------------------------------------------------------------------
    def list_spool(self, job: str) -> dict[str, int]:
        """``listSpool``: the files in a job's spool and their sizes."""
        cluster, proc = job_id(job)
        return spool_sizes(self._endpoint, cluster, proc)

    def retrieve(self, job_spec: JobSpec, destination: str = ".", *, files: Optional[Iterable[str]] = None,
                 include_inputs: bool = False) -> list[str]:
        """Download jobs' spool files into ``destination`` (one job) or
        ``destination/<cluster.proc>/`` (several); returns the paths written.

        By default the job's own inputs (its executable, ``In`` and ``TransferInputFiles``) are
        left out; ``files`` names exactly which to fetch.
        """
        jobs = self._jobs(job_spec)
        wanted = set(files) if files is not None else None
        written: list[str] = []
        for cluster, proc in jobs:
            job = f"{cluster}.{proc}"
            target = destination if len(jobs) == 1 and not isinstance(job_spec, (list, tuple)) else \
                os.path.join(destination, job)
            sizes = spool_sizes(self._endpoint, cluster, proc)
            skip = set() if include_inputs or wanted is not None else _inputs(self.job(job))
            missing = (wanted or set()) - set(sizes)
            if missing:
                raise UnknownFile(f"no file {', '.join(sorted(missing))} in the spool", operation="listSpool", job=job)
            os.makedirs(target, exist_ok=True)
            for name, size in sorted(sizes.items()):
                if (wanted is not None and name not in wanted) or name in skip:
                    continue
                if not name or os.path.basename(name) != name or name in (".", ".."):
                    raise CondorSoapClientError(f"refusing spool file name {name!r}", operation="listSpool", job=job)
                written.append(download(self._endpoint, cluster, proc, name, size, os.path.join(target, name),
                                        chunk_size=self.chunk_size, progress=self.progress))
        return written


def _inputs(ad: ClassAd) -> set[str]:
    """The spool names of a job's inputs: TransferInputFiles (TransferInput once HTCondor
    spooled them), In, and Cmd when transferred."""
    listed = ",".join(str(ad.get(name) or "") for name in ("TransferInputFiles", "TransferInput"))  # HTCondor's
    names = {n.strip() for n in listed.split(",") if n.strip()}
    if isinstance(ad.get("In"), str) and ad["In"] != "/dev/null":
        names.add(os.path.basename(ad["In"]))
    if isinstance(ad.get("Cmd"), str) and ad.get("TransferExecutable") is not False:
        names.add(os.path.basename(ad["Cmd"]))
    return names
