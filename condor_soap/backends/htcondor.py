"""A real HTCondor pool through the PyPI ``htcondor`` package (``htcondor2``, ``classad2``).

The pool is found the HTCondor way: ``CONDOR_CONFIG`` / ``_CONDOR_*`` name the collector, the
service's identity is whatever HTCondor's security configuration gives it (IDTOKEN, FS, ...).
The schedd is ``Config.schedd_name``, else ``SCHEDD_HOST``, else the local schedd, else the only
schedd the collector knows. Its location is cached briefly and forgotten on any failure, so a
restarted schedd (new address) is found again; no connection is held between calls.

Modules: this one (locating, ids, reads, failures), :mod:`.htcondor_commit` (apply),
:mod:`.htcondor_collector`, :mod:`.htcondor_submit` (job ad -> submit description),
:mod:`.htcondor_state` (the alias table). Decisions (docs/htcondor-backend.rst has them all):

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

import logging
import os
import re
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional, Sequence, TypeVar

import classad2
import htcondor2

from condor_soap.backends import htcondor_submit as subm
from condor_soap.backends.base import read_spool_file
from condor_soap.core.ports import BackendError, NoSuchFile, NoSuchJob
from condor_soap.backends.htcondor_collector import CollectorMixin
from condor_soap.backends.htcondor_commit import COMPLETED, CommitMixin
from condor_soap.backends.htcondor_state import DONE, JOBS_QUEUED, Key, State
from condor_soap.config import Config
from condor_soap.core.constraints import select
from condor_soap.core.records import CommitBatch, FileInfo, JobAction

log = logging.getLogger(__name__)
T = TypeVar("T")

LOCATE_TTL = 30.0  # seconds a located schedd ad is trusted (forgotten at once on a failure)
PAGE = 1000  # job ads per schedd query of a bulk read (stream_jobs)
RETRY_WITHIN = 5.0  # a read failing faster than this is retried once on a freshly located schedd
_ID_ATTRS = frozenset(("clusterid", "procid", "globaljobid"))
#: What :meth:`HTCondorBackend._client_view` reads of an ad.
_VIEW_ATTRS = ("ClusterId", "ProcId", "GlobalJobId", "SUBMIT_Iwd", subm.TOKEN_ATTR, subm.JOB_ATTR)
_UNREACHABLE = re.compile(r"connect|locate|timed? ?out|refused|unreachable|no route|reset by peer|"
                          r"communication|Failed to fetch ads|Unable to find|closed|"
                          r"SECMAN:2007|Failed to (read|end|send)|connection ended", re.I)


def locate_schedd(name: Optional[str]) -> classad2.ClassAd:
    """The ad of the schedd called ``name``, else of the local schedd, else of the only one the
    collector knows. Raises :class:`BackendError` or HTCondor's own exceptions."""
    collector = htcondor2.Collector()
    if name:
        ad = collector.locate(htcondor2.DaemonType.Schedd, name)
        if ad is None:
            raise BackendError("the collector knows no schedd of that name")
        return ad
    try:
        return collector.locate(htcondor2.DaemonType.Schedd)
    except htcondor2.HTCondorException:
        ads = collector.locateAll(htcondor2.DaemonType.Schedd)
        if len(ads) != 1:
            raise BackendError(f"No local schedd, and the collector knows {len(ads)} schedds: "
                               "set schedd_name") from None
        return ads[0]


class HTCondorBackend(CommitMixin, CollectorMixin):
    """:class:`~condor_soap.core.ports.Backend` over a real schedd and collector. Thread-safe."""

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
        self._committing: set[str] = set()  # tokens whose jobs are being queued (not visible yet)
        self._undo_running = threading.Lock()

    # locating the schedd, and the one translation of HTCondor failures
    def _wanted_name(self) -> Optional[str]:
        return self.config.schedd_name or htcondor2.param.get("SCHEDD_HOST") or None

    def _schedd_ad(self) -> classad2.ClassAd:
        with self._lock:
            if self._located and time.monotonic() - self._located[0] < LOCATE_TTL:
                return self._located[1]
        name = self._wanted_name()
        with self._failures(f"The schedd {name or '(local)'} is not reachable"):
            try:
                ad = locate_schedd(name)
            except BackendError as exc:
                raise BackendError(f"The schedd {name or '(local)'} is not reachable: {exc}") from None
        with self._lock:
            self._located = (time.monotonic(), ad)
        return ad

    def _in_flight(self, token: Optional[str]) -> bool:
        """Is the commit ``token`` (None: any commit) queueing jobs right now?"""
        with self._lock:
            return bool(self._committing) if token is None else token in self._committing

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
            # htcondor2 raises a bare HTCondorException when the daemon's end of the
            # connection goes away in the middle of a call (seen when the schedd is killed
            # while spooling): that is the schedd gone, and the user is told so
            text = str(exc).strip() or (f"{type(exc).__name__} without a reason: the connection ended"
                                        if isinstance(exc, htcondor2.HTCondorException) else type(exc).__name__)
            if "collector" in text.casefold():
                text += f" (COLLECTOR_HOST = {htcondor2.param.get('COLLECTOR_HOST', 'unset')})"
            if _UNREACHABLE.search(text) and "not reachable" not in doing:
                doing = f"The schedd {self._name_hint()} is not reachable ({doing})"
            raise BackendError(f"{doing}: {text}") from exc

    def _name_hint(self) -> str:
        with self._lock:
            if self._located:
                return str(self._located[1].get("Name"))
        return self._wanted_name() or "(local)"

    def _schedd(self, fn: Callable[[Any], T], doing: str, *, retry: bool = True) -> T:
        """Run ``fn(schedd)``; a read that failed at once (a restarted schedd has a new
        address) is retried once on a freshly located schedd. One that failed by timing out
        (HTCondor waits 20 s for a hung daemon) is not: the caller has waited enough."""
        for attempt in (0, 1):
            started = time.monotonic()
            try:
                with self._failures(doing):
                    # inside: with the collector gone, Schedd() itself may fail to locate
                    return fn(htcondor2.Schedd(self._schedd_ad()))
            except BackendError:
                if not retry or attempt or time.monotonic() - started > RETRY_WITHIN:
                    raise
        raise AssertionError("unreachable")

    def check(self, timeout: float) -> None:
        """Locate the schedd afresh and ask it for no job, in a process of its own killed after
        ``timeout`` seconds (:mod:`.htcondor_probe`): htcondor2 may hold the GIL while a
        daemon does not answer, which no thread of this process could bound."""
        argv = [sys.executable, "-m", "condor_soap.backends.htcondor_probe"]
        try:
            done = subprocess.run(argv + ([self.config.schedd_name] if self.config.schedd_name else []),
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BackendError(f"The schedd {self._name_hint()} did not answer within {timeout:g} s") from None
        if done.returncode != 0:
            reason = done.stdout.strip() or done.stderr.strip()[-500:] or f"exit status {done.returncode}"
            raise BackendError(f"The schedd {self._name_hint()} is not reachable: {reason}")

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

    def release_cluster_ids(self, clusters: list[int]) -> None:
        self._state.release(clusters)

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
            self._retry_undos()
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

    def _kick_undos(self) -> None:
        """Remove failed batches' leftovers in the background (a read never waits for it)."""
        if not self._state.undoing() or not self._undo_running.acquire(blocking=False):
            return

        def run() -> None:
            try:
                with self._apply_lock:
                    self._retry_undos()
            except Exception:
                log.warning("removing the jobs of failed batches", exc_info=True)
            finally:
                self._undo_running.release()
        threading.Thread(target=run, name="condor-soap-undo", daemon=True).start()

    # reads
    def _client_view(self, ad: classad2.ClassAd) -> Optional[classad2.ClassAd]:
        """The ad as the client sees it, with the ids it was given; None for a job of a commit
        still in progress (not committed yet) and for a foreign job shadowed by a client id."""
        real = (ad.get("ClusterId"), ad.get("ProcId"))
        if not all(isinstance(i, int) for i in real):
            return ad
        token = ad.get(subm.TOKEN_ATTR)
        submit_iwd = ad.get("SUBMIT_Iwd")
        if isinstance(token, str) and isinstance(submit_iwd, str) and submit_iwd.startswith(self._jobs_root + os.sep):
            # ours: the job carries its client id (right even before the alias is recorded)
            if self._in_flight(token) or token in self._state.undoing():
                return None  # not committed (yet), or a failed batch still to be removed
            client = subm.parse_job_attr(ad.get(subm.JOB_ATTR)) or self._state.ids.client(*real)
        else:
            client = self._state.ids.client(*real)  # type: ignore[arg-type]
        if client is None:
            return None
        if isinstance(token, str):  # only the service's own jobs carry its bookkeeping
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

    def jobs(self, constraint: Optional[str] = None, *, projection: Sequence[str] = (),
             limit: int = 0) -> list[classad2.ClassAd]:
        return self._read(constraint, projection, limit, history=False)

    def history(self, constraint: Optional[str] = None, *, projection: Sequence[str] = (),
                limit: int = 0) -> list[classad2.ClassAd]:
        return self._read(constraint, projection, limit, history=True)

    def _plan(self, constraint: Optional[str]) -> Optional[tuple[str, Optional[str]]]:
        """(what the schedd judges, what is judged here on the client-view ads or None); None
        for a constraint that does not parse (it matches nothing). The schedd judges it
        unless client ids differ from real ones and the constraint names an id."""
        if constraint is None or not constraint.strip():
            return "true", None
        try:
            expr = classad2.ExprTree(constraint)
        except Exception:  # classad2 raises several types for unparsable text
            return None
        refs = {ref.split(".")[-1].casefold() for ref in classad2.ClassAd().externalRefs(expr)}
        # a commit in flight may be queueing jobs under ids its alias is not recorded for yet
        if refs & _ID_ATTRS and (bool(self._state.ids) or self._in_flight(None)):
            # a job the service did not queue is seen with its real ids (or not at all): the
            # schedd judges it as is; the service's own jobs are judged here, on their client ids
            return f"({expr}) || ({subm.TOKEN_ATTR} isnt undefined)", constraint
        return constraint, None

    def _views(self, ads: list[classad2.ClassAd], local: Optional[str]) -> list[classad2.ClassAd]:
        """The client's view of ``ads``, judged by ``local`` if given."""
        # a job the service did not queue, when no client id differs from a real one, is seen as is
        plain = not self._state.ids
        views = [ad if plain and subm.TOKEN_ATTR not in ad else self._client_view(ad) for ad in ads]
        views = [view for view in views if view is not None]
        return select(local, views) if local is not None else views

    def _read(self, constraint: Optional[str], projection: Sequence[str], limit: int, *,
              history: bool) -> list[classad2.ClassAd]:
        """The queue or the history through the client's view of job ids: the schedd judges
        the constraint and applies the limit unless client ids differ from real ones."""
        plan = self._plan(constraint)
        if plan is None:
            return []
        sent, local = plan
        # judged here, the constraint needs every attribute it names: no projection then
        wanted = [] if local else list(projection)
        if wanted:  # what the client view needs, then dropped again
            have = {name.casefold() for name in wanted}
            wanted += [n for n in _VIEW_ATTRS if n.casefold() not in have]
        # the client view drops the jobs of commits in flight: then the schedd cannot count
        asked = 0 if local or self._in_flight(None) else limit
        self._kick_undos()
        if history:
            ads = self._schedd(lambda s: s.history(sent, wanted, match=asked or -1), "Could not read the history")
        else:
            ads = self._schedd(lambda s: s.query(sent, wanted, limit=asked or -1), "Could not read the queue")
        views = self._views(ads, local)
        if wanted:
            extra = [n for n in wanted[len(projection):] if n.casefold() not in ("clusterid", "procid")]
            for view in views:
                for name in extra:
                    if name in view:
                        del view[name]
        return views[:limit] if limit else views

    def stream_jobs(self, constraint: Optional[str] = None) -> "JobPages":
        self._kick_undos()
        plan = self._plan(constraint)
        if plan is None:
            return JobPages(self, "false", None, [])
        sent, local = plan
        # the pages AND the constraint with id bounds: parenthesized here too, so both read it alike
        ids = self._schedd(lambda s: s.query(f"({sent})", ["ClusterId", "ProcId"]), "Could not read the queue")
        keys = sorted({key for key in ((ad.get("ClusterId"), ad.get("ProcId")) for ad in ids)
                       if all(isinstance(i, int) for i in key)})
        pages = JobPages(self, sent, local, keys)  # type: ignore[arg-type]
        if local is None:
            return pages
        # judged here: only the jobs that match count (the limit of a query is on them), so
        # the candidates are read once, a page at a time, to keep the keys of those that do
        # the schedd answers in its own order (a hash table's): pages are id intervals, so sorted
        return JobPages(self, sent, local, sorted(key for key, _view in pages.judged()))

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
        found = self._real_ad(cluster, proc, ["JobStatus", "SUBMIT_Iwd", subm.TOKEN_ATTR])
        token = found[1].get(subm.TOKEN_ATTR) if found else None
        if found is None or (isinstance(token, str) and self._in_flight(token)):
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
        if host_dir is None:
            raise NoSuchFile(f"No file {name!r} in the spool of job {cluster}.{proc}")
        return read_spool_file(host_dir, name, offset, length, f"{cluster}.{proc}")

    def configuration(self, daemon: Optional[str] = None) -> dict[str, str]:
        if daemon is None:
            return dict(htcondor2.param.items())
        kind = getattr(htcondor2.DaemonType, daemon.capitalize())
        with self._failures(f"Could not read the configuration of the {daemon}"):
            if daemon == "schedd":
                ad = self._schedd_ad()
            else:  # the one on this machine, else the first the collector knows
                collector = htcondor2.Collector()
                try:
                    ad = collector.locate(kind)
                except htcondor2.HTCondorException:
                    ads = collector.locateAll(kind)
                    if not ads:
                        raise BackendError(f"The collector knows no {daemon}") from None
                    ad = ads[0]
            return dict(htcondor2.RemoteParam(ad).items())

    def reschedule(self) -> None:
        self._schedd(lambda s: s.reschedule(), "Could not ask for a reschedule")

    def close(self) -> None:
        self._state.close()


class JobPages:
    """The jobs a bulk read matched, read from the schedd :data:`PAGE` at a time as iterated.

    The matching ids are read first (a projection: small); each page is then one query of the
    same constraint restricted to the id interval of the next :data:`PAGE` ids, so the service
    holds one page of ads at a time whatever the size of the answer. A job that changed or left
    the queue meanwhile is shown as it is then, or not at all.
    """

    def __init__(self, backend: HTCondorBackend, sent: str, local: Optional[str], keys: list[Key]) -> None:
        self._backend, self._sent, self._local, self._keys = backend, sent, local, keys

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[classad2.ClassAd]:
        for _key, view in self.judged():
            yield view

    def judged(self) -> Iterator[tuple[Key, classad2.ClassAd]]:
        """(real ids, client view) of every job of the pages that the client sees and that matches."""
        keys, wanted = self._keys, set(self._keys)
        for start in range(0, len(keys), PAGE):
            (c1, p1), (c2, p2) = keys[start], keys[min(start + PAGE, len(keys)) - 1]
            page = (f"({self._sent}) && (ClusterId > {c1} || (ClusterId == {c1} && ProcId >= {p1})) && "
                    f"(ClusterId < {c2} || (ClusterId == {c2} && ProcId <= {p2}))")
            ads = self._backend._schedd(lambda s: s.query(page), "Could not read the queue")
            # the ids of each ad before its client view may change them; jobs between two
            # wanted ids but not wanted (queued since, or not matching) are left out
            real = {id(ad): key for ad in ads if (key := (ad.get("ClusterId"), ad.get("ProcId"))) in wanted}
            for view in self._backend._views([ad for ad in ads if id(ad) in real], self._local):
                yield real[id(view)], view
