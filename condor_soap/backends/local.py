"""The embedded default pool: a job queue in SQLite whose jobs run as local processes, and a
collector that describes this machine plus whatever clients advertise.

State lives under ``<state_dir>/local/``: ``queue.sqlite3`` and ``spool/`` (HTCondor 7.5.5+
layout, spec §4.6).

Decisions:

* Every job, whatever its universe or ``Requirements``, runs as a local process in its spool
  directory (the job's ``Iwd`` attribute is not consulted). A relative ``Cmd``/``In``/``Out``/
  ``Err`` names a file in the spool, an absolute one is used as is; ``Out``/``Err`` are
  truncated at each start. Environment: ``PATH=/usr/local/bin:/usr/bin:/bin``, the service's
  ``HOME``, ``_CONDOR_SCRATCH_DIR``, ``_CONDOR_SLOT``, ``BATCH_SYSTEM=HTCondor``, then the job's.
* A job that cannot start is held with HTCondor's codes: 6 FailedToCreateProcess (exec failed,
  no Cmd, bad Arguments/Environment), 8 UnableToOpenInput, 7 UnableToOpenOutput; the subcode is
  the errno.
* Hold and remove send SIGTERM to the job's process group, SIGKILL after ``kill_grace``; when a
  job's main process exits, whatever is left of its group is SIGKILLed.
* ``close()`` stops the job processes and puts their jobs back to idle at once; after a crash
  the next start does the same (killing the old groups if they are still ours, checked by pid
  start time and boot id), so both paths end in JobStatus 1 and the job runs again.
* REMOVE with ``force`` on an already removed job moves it to the history at once
  (``condor_rm -forcex``); on any other job it is a plain remove.
* ``list_spool`` reports regular files only; ``read_spool`` refuses ``/``, NUL, ``.``/``..`` and
  anything that is not a regular file (symlinks included).
* Collector ads are keyed by (type, Name); a stored ad replaces the built-in ad of the same key.

Lock order (never the reverse): ``_apply_lock`` -> store lock -> runner process lock.
"""
from __future__ import annotations

import logging
import os
import shutil
import socket
import sqlite3
import threading
import time
from typing import Optional, Sequence

import classad2

from condor_soap.backends import local_states as states
from condor_soap.backends.base import place_file, project, read_spool_file
from condor_soap.core.ports import BackendError, NoSuchJob
from condor_soap.backends.local_machine import MY_TYPES, MachineAds, host_name, platform_string, version_string
from condor_soap.backends.local_procs import kill_stale_group
from condor_soap.backends.local_runner import Runner
from condor_soap.backends.local_store import Store
from condor_soap.config import SETTINGS, Config
from condor_soap.core.constraints import select
from condor_soap.core.records import ActionKind, AdType, CommitBatch, FileInfo, JobAction, NewJob
from condor_soap.errors import CondorSoapError

log = logging.getLogger(__name__)

DEFAULT_AD_LIFETIME = 900  # seconds, HTCondor's CLASSAD_LIFETIME
#: A finished job leaves the queue unless this is false (``states.leaves_queue`` in ClassAd terms).
LEAVES_QUEUE = "LeaveJobInQueue =!= true"
Key = tuple[int, int]


class LocalBackend:
    """:class:`~condor_soap.core.ports.Backend` running jobs on this machine."""

    soap_address: Optional[str]
    """``"<ip:port>"`` of the SOAP service, set by the server once bound (schedd ad ``MyAddress``)."""

    def __init__(self, config: Config, *, tick: float = 1.0, kill_grace: float = 2.0) -> None:
        self.config = config
        self.soap_address = "<127.0.0.1:0>"
        self._root = os.path.join(config.state_dir, "local")
        self._spool_root = os.path.join(self._root, "spool")
        os.makedirs(self._spool_root, exist_ok=True)
        self._store = Store(os.path.join(self._root, "queue.sqlite3"), config.history_size)
        self._host = host_name()
        self._machine = MachineAds(self._host, config.max_running_jobs, self._root)
        self._apply_lock = threading.Lock()
        self._closed = False
        self._next_sweep = 0.0
        self._stuck: set[Key] = set()  # finished jobs whose LeaveJobInQueue could not be judged
        self._recover()
        self._runner = Runner(self._store, self.spool_dir, config.max_running_jobs, self._host,
                              self._sweep, tick=tick, kill_grace=kill_grace)
        self._runner.start()

    # identity
    def version(self) -> str:
        return version_string()

    def platform(self) -> str:
        return platform_string()

    def schedd_name(self) -> str:
        return self._host

    def new_cluster_id(self) -> int:
        return self._store.new_cluster_id()

    def release_cluster_ids(self, clusters: list[int]) -> None:
        """Nothing to do: the local queue allocates its own ids and never reuses one."""

    def spool_dir(self, cluster: int, proc: int) -> str:
        return os.path.join(self._spool_root, str(cluster % 10000), str(proc % 10000),
                            f"cluster{cluster}.proc{proc}.subproc0")

    # queue changes
    def apply(self, batch: CommitBatch) -> list[JobAction]:
        with self._apply_lock:
            if self._store.token_applied(batch.token):
                return []
            for job in batch.jobs:
                self._place_files(job)
            failed: list[JobAction] = []
            kills: list[Key] = []
            gone: list[Key] = []
            try:
                with self._store.transaction():
                    for job in batch.jobs:
                        self._insert(job)
                    for action in batch.actions:
                        if not self._act(action, kills, gone):
                            failed.append(action)
                    self._store.record_token(batch.token)
            except sqlite3.IntegrityError as exc:
                raise BackendError(f"Could not queue the jobs: {exc}") from None
            for key in kills:
                self._runner.kill(key)
            for key in gone:
                self._delete_spool(key)
            touched = {key for action in batch.actions if action not in failed
                       for key in self._store.job_keys(cluster=action.cluster)
                       if action.proc is None or key[1] == action.proc}
        self._runner.wake()
        if touched:
            self._leave_queue(touched)  # a removed or closed job leaves as soon as it may
        return failed

    def _place_files(self, job: NewJob) -> None:
        """Create the job's spool and link (else copy) its files in, replacing any earlier copy."""
        spool = self.spool_dir(job.cluster, job.proc)
        try:
            os.makedirs(spool, exist_ok=True)
            for name, source in job.files.items():
                place_file(source, spool, name)
        except OSError as exc:
            raise BackendError(f"Could not fill the spool of job {job.cluster}.{job.proc}: {exc}") from None

    def _insert(self, job: NewJob) -> None:
        try:
            ad = classad2.ClassAd(job.ad)
        except Exception:
            raise BackendError(f"Job {job.cluster}.{job.proc}: the ad does not parse") from None
        for name, value in (("ClusterId", job.cluster), ("ProcId", job.proc)):
            if name not in ad:
                ad[name] = value
        if states.status(ad) == states.RUNNING:  # nothing runs it yet
            ad["JobStatus"] = states.IDLE
        owner = ad.get("Owner")
        self._store.insert_job(job.cluster, job.proc, states.status(ad), owner if isinstance(owner, str) else "",
                               str(ad))

    def _act(self, action: JobAction, kills: list[Key], gone: list[Key]) -> bool:
        """Apply one action inside the apply transaction; False if it does not apply."""
        if action.kind is ActionKind.REMOVE_CLUSTER:
            for key in self._store.job_keys(cluster=action.cluster):
                self._remove(key, action, kills, gone)
            return True
        if action.proc is None:
            return False
        key = (action.cluster, action.proc)
        text = self._store.job_text(*key)
        if text is None:
            return False
        if action.kind is ActionKind.REMOVE:
            return self._remove(key, action, kills, gone)
        ad = classad2.ClassAd(text)
        now = int(time.time())
        if action.kind is ActionKind.HOLD:
            done = states.hold(ad, action.reason or "via condor-soap", now, states.HOLD_USER_REQUEST, 0,
                               action.system_hold)
            if done:
                kills.append(key)
        elif action.kind is ActionKind.RELEASE:
            done = states.release(ad, action.reason or "via condor-soap", now)
        elif action.kind is ActionKind.CLOSE_SPOOL:
            ad["FilesRetrieved"] = True
            done = True
        else:
            return False
        if done:
            self._store.save_job(*key, states.status(ad), str(ad))
        return done

    def _remove(self, key: Key, action: JobAction, kills: list[Key], gone: list[Key]) -> bool:
        ad = classad2.ClassAd(self._store.job_text(*key))
        if states.status(ad) == states.REMOVED:
            if not action.force:
                return False
            self._store.move_to_history(*key, str(ad))  # condor_rm -forcex: leave the queue now
            gone.append(key)
            kills.append(key)
            return True
        states.remove(ad, action.reason, int(time.time()))
        self._store.save_job(*key, states.status(ad), str(ad))
        kills.append(key)
        return True

    def _leave_queue(self, keys: Optional[set[Key]] = None) -> list[Key]:
        """Move finished jobs (of ``keys``; None: all) whose ``LeaveJobInQueue`` is not true
        to the history. The expression is the client's: it is judged by the constraint
        workers, within ``constraint_time_limit`` and outside every lock; a job whose
        expression cannot be judged in time stays in the queue (until a forced removal)."""
        candidates = [((cluster, proc), text) for cluster, proc, _status, text
                      in self._store.all_jobs((states.COMPLETED, states.REMOVED))
                      if (keys is None or (cluster, proc) in keys) and (cluster, proc) not in self._stuck
                      and not self._runner_live((cluster, proc))]
        gone = []
        with self._apply_lock:
            with self._store.transaction():
                for key, text in self._leaving(candidates):
                    if self._store.job_text(*key) == text and not self._runner_live(key):  # unchanged since judged
                        self._store.move_to_history(*key, text)
                        gone.append(key)
            for key in gone:
                self._delete_spool(key)
        return gone

    def _leaving(self, candidates: list[tuple[Key, str]]) -> list[tuple[Key, str]]:
        """The candidates whose LeaveJobInQueue is not true, judged in the constraint workers
        (all at once, else one by one; a job that cannot be judged is set aside for good)."""
        if not candidates:
            return []
        ads = [classad2.ClassAd(text) for _key, text in candidates]
        try:
            chosen = {id(ad) for ad in select(LEAVES_QUEUE, ads)}
            return [c for c, ad in zip(candidates, ads) if id(ad) in chosen]
        except CondorSoapError:
            pass
        leaving = []
        for candidate, ad in zip(candidates, ads):
            try:
                if select(LEAVES_QUEUE, [ad]):
                    leaving.append(candidate)
            except CondorSoapError as exc:
                log.warning("local backend: job %d.%d stays in the queue: its LeaveJobInQueue cannot be "
                            "judged (%s)", *candidate[0], exc)
                self._stuck.add(candidate[0])
        return leaving

    def _runner_live(self, key: Key) -> bool:
        runner = getattr(self, "_runner", None)
        return runner is not None and runner.is_live(key)

    def _sweep(self) -> None:
        """Runner tick: LeaveJobInQueue may depend on time, so it is re-checked periodically
        (spaced out so that a large queue costs at most ~10% of a core)."""
        if time.monotonic() < self._next_sweep:
            return
        started = time.monotonic()
        self._leave_queue()
        self._next_sweep = started + 10 * (time.monotonic() - started)

    def _delete_spool(self, key: Key) -> None:
        spool = self.spool_dir(*key)
        shutil.rmtree(spool, ignore_errors=True)
        for parent in (os.path.dirname(spool), os.path.dirname(os.path.dirname(spool))):
            try:
                os.rmdir(parent)  # only when empty: other jobs share these buckets
            except OSError:
                break

    def _recover(self) -> None:
        """After a stop or crash: kill leftover job processes, running jobs go back to idle."""
        for run in self._store.runs():
            if kill_stale_group(run.pid, run.pgid, run.start_ticks, run.boot_id):
                log.info("local backend: killed leftover process group %d of job %d.%d",
                         run.pgid, run.cluster, run.proc)
        with self._store.transaction() as db:
            now = int(time.time())
            for key in self._store.job_keys(statuses=(states.RUNNING,)):
                ad = classad2.ClassAd(self._store.job_text(*key))
                states.stopped(ad, 0)
                states.requeue(ad, now)
                self._store.save_job(*key, states.status(ad), str(ad))
            db.execute("DELETE FROM runs")

    # reads
    def jobs(self, constraint: Optional[str] = None, *, projection: Sequence[str] = (),
             limit: int = 0) -> list[classad2.ClassAd]:
        ads = [classad2.ClassAd(row[3]) for row in self._store.all_jobs()]
        return project(select(constraint, ads), projection, limit)

    def stream_jobs(self, constraint: Optional[str] = None) -> list[classad2.ClassAd]:
        return self.jobs(constraint)

    def job(self, cluster: int, proc: int) -> Optional[classad2.ClassAd]:
        text = self._store.job_text(cluster, proc)
        return classad2.ClassAd(text) if text is not None else None

    def history(self, constraint: Optional[str] = None, *, projection: Sequence[str] = (),
                limit: int = 0) -> list[classad2.ClassAd]:
        """Job ads that have left the queue, most recent first: the last ``history_size``."""
        ads = [classad2.ClassAd(text) for text in self._store.history()]
        return project(select(constraint, ads), projection, limit)

    def list_spool(self, cluster: int, proc: int) -> list[FileInfo]:
        if self._store.job_text(cluster, proc) is None:
            raise NoSuchJob(f"Job {cluster}.{proc} is not in the queue")
        try:
            entries = list(os.scandir(self.spool_dir(cluster, proc)))
        except FileNotFoundError:
            return []
        out = []
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False) and not entry.name.endswith(".condor-soap-tmp"):
                    out.append(FileInfo(entry.name, entry.stat(follow_symlinks=False).st_size))
            except OSError:
                continue  # vanished while listing
        return sorted(out, key=lambda f: f.name)

    def read_spool(self, cluster: int, proc: int, name: str, offset: int, length: int) -> bytes:
        if self._store.job_text(cluster, proc) is None:
            raise NoSuchJob(f"Job {cluster}.{proc} is not in the queue")
        return read_spool_file(self.spool_dir(cluster, proc), name, offset, length, f"{cluster}.{proc}")

    def reschedule(self) -> None:
        self._runner.wake()

    # collector
    def query_ads(self, ad_type: Optional[AdType], constraint: Optional[str] = None) -> list[classad2.ClassAd]:
        stored = [(AdType(t), classad2.ClassAd(text)) for t, _name, text in self._store.live_ads()
                  if ad_type is None or t == ad_type]
        keys = {(t, ad.get("Name")) for t, ad in stored}
        built = self._machine.build(ad_type, self.soap_address or "<127.0.0.1:0>", self._store.summary(),
                                    self._runner.running())
        ads = [ad for t, ad in built if (t, ad.get("Name")) not in keys] + [ad for _t, ad in stored]
        return select(constraint, ads)

    def advertise(self, ad_type: AdType, ad: classad2.ClassAd) -> bool:
        ad = classad2.ClassAd(str(ad))
        name = ad.get("Name")
        if not isinstance(name, str) or not name:
            raise BackendError("The ad has no Name attribute")
        if "MyType" not in ad:
            ad["MyType"] = MY_TYPES.get(AdType(ad_type), "Generic")
        lifetime = ad.get("ClassAdLifetime")  # a literal only: client expressions are not evaluated here
        if not isinstance(lifetime, (int, float)) or isinstance(lifetime, bool) or lifetime <= 0:
            lifetime = DEFAULT_AD_LIFETIME
        return self._store.put_ad(int(ad_type), name, str(ad), time.time() + lifetime)

    def configuration(self, daemon: Optional[str] = None) -> dict[str, str]:
        """This embedded pool's configuration: one process plays every daemon, so ``daemon``
        changes nothing. The service's own settings appear as their HTCondor knobs."""
        version = version_string().split()[1]
        table = {"CONDOR_VERSION": version, "FULL_HOSTNAME": socket.getfqdn(), "HOSTNAME": self._host.split(".")[0],
                 "CONDOR_HOST": self._host, "COLLECTOR_HOST": self._host, "SCHEDD_NAME": self._host,
                 "SPOOL": self._spool_root, "LOCAL_DIR": self._root, "NUM_CPUS": str(self.config.max_running_jobs),
                 "DAEMON_LIST": "MASTER, COLLECTOR, NEGOTIATOR, SCHEDD, STARTD"}
        for setting in SETTINGS:
            value = getattr(self.config, setting.name)
            if setting.knob and value is not None:
                table[setting.knob] = ", ".join(value) if isinstance(value, tuple) else str(value)
        return table

    def check(self, timeout: float) -> None:
        """The pool is this process: ready while it is open and its job runner runs."""
        if self._closed:
            raise BackendError("The local backend is closed")
        if not self._runner.alive:
            raise BackendError("The local backend's job runner has stopped; jobs would not run")

    def close(self) -> None:
        """Stop the runner (running jobs are killed and put back to idle), close the database."""
        if self._closed:
            return
        self._closed = True
        self._runner.stop()
        self._store.close()
