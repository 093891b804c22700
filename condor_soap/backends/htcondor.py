"""A real HTCondor pool through the PyPI ``htcondor`` package (``htcondor2``, ``classad2``).

The pool is found the HTCondor way: ``CONDOR_CONFIG`` / ``_CONDOR_*`` name the collector, the
service's identity is whatever HTCondor's security configuration gives it (IDTOKEN, FS, ...).
The schedd is ``Config.schedd_name``, else ``SCHEDD_HOST``, else the local schedd, else the only
schedd the collector knows. Its location is cached briefly and forgotten on any failure, so a
restarted schedd (new address) is found again; no connection is held between calls.

Decisions (docs/htcondor-backend.rst has the full list):

* Ids: ``new_cluster_id`` predicts the schedd's next cluster id (highest ClusterId in queue and
  recent history, the service's own last allocation, + 1) and persists it. At commit each client
  cluster is ONE ``Schedd.submit(spool=True, itemdata=...)``; if the schedd gave another id (some
  other submitter, or another transaction, committed first), the client ids become aliases of
  the real ones (:mod:`.htcondor_state`). Every id-taking method maps client -> real ids; ads
  returned show the client's ``ClusterId``/``ProcId``/``GlobalJobId``; a constraint that could
  test ids is evaluated here on those client-view ads when aliases exist.
* Atomic commit: every job is tagged ``CondorSoapToken``/``CondorSoapJob`` and submitted with
  ``JobStatusOnRelease = 5``, so the schedd's release after spooling leaves it held; the service
  releases the whole batch only once every cluster is submitted and spooled. Any failure removes
  (remove + forcex) everything the batch created. A re-applied token first looks for its jobs
  in the queue: a whole batch is completed, a partial one removed and redone.
* Input files are linked into ``<state_dir>/htcondor/jobs/<cluster>/<proc>`` (the job's
  ``initialdir``) and spooled; once the job completed its output sandbox is retrieved there on
  first access. closeSpool sets ``FilesRetrieved = true`` (the schedd then drops the completed
  job at its next periodic evaluation) and deletes that directory.
* HoldReason/ReleaseReason/RemoveReason are HTCondor's: the client's reason plus
  " (by user <identity>)". email flags are not supported by ``Schedd.act`` and are ignored.
"""
from __future__ import annotations

import errno
import logging
import os
import re
import shutil
import stat
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional, TypeVar

import classad2
import htcondor2

from condor_soap.backends import htcondor_submit as subm
from condor_soap.backends.base import BackendError, NoSuchFile, NoSuchJob, matches
from condor_soap.backends.htcondor_state import DONE, JOBS_QUEUED, Key, State
from condor_soap.config import Config
from condor_soap.core.records import ActionKind, AdType, CommitBatch, FileInfo, JobAction, NewJob

log = logging.getLogger(__name__)
T = TypeVar("T")

LOCATE_TTL = 30.0  # seconds a located schedd ad is trusted (forgotten at once on a failure)
HELD, REMOVED, COMPLETED = 5, 3, 4
SPOOLING_INPUT = 16  # HoldReasonCode while the schedd waits for Schedd.spool()
_ID_ATTRS = frozenset(("clusterid", "procid", "globaljobid"))
_UNREACHABLE = re.compile(r"connect|locate|timed? ?out|refused|unreachable|no route|reset by peer|"
                          r"Failed to fetch ads|Unable to find|closed", re.I)

_QUERY_TYPES = {AdType.STARTD: "Startd", AdType.SCHEDD: "Schedd", AdType.SUBMITTOR: "Submitter",
                AdType.LICENSE: "License", AdType.MASTER: "Master", AdType.COLLECTOR: "Collector",
                AdType.NEGOTIATOR: "Negotiator", AdType.HAD: "HAD"}
#: Types the collector has no query table for: found among all ads by MyType.
_BY_MYTYPE = {AdType.STORAGE: "Storage", AdType.GENERIC: "Generic", AdType.CKPTSRVR: "CkptServer",
              AdType.QUILL: "Quill"}
MY_TYPES = {AdType.STARTD: "Machine", AdType.SCHEDD: "Scheduler", AdType.MASTER: "DaemonMaster",
            AdType.SUBMITTOR: "Submitter", AdType.LICENSE: "License", AdType.COLLECTOR: "Collector",
            AdType.NEGOTIATOR: "Negotiator", AdType.HAD: "HAD", **_BY_MYTYPE}
_UPDATE = {AdType.STARTD: "UPDATE_STARTD_AD", AdType.SCHEDD: "UPDATE_SCHEDD_AD",
           AdType.SUBMITTOR: "UPDATE_SUBMITTOR_AD", AdType.LICENSE: "UPDATE_LICENSE_AD",
           AdType.MASTER: "UPDATE_MASTER_AD", AdType.CKPTSRVR: "UPDATE_CKPT_SRVR_AD",
           AdType.COLLECTOR: "UPDATE_COLLECTOR_AD", AdType.STORAGE: "UPDATE_STORAGE_AD",
           AdType.NEGOTIATOR: "UPDATE_NEGOTIATOR_AD", AdType.HAD: "UPDATE_HAD_AD",
           AdType.GENERIC: "UPDATE_AD_GENERIC"}


def _bad_name(name: str) -> bool:
    return not name or "/" in name or "\0" in name or name in (".", "..")


def _count(result: Optional[classad2.ClassAd]) -> int:
    return int(result.get("TotalSuccess", 0)) if result is not None else 0


class HTCondorBackend:
    """:class:`~condor_soap.backends.base.Backend` over a real schedd and collector. Thread-safe."""

    soap_address: Optional[str]
    """``"<ip:port>"`` of the SOAP service (set by the server): the ``MyAddress`` shown in this
    schedd's ad, with ``HasSOAPInterface = true``, as the original schedd advertised itself."""

    def __init__(self, config: Config, *, stage_timeout: float = 60.0) -> None:
        self.config = config
        self.soap_address = None
        self.stage_timeout = stage_timeout
        self._root = os.path.join(config.state_dir, "htcondor")
        self._jobs_root = os.path.join(self._root, "jobs")
        os.makedirs(self._jobs_root, exist_ok=True)
        self._state = State(os.path.join(self._root, "backend.sqlite3"))
        self._lock = threading.Lock()  # the located schedd
        self._located: Optional[tuple[float, classad2.ClassAd]] = None
        self._spool_root: Optional[str] = None
        self._apply_lock = threading.Lock()
        self._alloc_lock = threading.Lock()
        self._retrieve_lock = threading.Lock()

    # locating the schedd, and the one translation of HTCondor failures
    def _wanted_name(self) -> Optional[str]:
        return self.config.schedd_name or htcondor2.param.get("SCHEDD_HOST") or None

    def _schedd_ad(self) -> classad2.ClassAd:
        with self._lock:
            if self._located and time.monotonic() - self._located[0] < LOCATE_TTL:
                return self._located[1]
        name = self._wanted_name()
        with self._failures(f"The schedd {name or '(local)'} is not reachable"):
            collector = htcondor2.Collector()
            if name:
                ad = collector.locate(htcondor2.DaemonType.Schedd, name)
            else:
                try:
                    ad = collector.locate(htcondor2.DaemonType.Schedd)
                except htcondor2.HTCondorException:
                    ads = collector.locateAll(htcondor2.DaemonType.Schedd)
                    if len(ads) != 1:
                        raise BackendError(f"No local schedd, and the collector knows {len(ads)} schedds: "
                                           "set schedd_name") from None
                    ad = ads[0]
        with self._lock:
            self._located = (time.monotonic(), ad)
        return ad

    def _forget(self) -> None:
        with self._lock:
            self._located = None

    @contextmanager
    def _failures(self, doing: str) -> Iterator[None]:
        """HTCondor's exceptions -> :class:`BackendError` ``"<doing>: <HTCondor's reason>"``; a
        failure that looks like the daemon is gone says so, and the location is forgotten."""
        try:
            yield
        except BackendError:
            raise
        except (htcondor2.HTCondorException, classad2.ClassAdException, ValueError, TypeError,
                RuntimeError, OSError) as exc:
            self._forget()
            text = str(exc).strip() or type(exc).__name__
            if _UNREACHABLE.search(text) and "not reachable" not in doing:
                doing = f"The schedd {self._name_hint()} is not reachable ({doing})"
            raise BackendError(f"{doing}: {text}") from exc

    def _name_hint(self) -> str:
        with self._lock:
            if self._located:
                return str(self._located[1].get("Name"))
        return self._wanted_name() or "(local)"

    def _schedd(self, fn: Callable[[Any], T], doing: str, *, retry: bool = True) -> T:
        """Run ``fn(schedd)``; a failed read is retried once on a freshly located schedd."""
        for attempt in (0, 1):
            schedd = htcondor2.Schedd(self._schedd_ad())
            try:
                with self._failures(doing):
                    return fn(schedd)
            except BackendError:
                if not retry or attempt:
                    raise
        raise AssertionError("unreachable")

    # identity
    def version(self) -> str:
        return str(self._schedd_ad()["CondorVersion"])

    def platform(self) -> str:
        return str(self._schedd_ad()["CondorPlatform"])

    def schedd_name(self) -> str:
        return str(self._schedd_ad()["Name"])

    # ids
    def new_cluster_id(self) -> int:
        def highest(schedd: Any) -> int:
            ids = [ad.get("ClusterId", 0) for ad in schedd.query("true", ["ClusterId"])]
            ids += [ad.get("ClusterId", 0) for ad in schedd.history(None, ["ClusterId"], match=50)]
            return max([0, *(i for i in ids if isinstance(i, int))])
        with self._alloc_lock:
            return self._state.allocate(self._schedd(highest, "Could not read the highest cluster id"))

    def _spool_base(self) -> str:
        if self._spool_root is None:
            spool = None
            try:
                spool = htcondor2.RemoteParam(self._schedd_ad()).get("SPOOL")
            except (htcondor2.HTCondorException, ValueError, RuntimeError, KeyError):
                log.info("cannot read the schedd's SPOOL; using the local configuration's")
            spool = spool or htcondor2.param.get("SPOOL")
            if not spool:
                raise BackendError("SPOOL is unknown (neither the schedd nor the local configuration names it)")
            self._spool_root = spool
        return self._spool_root

    def spool_dir(self, cluster: int, proc: int) -> str:
        real = self._state.ids.real(cluster, proc) or (cluster, proc)
        c, p = real
        return os.path.join(self._spool_base(), str(c % 10000), str(p % 10000), f"cluster{c}.proc{p}.subproc0")

    def _host_dir(self, cluster: int, proc: int) -> str:
        return subm.host_dir_name(self._jobs_root, cluster, proc)

    # queue changes
    def apply(self, batch: CommitBatch) -> list[JobAction]:
        with self._apply_lock:
            stage = self._state.token_stage(batch.token)
            if stage == DONE:
                return []
            if stage != JOBS_QUEUED:
                if batch.jobs:
                    self._queue_jobs(batch)
                self._state.set_token_stage(batch.token, JOBS_QUEUED)
            applied = bool(batch.jobs)
            failed = []
            for action in batch.actions:
                try:
                    if not self._act(action):
                        failed.append(action)
                except BackendError as exc:
                    if not applied:
                        raise
                    # Part of the batch is in: the core must not reopen the transaction. It
                    # stays "committing" and is applied again (this token skips the jobs).
                    raise RuntimeError(f"commit {batch.token} interrupted, will be retried: {exc}") from exc
                applied = True
            self._state.set_token_stage(batch.token, DONE)
            return failed

    def _queue_jobs(self, batch: CommitBatch) -> None:
        """Queue every job of ``batch`` held, spool, then release them all; or leave nothing."""
        token = batch.token
        if self._resume(batch):
            return
        try:
            clusters: dict[int, list[NewJob]] = {}
            for job in sorted(batch.jobs, key=lambda j: (j.cluster, j.proc)):
                clusters.setdefault(job.cluster, []).append(job)
            for cluster, jobs in clusters.items():
                self._submit_cluster(token, cluster, jobs)
            self._wait_spooled(token, len(batch.jobs))
            self._release_batch(token, len(batch.jobs))
        except BaseException as exc:
            self._undo(token)
            if isinstance(exc, BackendError):
                raise
            if isinstance(exc, (OSError, ValueError)):
                raise BackendError(f"Could not queue the jobs: {exc}") from exc
            raise

    def _submit_cluster(self, token: str, cluster: int, jobs: list[NewJob]) -> None:
        per_job = []
        for job in jobs:
            host_dir = self._host_dir(job.cluster, job.proc)
            self._place_files(job, host_dir)
            try:
                per_job.append(subm.job_commands(job, host_dir, token))
            except subm.Untranslatable as exc:
                raise BackendError(f"Job {job.cluster}.{job.proc}: {exc}") from None
        common, items = subm.cluster_description(per_job)
        description = htcondor2.Submit(common)

        def submit(schedd: Any) -> Any:
            return schedd.submit(description, spool=True, itemdata=iter(items))
        result = self._schedd(submit, f"The schedd refused cluster {cluster}", retry=False)
        real_cluster = result.cluster()
        self._state.add_jobs(token, [((job.cluster, job.proc), (real_cluster, result.first_proc() + i))
                                     for i, job in enumerate(jobs)])
        if real_cluster != cluster:
            log.info("cluster %d was queued as %d (alias)", cluster, real_cluster)
        self._schedd(lambda schedd: schedd.spool(result), f"Could not spool the input files of cluster {cluster}",
                     retry=False)

    def _place_files(self, job: NewJob, host_dir: str) -> None:
        """Link (else copy) the job's staged files into its host directory."""
        try:
            if os.path.isdir(host_dir):
                shutil.rmtree(host_dir)  # a redo after a partial batch
            os.makedirs(host_dir)
            for name, source in job.files.items():
                if _bad_name(name):
                    raise BackendError(f"Invalid file name {name!r}")
                target = os.path.join(host_dir, name)
                try:
                    os.link(source, target)
                except OSError as exc:
                    if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                        raise
                    shutil.copyfile(source, target)
        except OSError as exc:
            raise BackendError(f"Could not prepare the files of job {job.cluster}.{job.proc}: {exc}") from None

    def _token_jobs(self, token: str, projection: list[str]) -> list[classad2.ClassAd]:
        constraint = f"{subm.TOKEN_ATTR} == {classad2.quote(token)}"
        return self._schedd(lambda s: s.query(constraint, projection), "Could not read the queue")

    def _wait_spooled(self, token: str, count: int) -> None:
        """Until the schedd finished every stage-in (its release then leaves the jobs held)."""
        deadline = time.monotonic() + self.stage_timeout
        while True:
            ads = self._token_jobs(token, ["JobStatus", "HoldReasonCode"])
            if len(ads) == count and not any(ad.get("HoldReasonCode") == SPOOLING_INPUT for ad in ads):
                return
            if time.monotonic() > deadline:
                raise BackendError(f"The schedd did not finish receiving the input files within "
                                   f"{self.stage_timeout:.0f} s")
            time.sleep(0.1)

    def _release_batch(self, token: str, count: int) -> None:
        constraint = f"{subm.TOKEN_ATTR} == {classad2.quote(token)} && JobStatus == {HELD}"
        result = self._schedd(lambda s: s.act(htcondor2.JobAction.Release, constraint,
                                              ("condor-soap: transaction committed", None)),
                              "Could not release the committed jobs", retry=False)
        if _count(result) != count:
            raise BackendError(f"Only {_count(result)} of {count} committed jobs could be released")

    def _undo(self, token: str) -> None:
        """Remove everything of this batch from the queue (best effort, logged) and forget it."""
        constraint = f"{subm.TOKEN_ATTR} == {classad2.quote(token)}"
        for action in (htcondor2.JobAction.Remove, htcondor2.JobAction.RemoveX):
            try:
                self._schedd(lambda s: s.act(action, constraint, ("condor-soap: transaction failed", None)),
                             "Could not remove a failed transaction's jobs")
            except BackendError:
                log.exception("could not remove the jobs of failed batch %s", token)
        for cluster, proc in self._state.forget_token_jobs(token):
            shutil.rmtree(self._host_dir(cluster, proc), ignore_errors=True)

    def _resume(self, batch: CommitBatch) -> bool:
        """A token applied before a crash: True if its jobs are all queued (now completed);
        a partial batch is removed, so the caller queues it again."""
        ads = self._token_jobs(batch.token, ["ClusterId", "ProcId", subm.JOB_ATTR, "JobStatus", "HoldReasonCode"])
        if not ads:
            return False
        wanted = {(job.cluster, job.proc) for job in batch.jobs}
        found = {subm.parse_job_attr(ad.get(subm.JOB_ATTR)): (ad["ClusterId"], ad["ProcId"]) for ad in ads}
        whole = set(found) == wanted and len(ads) == len(wanted) and \
            not any(ad.get("HoldReasonCode") == SPOOLING_INPUT for ad in ads)
        if not whole:
            log.info("batch %s was partly queued before a crash: removing and queueing it again", batch.token)
            self._undo(batch.token)
            return False
        self._state.add_jobs(batch.token, found.items())  # type: ignore[arg-type]
        held = sum(1 for ad in ads if ad.get("JobStatus") == HELD and ad.get("HoldReasonCode") is None)
        if held:
            self._release_batch(batch.token, held)
        return True

    def _act(self, action: JobAction) -> bool:
        """Apply one action; False if it does not apply (unknown job, wrong state)."""
        if action.kind is ActionKind.REMOVE_CLUSTER:
            real_cluster = self._state.ids.real_cluster(action.cluster)
            if real_cluster is not None:
                self._schedd(lambda s: s.act(htcondor2.JobAction.Remove, f"ClusterId == {real_cluster}",
                                             (action.reason or "via condor-soap", None)),
                             f"Could not remove cluster {action.cluster}", retry=False)
            return True
        if action.proc is None:
            return False
        real = self._state.ids.real(action.cluster, action.proc)
        if real is None:
            return False
        spec = [f"{real[0]}.{real[1]}"]
        reason = (action.reason or "via condor-soap", None)
        doing = f"Could not {action.kind.value.replace('_', ' ')} job {action.cluster}.{action.proc}"
        if action.kind is ActionKind.CLOSE_SPOOL:
            try:
                with self._failures(doing):
                    edited = htcondor2.Schedd(self._schedd_ad()).edit(spec, "FilesRetrieved", "true")
            except BackendError as exc:
                if "nonexistent job" in str(exc):
                    return False
                raise
            shutil.rmtree(self._host_dir(action.cluster, action.proc), ignore_errors=True)
            return bool(edited)
        kind = {ActionKind.HOLD: htcondor2.JobAction.Hold, ActionKind.RELEASE: htcondor2.JobAction.Release,
                ActionKind.REMOVE: htcondor2.JobAction.Remove}[action.kind]
        if action.kind is ActionKind.REMOVE and action.force:
            ads = self._schedd(lambda s: s.query(f"ClusterId == {real[0]} && ProcId == {real[1]}", ["JobStatus"]),
                               doing)
            if ads and ads[0].get("JobStatus") == REMOVED:
                kind = htcondor2.JobAction.RemoveX  # condor_rm -forcex: leave the queue now
        done = _count(self._schedd(lambda s: s.act(kind, spec, reason), doing, retry=False)) > 0
        if done and kind == htcondor2.JobAction.RemoveX:
            shutil.rmtree(self._host_dir(action.cluster, action.proc), ignore_errors=True)
        if done and action.kind is ActionKind.HOLD and action.system_hold:
            self._count_system_hold(spec)
        return done

    def _count_system_hold(self, spec: list[str]) -> None:
        c, p = spec[0].split(".")

        def bump(schedd: Any) -> None:
            ads = schedd.query(f"ClusterId == {c} && ProcId == {p}", ["NumSystemHolds"])
            holds = ads[0].get("NumSystemHolds", 0) if ads else 0
            schedd.edit(spec, "NumSystemHolds", str((holds if isinstance(holds, int) else 0) + 1))
        try:
            self._schedd(bump, "Could not count a system hold", retry=False)
        except BackendError:
            log.warning("could not count the system hold of job %s", spec[0], exc_info=True)

    # reads
    def _client_view(self, ad: classad2.ClassAd) -> Optional[classad2.ClassAd]:
        """The ad with the client's ids (None: a foreign job shadowed by a client id)."""
        real = (ad.get("ClusterId"), ad.get("ProcId"))
        if not all(isinstance(i, int) for i in real):
            return ad
        client = self._state.ids.client(*real)  # type: ignore[arg-type]
        if client is None:
            return None
        for name in (subm.TOKEN_ATTR, subm.JOB_ATTR):
            if name in ad:
                del ad[name]
        if client != real:
            ad["ClusterId"], ad["ProcId"] = client
            gid = ad.get("GlobalJobId")
            if isinstance(gid, str) and gid.count("#") == 2:
                schedd, _ids, when = gid.split("#")
                ad["GlobalJobId"] = f"{schedd}#{client[0]}.{client[1]}#{when}"
        return ad

    def jobs(self, constraint: Optional[str] = None) -> list[classad2.ClassAd]:
        local = False
        if constraint is not None and constraint.strip():
            try:
                expr = classad2.ExprTree(constraint)
            except Exception:  # classad2 raises several types for unparsable text
                return []
            refs = {ref.split(".")[-1].casefold() for ref in classad2.ClassAd().externalRefs(expr)}
            local = bool(self._state.ids) and bool(refs & _ID_ATTRS)
        else:
            constraint = None
        sent = "true" if local or constraint is None else constraint
        ads = self._schedd(lambda s: s.query(sent), "Could not read the queue")
        views = [view for view in map(self._client_view, ads) if view is not None]
        return [ad for ad in views if matches(constraint, ad)] if local else views

    def _real_ad(self, cluster: int, proc: int, projection: Optional[list[str]] = None
                 ) -> Optional[tuple[Key, classad2.ClassAd]]:
        real = self._state.ids.real(cluster, proc)
        if real is None:
            return None
        ads = self._schedd(lambda s: s.query(f"ClusterId == {real[0]} && ProcId == {real[1]}", projection or []),
                           "Could not read the queue")
        return (real, ads[0]) if ads else None

    def job(self, cluster: int, proc: int) -> Optional[classad2.ClassAd]:
        found = self._real_ad(cluster, proc)
        return self._client_view(found[1]) if found else None

    def _spool_of(self, cluster: int, proc: int) -> Optional[str]:
        """The host directory holding the job's files (its output retrieved once it completed);
        None for a job the service did not queue. Raises NoSuchJob."""
        found = self._real_ad(cluster, proc, ["JobStatus", "SUBMIT_Iwd"])
        if found is None:
            raise NoSuchJob(f"Job {cluster}.{proc} is not in the queue")
        (rc, rp), ad = found
        host_dir = self._host_dir(cluster, proc)
        if ad.get("SUBMIT_Iwd") != host_dir or not self._state.is_ours(cluster, proc):
            return None
        if ad.get("JobStatus") == COMPLETED and not self._state.retrieved(cluster, proc):
            with self._retrieve_lock:
                if not self._state.retrieved(cluster, proc):
                    self._schedd(lambda s: s.retrieve([f"{rc}.{rp}"]),
                                 f"Could not retrieve the output of job {cluster}.{proc}")
                    self._state.mark_retrieved(cluster, proc)
        return host_dir

    def list_spool(self, cluster: int, proc: int) -> list[FileInfo]:
        host_dir = self._spool_of(cluster, proc)
        if host_dir is None:
            return []
        try:
            entries = list(os.scandir(host_dir))
        except FileNotFoundError:
            return []
        out = []
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False):
                    out.append(FileInfo(entry.name, entry.stat(follow_symlinks=False).st_size))
            except OSError:
                continue  # vanished while listing
        return sorted(out, key=lambda f: f.name)

    def read_spool(self, cluster: int, proc: int, name: str, offset: int, length: int) -> bytes:
        host_dir = self._spool_of(cluster, proc)
        if _bad_name(name) or host_dir is None:
            raise NoSuchFile(f"No file {name!r} in the spool of job {cluster}.{proc}")
        if offset < 0:
            raise BackendError("offset must be >= 0")
        try:
            fd = os.open(os.path.join(host_dir, name), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            raise NoSuchFile(f"No file {name!r} in the spool of job {cluster}.{proc}") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise NoSuchFile(f"No file {name!r} in the spool of job {cluster}.{proc}")
            count = max(0, min(length, st.st_size - offset))
            return os.pread(fd, count, offset) if count else b""
        finally:
            os.close(fd)

    def reschedule(self) -> None:
        self._schedd(lambda s: s.reschedule(), "Could not ask for a reschedule")

    # collector
    @contextmanager
    def _collector(self, doing: str) -> Iterator[Any]:
        try:
            with self._failures(doing):
                yield htcondor2.Collector()
        except BackendError as exc:
            if "not reachable" in str(exc):  # it was the collector, not the schedd
                raise BackendError(str(exc).replace(f"The schedd {self._name_hint()}", "The collector", 1)) from exc
            raise

    def query_ads(self, ad_type: Optional[AdType], constraint: Optional[str] = None) -> list[classad2.ClassAd]:
        if constraint is not None and constraint.strip():
            try:
                classad2.ExprTree(constraint)
            except Exception:
                return []
        else:
            constraint = None
        # Schedd ads get HasSOAPInterface here, so those queries are judged on our view.
        local = ad_type in (None, AdType.SCHEDD)
        sent = [] if local or constraint is None else [f"({constraint})"]
        kind = htcondor2.AdType.Any
        if ad_type is not None and ad_type in _QUERY_TYPES:
            kind = getattr(htcondor2.AdType, _QUERY_TYPES[ad_type])
        elif ad_type is not None:
            sent.insert(0, f"MyType == {classad2.quote(_BY_MYTYPE[ad_type])}")
        with self._collector("Could not query the collector") as collector:
            ads = collector.query(kind, " && ".join(sent) or "true")
        if local:
            ads = [self._soap_schedd(ad) for ad in ads]
            ads = [ad for ad in ads if matches(constraint, ad)]
        return ads

    def _soap_schedd(self, ad: classad2.ClassAd) -> classad2.ClassAd:
        if ad.get("MyType") == "Scheduler" and ad.get("Name") == self._name_hint():
            ad["HasSOAPInterface"] = True
            if self.soap_address:
                ad["MyAddress"] = self.soap_address
        return ad

    def advertise(self, ad_type: AdType, ad: classad2.ClassAd) -> bool:
        ad_type = AdType(ad_type)
        ad = classad2.ClassAd(str(ad))
        name = ad.get("Name")
        if not isinstance(name, str) or not name:
            raise BackendError("The ad has no Name attribute")
        if ad_type not in _UPDATE:
            raise BackendError(f"HTCondor has no {ad_type.name.title()} ads")
        if "MyType" not in ad:
            ad["MyType"] = MY_TYPES[ad_type]
        if ad_type is AdType.LICENSE and "MyAddress" not in ad:
            ad["MyAddress"] = "<0.0.0.0:0>"  # the collector keys License ads by Name and address
        named = f"Name == {classad2.quote(name)}"

        my_type = ad.get("MyType")

        def stored() -> list[classad2.ClassAd]:
            if ad_type in _QUERY_TYPES:
                return self.query_ads(ad_type, named)
            typed = f" && MyType == {classad2.quote(my_type)}" if isinstance(my_type, str) else ""
            with self._collector("Could not query the collector") as collector:
                return collector.query(htcondor2.AdType.Any, named + typed)
        existed = bool(stored())
        with self._collector(f"The collector refused the {ad_type.name.title()} ad") as collector:
            collector.advertise([ad], _UPDATE[ad_type])
        # An update the collector cannot use (no hash key, not authorized) is dropped silently.
        deadline = time.monotonic() + 3.0
        while not stored():
            if time.monotonic() > deadline:
                raise BackendError(f"The collector did not store the {ad_type.name.title()} ad {name!r} "
                                   "(not authorized to advertise, or the ad lacks what the collector keys it by)")
            time.sleep(0.05)
        return not existed

    def close(self) -> None:
        self._state.close()
