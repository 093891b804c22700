"""Changes to the job queue, for watchers (the REST face's ``/v1/jobs/watch``).

While at least one watcher is subscribed, one thread polls the backend's queue every
``interval`` seconds, compares each job's ad with the previous poll, and appends what changed
to a bounded in-memory log: a :class:`Change` per job that appeared, changed or left, each
with a sequence number. Watchers read the log from the sequence number they have seen, so one
poll serves every watcher, and a watcher that reconnects with its last number misses nothing
while the log still holds it (:meth:`JobChanges.since` tells when it no longer does, or when
the number is from another run of the service: ``epoch`` differs).

Polling rather than the schedd's event log: both backends answer ``jobs()``, and a poll of the
whole queue costs what one ``getJobAds`` of it costs (docs/rest.rst, "Watch").
"""
from __future__ import annotations

import collections
import logging
import secrets
import threading
from dataclasses import dataclass
from typing import Callable, Optional

import classad2

from condor_soap.errors import PoolError

log = logging.getLogger(__name__)
Key = tuple[int, int]
#: Attributes that change on every read without the job changing (the schedd adds ServerTime).
VOLATILE = ("ServerTime",)


@dataclass(frozen=True)
class Change:
    """Job ``key`` appeared or changed (``ad``: its ad now) or left the queue (``ad`` None)."""

    seq: int
    key: Key
    ad: Optional[classad2.ClassAd]


class JobChanges:
    """The change log. Thread-safe; the poll thread runs only while someone is subscribed."""

    def __init__(self, read: Callable[[], list[classad2.ClassAd]], interval: float = 2.0,
                 keep: int = 100_000) -> None:
        self.epoch = secrets.token_hex(4)  # this run's; sequence numbers restart with the service
        self._read = read
        self._interval = interval
        self._log: collections.deque[Change] = collections.deque(maxlen=keep)
        self._seq = 0
        self._texts: dict[Key, str] = {}
        self._ads: dict[Key, classad2.ClassAd] = {}
        self._polled = False
        self._subscribers = 0
        self._cond = threading.Condition()
        self._thread: Optional[threading.Thread] = None
        self._closed = False

    # subscription
    def subscribe(self) -> None:
        """Count a watcher in (polling now if nothing was polled yet); :meth:`unsubscribe` after."""
        with self._cond:
            if self._closed:
                raise PoolError("The service is shutting down")
            self._subscribers += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="condor-soap-watch", daemon=True)
                self._thread.start()
            while not self._polled and not self._closed:
                self._cond.wait(0.1)

    def unsubscribe(self) -> None:
        with self._cond:
            self._subscribers -= 1
            if not self._subscribers:
                self._polled = False  # the log keeps its numbers; the state is refreshed next time
                self._cond.notify_all()

    def close(self) -> None:
        """Stop polling and wake every watcher (they end their streams)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(10)

    @property
    def closed(self) -> bool:
        return self._closed

    # reading
    def snapshot(self) -> tuple[int, list[classad2.ClassAd]]:
        """(the last sequence number, every queued job's ad as of then)."""
        with self._cond:
            return self._seq, list(self._ads.values())

    def since(self, seq: int) -> Optional[list[Change]]:
        """The changes after ``seq``; None when the log no longer reaches back that far."""
        with self._cond:
            if seq > self._seq or (self._log and seq < self._log[0].seq - 1) or (not self._log and seq != self._seq):
                return None
            return [c for c in self._log if c.seq > seq]

    def wait(self, seq: int, timeout: float) -> list[Change]:
        """The changes after ``seq``, waiting up to ``timeout`` seconds for one ([] if none,
        or once closed)."""
        with self._cond:
            self._cond.wait_for(lambda: self._seq > seq or self._closed, timeout)
            return [c for c in self._log if c.seq > seq] if not self._closed else []

    # polling
    def _run(self) -> None:
        while True:
            with self._cond:
                if self._closed:
                    return
                if not self._subscribers:
                    self._thread = None
                    return
            try:
                self._poll()
            except Exception:  # the pool may be down for a while: keep trying
                log.warning("watch: polling the queue failed", exc_info=True)
            with self._cond:
                self._polled = True
                self._cond.notify_all()
                self._cond.wait(self._interval)

    def _poll(self) -> None:
        ads = self._read()
        now: dict[Key, tuple[str, classad2.ClassAd]] = {}
        for ad in ads:
            try:
                key = (int(ad["ClusterId"]), int(ad["ProcId"]))
            except (KeyError, TypeError, ValueError):
                continue
            for name in VOLATILE:
                if name in ad:
                    del ad[name]
            now[key] = (str(ad), ad)
        with self._cond:
            changes = []
            for key, (text, ad) in now.items():
                if self._texts.get(key) != text:
                    changes.append((key, ad))
            changes += [(key, None) for key in self._texts if key not in now]
            for key, ad in changes:
                self._seq += 1
                self._log.append(Change(self._seq, key, ad))
            self._texts = {key: text for key, (text, _) in now.items()}
            self._ads = {key: ad for key, (_, ad) in now.items()}
            if changes:
                self._cond.notify_all()
