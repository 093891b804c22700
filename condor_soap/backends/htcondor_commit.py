"""The htcondor backend's commit: a batch's jobs queued held, spooled, released together (or
removed), then its actions through ``Schedd.act`` / ``Schedd.edit``. A mixin of
:class:`~condor_soap.backends.htcondor.HTCondorBackend` (uses its ``_schedd``/``_failures``)."""
from __future__ import annotations

import logging
import os
import shutil
import time
from typing import Any, Optional

import classad2
import htcondor2

from condor_soap.backends import htcondor_submit as subm
from condor_soap.backends.base import place_file
from condor_soap.core.ports import BackendError
from condor_soap.backends.htcondor_state import QUEUEING, UNDO
from condor_soap.core.records import ActionKind, CommitBatch, JobAction, NewJob

log = logging.getLogger(__name__)

HELD, REMOVED, COMPLETED = 5, 3, 4
SPOOLING_INPUT = 16  # HoldReasonCode while the schedd waits for Schedd.spool()


def _no_reason(code: Any) -> bool:
    return code is None or isinstance(code, classad2.Value)


def _count(result: Optional[classad2.ClassAd]) -> int:
    return int(result.get("TotalSuccess", 0)) if result is not None else 0


class CommitMixin:
    """Queue changes of :class:`HTCondorBackend` (see its docstring for the design)."""

    _state: Any
    stage_timeout: float
    _schedd: Any
    _failures: Any
    _schedd_ad: Any
    _host_dir: Any
    _lock: Any
    _committing: set[str]

    def _queue_jobs(self, batch: CommitBatch) -> None:
        """Queue every job of ``batch`` held, spool, then release them all; or leave nothing."""
        token = batch.token
        with self._lock:
            self._committing.add(token)
        try:
            self._queue_jobs_of(batch)
        finally:
            with self._lock:
                self._committing.discard(token)

    def _queue_jobs_of(self, batch: CommitBatch) -> None:
        token = batch.token
        started_before = self._state.token_stage(token) == QUEUEING
        try:
            if self._resume(batch):
                return
        except BackendError as exc:
            if started_before:  # jobs of an earlier attempt may be queued: never "nothing applied"
                raise RuntimeError(f"commit {token} interrupted, will be retried: {exc}") from exc
            raise
        self._state.set_token_stage(token, QUEUEING)
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
                place_file(source, host_dir, name)
        except OSError as exc:
            raise BackendError(f"Could not prepare the files of job {job.cluster}.{job.proc}: {exc}") from None

    def _token_jobs(self, token: str, projection: list[str]) -> list[classad2.ClassAd]:
        constraint = f"{subm.TOKEN_ATTR} == {classad2.quote(token)}"
        return self._schedd(lambda s: s.query(constraint, projection), "Could not read the queue")

    def _wait_spooled(self, token: str, count: int) -> None:
        """Until the schedd finished every stage-in: every job held again, not for spooling
        (its release after the stage-in passes through other states before JobStatusOnRelease
        holds it). Each poll asks for one job not there yet, not for the whole batch."""
        deadline = time.monotonic() + self.stage_timeout
        waiting = (f"{subm.TOKEN_ATTR} == {classad2.quote(token)} && "
                   f"!(JobStatus == {HELD} && HoldReasonCode =!= {SPOOLING_INPUT})")
        while self._schedd(lambda s: s.query(waiting, ["ClusterId"], limit=1), "Could not read the queue"):
            if time.monotonic() > deadline:
                raise BackendError(f"The schedd did not finish receiving the input files within "
                                   f"{self.stage_timeout:.0f} s")
            time.sleep(0.05)
        queued = len(self._token_jobs(token, ["ClusterId"]))
        if queued != count:
            raise BackendError(f"{queued} of the {count} jobs submitted are in the queue")

    def _release_batch(self, token: str, count: int) -> None:
        constraint = f"{subm.TOKEN_ATTR} == {classad2.quote(token)} && JobStatus == {HELD}"
        result = self._schedd(lambda s: s.act(htcondor2.JobAction.Release, constraint,
                                              ("condor-soap: transaction committed", None)),
                              "Could not release the committed jobs", retry=False)
        if _count(result) != count:
            raise BackendError(f"Only {_count(result)} of {count} committed jobs could be released")

    def _undo(self, token: str) -> bool:
        """Remove everything of this batch from the queue and forget it; True if done. If the
        schedd cannot be asked (it is gone), the token is kept as ``undo``: its jobs are
        hidden and :meth:`_retry_undos` removes them once the schedd answers again."""
        constraint = f"{subm.TOKEN_ATTR} == {classad2.quote(token)}"
        removed = True
        for action in (htcondor2.JobAction.Remove, htcondor2.JobAction.RemoveX):
            try:
                self._schedd(lambda s: s.act(action, constraint, ("condor-soap: transaction failed", None)),
                             "Could not remove a failed transaction's jobs")
            except BackendError as exc:
                log.warning("could not remove the jobs of failed batch %s yet: %s", token, exc)
                removed = False
        for cluster, proc in self._state.forget_token_jobs(token):
            shutil.rmtree(self._host_dir(cluster, proc), ignore_errors=True)
        if removed:
            self._state.forget_token(token)
        else:
            self._state.set_token_stage(token, UNDO)
        return removed

    def _retry_undos(self) -> None:
        """Remove the jobs of failed batches the schedd could not be asked to remove before."""
        for token in self._state.undoing():
            if self._undo(token):
                log.info("removed the jobs of failed batch %s", token)

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
            if not self._undo(batch.token):
                raise BackendError("The schedd could not remove the part of the batch queued before a crash")
            return False
        self._state.add_jobs(batch.token, found.items())  # type: ignore[arg-type]
        # held by the service's own JobStatusOnRelease, not for a reason (a projection shows
        # the missing HoldReasonCode as UNDEFINED: until this was seen, a batch spooled before
        # a crash stayed held for good)
        held = sum(1 for ad in ads if ad.get("JobStatus") == HELD and _no_reason(ad.get("HoldReasonCode")))
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
