"""``GET /v1/jobs/watch``: the queue's changes as Server-Sent Events.

Events (each ``data`` is JSON; ``id`` is ``<epoch>:<sequence>``, see :mod:`condor_soap.core.watch`):

* ``reset``: forget what you knew; the current state follows as ``job`` events (sent first,
  and again when a resumption point is too old or from another run of the service);
* ``job``: ``{"jobid", "classad"}``, a job that matches as it is now (upsert it);
* ``removed``: ``{"jobid"}``, a job that left the queue or stopped matching;
* ``end``: the stream's time (``watch_max_seconds``) is up, or the service is stopping:
  reconnect (EventSource does).

A quiet stream carries a comment every ``watch_heartbeat`` seconds. A stream holds one waitress
worker thread, so at most ``max_watchers`` run at once (more: 503 with ``Retry-After``) and
each ends after ``watch_max_seconds``; a reconnecting client sends ``Last-Event-ID`` (or the
``last_event_id`` parameter) and misses nothing the log still holds.
"""
from __future__ import annotations

import json
import time
from typing import Iterator, Optional

import classad2
import falcon

from condor_soap.calls import CallRecord, Calls
from condor_soap.core.constraints import check as check_constraint
from condor_soap.core.policy import ANONYMOUS
from condor_soap.core.watch import Change
from condor_soap.environ import CALLER_KEY
from condor_soap.rest.api import Api, param, projection
from condor_soap.rest.classad_json import ad_json
from condor_soap.rest.routes import Param, Reply, Route


def _event(kind: str, data: str, event_id: Optional[str] = None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {kind}\ndata: {data}\n\n"


def _job(ad: classad2.ClassAd, keep: list[str]) -> tuple[str, str]:
    """(job id, the job event's data)."""
    job_id = f"{ad.get('ClusterId')}.{ad.get('ProcId')}"
    if keep:
        for name in ("clusterid", "procid"):
            if name not in keep and name in ad:
                del ad[name]
    return job_id, f'{{"jobid": "{job_id}", "classad": {ad_json(ad, one_line=True)}}}'


class _Stream:
    """The event stream as a WSGI iterable whose ``close()`` (called by the server however
    the response ends, even unread) gives the watcher's slot back."""

    def __init__(self, api: Api, events: Iterator[bytes]) -> None:
        self._api = api
        self._events = events
        self._open = True

    def __iter__(self) -> Iterator[bytes]:
        return self._events

    def close(self) -> None:
        if self._open:
            self._open = False
            self._events.close()  # type: ignore[attr-defined]
            self._api.schedd.changes.unsubscribe()
            self._api.watch_slots.release()


def _resume_point(api: Api, req: falcon.Request) -> Optional[int]:
    """The sequence number to resume after, if the client's last event id is from this run."""
    last = req.get_header("Last-Event-ID") or param(req, "last_event_id")
    epoch, _, seq = (last or "").partition(":")
    if epoch != api.schedd.changes.epoch or not seq.isdigit():
        return None
    return int(seq)


def watch(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord) -> None:
    constraint = param(req, "constraint") or "true"
    check_constraint(constraint)
    wanted = projection(req)
    if not api.config.max_watchers or not api.watch_slots.acquire(blocking=False):
        raise falcon.HTTPServiceUnavailable(
            description=f"{api.config.max_watchers} watch streams are open (max_watchers): retry later",
            retry_after=max(1, int(api.config.watch_heartbeat)))
    try:
        api.schedd.changes.subscribe()
    except BaseException:
        api.watch_slots.release()
        raise
    resp.content_type = "text/event-stream"
    resp.set_header("Cache-Control", "no-cache")
    resp.set_header("X-Accel-Buffering", "no")  # nginx: pass events through at once
    who = req.env.get(CALLER_KEY, ANONYMOUS)
    events = _events(api, constraint, wanted, _resume_point(api, req))
    resp.stream = _Stream(api, (piece.encode() for piece in Calls.bound(who, events)))


def _events(api: Api, constraint: str, keep: list[str], resume: Optional[int]) -> Iterator[str]:
    changes = api.schedd.changes
    epoch = changes.epoch
    yield f"retry: {int(api.config.watch_interval * 1000)}\n\n"
    backlog = changes.since(resume) if resume is not None else None
    known: Optional[set[str]] = None  # after a resumption what the client had is unknown
    if backlog is None:
        seq, ads = changes.snapshot()
        known = set()
        yield _event("reset", "{}", f"{epoch}:{seq}")
        for ad in api.schedd.visible(ads, constraint, keep):
            job_id, data = _job(ad, keep)
            known.add(job_id)
            yield _event("job", data, f"{epoch}:{seq}")
    else:
        yield from _batch(api, backlog, constraint, keep, known, epoch)
        seq = backlog[-1].seq if backlog else resume or 0
    deadline = time.monotonic() + api.config.watch_max_seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or changes.closed:
            yield _event("end", json.dumps({"reconnect": True}))
            return
        batch = changes.wait(seq, min(api.config.watch_heartbeat, left))
        if batch:
            yield from _batch(api, batch, constraint, keep, known, epoch)
            seq = batch[-1].seq
        elif not changes.closed:
            yield ": keep-alive\n\n"


def _batch(api: Api, batch: list[Change], constraint: str, keep: list[str], known: Optional[set[str]],
           epoch: str) -> Iterator[str]:
    """The events of ``batch``: a job event per change that matches now, a removal for a job
    that no longer does (if the watcher had it: ``known`` None means it may have)."""
    present = [c.ad for c in batch if c.ad is not None]
    shown = {(int(ad["ClusterId"]), int(ad["ProcId"])): ad for ad in api.schedd.visible(present, constraint, keep)}
    for change in batch:
        job_id = f"{change.key[0]}.{change.key[1]}"
        ad = shown.get(change.key)
        if ad is not None:
            if known is not None:
                known.add(job_id)
            yield _event("job", _job(ad, keep)[1], f"{epoch}:{change.seq}")
        elif known is None or job_id in known:
            if known is not None:
                known.discard(job_id)
            yield _event("removed", json.dumps({"jobid": job_id}), f"{epoch}:{change.seq}")


ROUTES = [
    Route("GET", "/v1/jobs/watch", "watchJobs", "Changes of the jobs matching a constraint, as Server-Sent Events",
          watch, "jobs",
          (Param("constraint", "the jobs to watch (default true)"),
           Param("projection", "comma-separated attributes of each job event"),
           Param("last_event_id", "resume after this event (as the Last-Event-ID header)")),
          replies={200: Reply("events: reset, job, removed, end", "events"),
                   400: Reply("bad constraint or projection", "Error"),
                   503: Reply("max_watchers streams are open: retry after Retry-After", "Error")}),
]
