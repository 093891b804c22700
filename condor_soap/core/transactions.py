"""The lease table: which transactions are open, their leases, and one lock per transaction.

Leases follow architecture.rst ("Decisions"): every call carrying a transaction resets the
lease to that element's ``duration`` (a missing one reuses the stored duration, ``< 1`` is
FAIL "Could not extend transaction", spec §4.1 step 5); ``max_transaction_duration`` caps every
lease. Deadlines are wall-clock times kept in the journal, so they survive a restart.

Calls on one transaction are serialized by its lock; different transactions run in parallel.

A transaction belongs to the user who began it (:func:`~condor_soap.core.policy.caller`):
another caller using its id gets INVALIDTRANSACTION, as if it did not exist (administrators
excepted). The owner is written in the same journal row as the transaction, so no crash can
leave a transaction without its owner.
"""
from __future__ import annotations

import logging
import os
import random
import threading
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

from condor_soap.core.journal import OPEN, Journal
from condor_soap.core.policy import caller
from condor_soap.core.records import TxnRef
from condor_soap.core.staging import Staging
from condor_soap.errors import CondorSoapError, InvalidTransaction, LimitExceeded

log = logging.getLogger(__name__)


class TransactionTable:
    """Open transactions, backed by the journal. Thread-safe."""

    def __init__(self, journal: Journal, staging: Staging, clock: Callable[[], float],
                 max_duration: int = -1,
                 unused_clusters: Callable[[list[int]], None] = lambda clusters: None,
                 max_per_user: int = 0) -> None:
        self.journal = journal
        self.staging = staging
        self.clock = clock
        self.max_duration = max_duration
        self.unused_clusters = unused_clusters  # told the cluster ids a finished transaction never used
        self._locks: dict[int, threading.RLock] = {}
        self._guard = threading.Lock()
        self._random = random.SystemRandom()
        self.max_per_user = max_per_user  # open transactions per authenticated user (0: any)
        self._guard_begin = threading.Lock()  # count-then-add of the per-user limit

    # ownership
    def owner(self, txn: int) -> Optional[str]:
        """Who began ``txn`` (None: an anonymous caller, or no such transaction)."""
        row = self.journal.txn(txn)
        return row.owner if row else None

    def open_count(self, owner: str) -> int:
        return sum(1 for row in self.journal.txns() if row.state == OPEN and row.owner == owner)

    def adopt_legacy_owners(self) -> None:
        """A journal from before owners were journaled: read them from ``staging/<id>/owner``."""
        for row in self.journal.txns():
            try:
                with open(os.path.join(self.staging.root, str(row.id), "owner"), encoding="utf-8") as f:
                    self.journal.set_owner(row.id, f.read().strip() or None)
            except FileNotFoundError:
                pass

    def cap(self, duration: int) -> int:
        """``duration`` limited by ``max_transaction_duration`` (when > 0)."""
        return min(duration, self.max_duration) if self.max_duration > 0 else duration

    def lock(self, txn: int) -> threading.RLock:
        with self._guard:
            return self._locks.setdefault(txn, threading.RLock())

    def begin(self, duration: int) -> TxnRef:
        """Open a transaction with a random non-zero int32 id (spec §6 row 14), owned by the
        caller; an authenticated user has at most ``max_per_user`` open at once."""
        user = caller().user
        if user is not None and self.max_per_user > 0:
            with self._guard_begin:
                if self.open_count(user) >= self.max_per_user:
                    raise LimitExceeded(f"User '{user}' already has {self.max_per_user} open transactions, "
                                        "the limit (max_transactions_per_user)")
                return self._begin(duration, user)
        return self._begin(duration, user)

    def _begin(self, duration: int, user: Optional[str]) -> TxnRef:
        duration = max(1, self.cap(duration))
        while True:
            txn = self._random.randint(-2**31, 2**31 - 1)
            if txn and self.journal.add_txn(txn, duration, self.clock() + duration, user):
                return TxnRef(txn, duration)

    @contextmanager
    def enter(self, ref: Optional[TxnRef], required: bool, reset: bool = True) -> Iterator[Optional[int]]:
        """The per-call prologue (spec §4.1): check the transaction, reset its lease and hold
        its lock for the call. Yields the id, or None for a call without one."""
        if ref is None or ref.id == 0:
            if required:
                raise InvalidTransaction()
            yield None
            return
        with self.lock(ref.id):
            row = self.journal.txn(ref.id)
            if row is None or row.state != OPEN:
                raise InvalidTransaction()
            who = caller()
            if not who.admin and row.owner != who.user:
                raise InvalidTransaction()  # someone else's: as if it did not exist
            if row.deadline <= self.clock():
                self.discard(ref.id)
                raise InvalidTransaction()
            if reset:
                duration = row.duration if ref.duration is None else ref.duration
                if duration < 1:
                    raise CondorSoapError("Could not extend transaction")
                self.extend(ref.id, duration)
            yield ref.id

    def extend(self, txn: int, duration: int) -> int:
        """Reset the lease to ``duration`` (capped) seconds from now and store it."""
        duration = self.cap(duration)
        self.journal.set_lease(txn, duration, self.clock() + duration)
        return duration

    def discard(self, txn: int, used_clusters: frozenset[int] = frozenset()) -> None:
        """Forget ``txn`` (aborted, expired or committed) and delete its staged files; the
        caller holds its lock. Its clusters other than ``used_clusters`` (those a commit
        queued jobs in) are reported unused."""
        unused = sorted(set(self.journal.clusters(txn)) - used_clusters)
        self.journal.delete_txn(txn)
        self.staging.remove_txn(txn)
        with self._guard:
            self._locks.pop(txn, None)
        if unused:
            try:
                self.unused_clusters(unused)
            except Exception:  # only a hint for id prediction: never fails an abort
                log.exception("reporting unused clusters %s", unused)

    def reap(self) -> list[int]:
        """Abort every open transaction whose lease ran out; returns their ids."""
        now = self.clock()
        reaped = []
        for row in self.journal.txns():
            if row.state != OPEN or row.deadline > now:
                continue
            lock = self.lock(row.id)
            if not lock.acquire(blocking=False):
                continue  # in a call right now; that call checks expiry itself
            try:
                current = self.journal.txn(row.id)
                if current and current.state == OPEN and current.deadline <= self.clock():
                    self.discard(row.id)
                    reaped.append(row.id)
            finally:
                lock.release()
        if reaped:
            log.info("transactions expired: %s", ", ".join(map(str, reaped)))
        return reaped
