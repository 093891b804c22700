"""The durable state of open transactions: SQLite at ``<state_dir>/journal.sqlite3`` (WAL).

It holds each open transaction (id, owner, duration, lease deadline on the wall clock, state
``open``/``committing``), the clusters and jobs it created with each job's staged ad text,
its declared files (size, hash, staged path, byte ranges received), its pending actions and,
while committing, the serialized :class:`CommitBatch`. A restarted service reads it back and
carries on (architecture.rst, "Decisions").

One connection guarded by a lock: every statement is short, file data never passes through.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Iterator, Optional

from condor_soap.core.records import ActionKind, CommitBatch, HashType, JobAction, NewJob
from condor_soap.errors import CondorSoapError

OPEN, COMMITTING = "open", "committing"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS txn (
    id INTEGER PRIMARY KEY, duration INTEGER NOT NULL, deadline REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'open', batch TEXT, owner TEXT);
CREATE TABLE IF NOT EXISTS cluster (
    txn INTEGER NOT NULL, cluster INTEGER NOT NULL, PRIMARY KEY (txn, cluster));
CREATE TABLE IF NOT EXISTS job (
    txn INTEGER NOT NULL, cluster INTEGER NOT NULL, proc INTEGER NOT NULL, ad TEXT NOT NULL,
    submitted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (txn, cluster, proc));
CREATE TABLE IF NOT EXISTS file (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, txn INTEGER NOT NULL, cluster INTEGER NOT NULL,
    proc INTEGER NOT NULL, name TEXT NOT NULL, size INTEGER NOT NULL, hash_type INTEGER NOT NULL,
    hash TEXT, path TEXT NOT NULL, ranges TEXT NOT NULL DEFAULT '[]',
    UNIQUE (txn, cluster, proc, name));
CREATE TABLE IF NOT EXISTS action (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, txn INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY, at REAL NOT NULL);
"""
BUSY_TIMEOUT_MS = 5000  # sqlite3.connect's default: how long a statement waits for a lock


@dataclass(frozen=True)
class TxnRow:
    id: int
    duration: int
    deadline: float
    state: str
    owner: Optional[str] = None  # the user who began it (None: an anonymous caller)


@dataclass(frozen=True)
class JobRow:
    cluster: int
    proc: int
    ad: str
    submitted: bool


@dataclass(frozen=True)
class FileRow:
    """A declared file. ``ranges`` are the merged ``[start, end)`` byte ranges received."""

    cluster: int
    proc: int
    name: str
    size: int
    hash_type: HashType
    hash: Optional[str]
    path: str
    ranges: tuple[tuple[int, int], ...] = ()

    @property
    def received(self) -> int:
        return sum(end - start for start, end in self.ranges)


def merge_range(ranges: tuple[tuple[int, int], ...], start: int, end: int) -> tuple[tuple[int, int], ...]:
    """``ranges`` with ``[start, end)`` added, merged and sorted."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted([*ranges, (start, end)]):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def action_to_dict(action: JobAction) -> dict:
    body = asdict(action)
    body["kind"] = action.kind.value
    return body


def action_from_dict(body: dict) -> JobAction:
    return JobAction(**{**body, "kind": ActionKind(body["kind"])})


def encode_batch(batch: CommitBatch) -> str:
    # (not dataclasses.asdict: it deep-copies every job's ad text and files)
    return json.dumps({"token": batch.token,
                       "jobs": [{"cluster": j.cluster, "proc": j.proc, "ad": j.ad, "files": j.files}
                                for j in batch.jobs],
                       "actions": [action_to_dict(a) for a in batch.actions]})


def decode_batch(text: str) -> CommitBatch:
    body = json.loads(text)
    return CommitBatch(token=body["token"],
                       jobs=tuple(NewJob(**job) for job in body["jobs"]),
                       actions=tuple(action_from_dict(a) for a in body["actions"]))


def is_disk_full(exc: sqlite3.Error) -> bool:
    """SQLite's "database or disk is full" (SQLITE_FULL), or an I/O error from ENOSPC."""
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(exc)


class Journal:
    """SQLite store of open transactions. Thread-safe."""

    def __init__(self, path: str) -> None:
        self.path = path
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.directory = os.path.dirname(os.path.abspath(path))
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(txn)")}
        self.legacy_owners = "owner" not in columns  # a journal from before owners were kept in it
        if self.legacy_owners:
            self._db.execute("ALTER TABLE txn ADD COLUMN owner TEXT")

    @contextmanager
    def _tx(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction, all or nothing. ``durable=False`` skips the fsync (SQLite's
        ``NORMAL``): the write survives a crash of the service, not a power cut; the next
        durable write syncs it too. For what is written once per chunk or call (ranges
        received, lease renewals): the staged data itself is synced only at commit, so its
        journal needs no more. A full disk is FAIL naming it (the transaction is rolled back,
        also when the COMMIT itself failed, so the journal goes on once space is freed)."""
        with self._lock:
            if not durable:
                self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as exc:
                if is_disk_full(exc):
                    raise CondorSoapError(f"No space left for the service's journal in {self.directory} "
                                          f"({exc}): free some space there") from exc
                raise
            finally:
                if not durable:
                    self._db.execute("PRAGMA synchronous=FULL")

    def _all(self, sql: str, *args) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # health and figures
    def check_writable(self, timeout: float) -> None:
        """Commit one durable write now, waiting at most ``timeout`` seconds for another
        writer's lock; raises :class:`sqlite3.Error` or :class:`OSError` if it cannot."""
        with self._lock:
            self._db.execute(f"PRAGMA busy_timeout = {max(1, int(timeout * 1000))}")
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._db.execute("INSERT OR REPLACE INTO probe (id, at) VALUES (1, ?)", (time.time(),))
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
            finally:
                self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    def figures(self) -> tuple[int, int, int]:
        """(open transactions, committing transactions, bytes received into declared files)."""
        states = dict(self._all("SELECT state, COUNT(*) FROM txn GROUP BY state"))
        received = sum(end - start for (ranges,) in self._all("SELECT ranges FROM file")
                       for start, end in json.loads(ranges))
        return states.get(OPEN, 0), states.get(COMMITTING, 0), received

    # transactions
    def add_txn(self, txn: int, duration: int, deadline: float, owner: Optional[str] = None) -> bool:
        """Record a new open transaction of ``owner``; False if the id is taken."""
        with self._tx() as db:
            if db.execute("SELECT 1 FROM txn WHERE id=?", (txn,)).fetchone():
                return False
            db.execute("INSERT INTO txn (id, duration, deadline, owner) VALUES (?,?,?,?)",
                       (txn, duration, deadline, owner))
            return True

    def set_owner(self, txn: int, owner: Optional[str]) -> None:
        with self._tx() as db:
            db.execute("UPDATE txn SET owner=? WHERE id=?", (owner, txn))

    def txn(self, txn: int) -> Optional[TxnRow]:
        rows = self._all("SELECT id, duration, deadline, state, owner FROM txn WHERE id=?", txn)
        return TxnRow(*rows[0]) if rows else None

    def txns(self) -> list[TxnRow]:
        return [TxnRow(*row) for row in self._all("SELECT id, duration, deadline, state, owner FROM txn")]

    def set_lease(self, txn: int, duration: int, deadline: float) -> None:
        with self._tx(durable=False) as db:
            db.execute("UPDATE txn SET duration=?, deadline=? WHERE id=?", (duration, deadline, txn))

    def delete_txn(self, txn: int) -> None:
        """Forget a transaction and everything it holds."""
        with self._tx() as db:
            for table in ("cluster", "job", "file", "action"):
                db.execute(f"DELETE FROM {table} WHERE txn=?", (txn,))
            db.execute("DELETE FROM txn WHERE id=?", (txn,))

    def mark_committing(self, txn: int, batch: CommitBatch) -> None:
        with self._tx() as db:
            db.execute("UPDATE txn SET state=?, batch=? WHERE id=?", (COMMITTING, encode_batch(batch), txn))

    def reopen(self, txn: int) -> None:
        """Back to ``open`` after a commit that applied nothing."""
        with self._tx() as db:
            db.execute("UPDATE txn SET state=?, batch=NULL WHERE id=?", (OPEN, txn))

    def batch(self, txn: int) -> Optional[CommitBatch]:
        rows = self._all("SELECT batch FROM txn WHERE id=? AND state=?", txn, COMMITTING)
        return decode_batch(rows[0][0]) if rows and rows[0][0] else None

    # clusters and jobs
    def add_cluster(self, txn: int, cluster: int) -> None:
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO cluster VALUES (?,?)", (txn, cluster))

    def clusters(self, txn: int) -> list[int]:
        return [row[0] for row in self._all("SELECT cluster FROM cluster WHERE txn=?", txn)]

    def has_cluster(self, txn: int, cluster: int) -> bool:
        return bool(self._all("SELECT 1 FROM cluster WHERE txn=? AND cluster=?", txn, cluster))

    def add_job(self, txn: int, cluster: int, ad_for_proc) -> int:
        """Allocate the cluster's next proc id (0, 1, ...) and store ``ad_for_proc(proc)``."""
        with self._tx() as db:
            (last,) = db.execute("SELECT MAX(proc) FROM job WHERE txn=? AND cluster=?",
                                 (txn, cluster)).fetchone()
            proc = 0 if last is None else last + 1
            db.execute("INSERT INTO job (txn, cluster, proc, ad) VALUES (?,?,?,?)",
                       (txn, cluster, proc, ad_for_proc(proc)))
            return proc

    def job(self, txn: int, cluster: int, proc: int) -> Optional[JobRow]:
        rows = self._all("SELECT cluster, proc, ad, submitted FROM job WHERE txn=? AND cluster=? AND proc=?",
                         txn, cluster, proc)
        return JobRow(*rows[0][:3], bool(rows[0][3])) if rows else None

    def jobs(self, txn: int) -> list[JobRow]:
        rows = self._all("SELECT cluster, proc, ad, submitted FROM job WHERE txn=? ORDER BY cluster, proc", txn)
        return [JobRow(c, p, ad, bool(s)) for c, p, ad, s in rows]

    def save_job(self, txn: int, cluster: int, proc: int, ad: str, submitted: bool) -> None:
        with self._tx() as db:
            db.execute("UPDATE job SET ad=?, submitted=? WHERE txn=? AND cluster=? AND proc=?",
                       (ad, int(submitted), txn, cluster, proc))

    def delete_jobs(self, txn: int, cluster: int, proc: Optional[int] = None) -> None:
        """Drop a pending job (or all of a cluster's) with its declared files and actions."""
        where, args = ("cluster=?", (txn, cluster)) if proc is None else ("cluster=? AND proc=?", (txn, cluster, proc))
        with self._tx() as db:
            db.execute(f"DELETE FROM job WHERE txn=? AND {where}", args)
            db.execute(f"DELETE FROM file WHERE txn=? AND {where}", args)

    # files
    def add_file(self, txn: int, row: FileRow) -> bool:
        """Record a declaration; False if that name is already declared for the job."""
        with self._tx() as db:
            try:
                db.execute("INSERT INTO file (txn, cluster, proc, name, size, hash_type, hash, path, ranges)"
                           " VALUES (?,?,?,?,?,?,?,?,?)",
                           (txn, row.cluster, row.proc, row.name, row.size, int(row.hash_type), row.hash,
                            row.path, json.dumps(row.ranges)))
            except sqlite3.IntegrityError:
                return False
            return True

    def files(self, txn: int, cluster: Optional[int] = None, proc: Optional[int] = None) -> list[FileRow]:
        """Declared files in declaration order, of one job or of the whole transaction."""
        sql = "SELECT cluster, proc, name, size, hash_type, hash, path, ranges FROM file WHERE txn=?"
        args: tuple = (txn,)
        if cluster is not None:
            sql, args = sql + " AND cluster=? AND proc=?", (txn, cluster, proc)
        return [FileRow(c, p, n, s, HashType(h), hs, path, tuple(tuple(r) for r in json.loads(rg)))
                for c, p, n, s, h, hs, path, rg in self._all(sql + " ORDER BY seq", *args)]

    def file(self, txn: int, cluster: int, proc: int, name: str) -> Optional[FileRow]:
        return next((f for f in self.files(txn, cluster, proc) if f.name == name), None)

    def add_range(self, txn: int, cluster: int, proc: int, name: str, start: int, end: int) -> None:
        with self._tx(durable=False) as db:
            row = db.execute("SELECT ranges FROM file WHERE txn=? AND cluster=? AND proc=? AND name=?",
                             (txn, cluster, proc, name)).fetchone()
            if row is None:
                return
            ranges = merge_range(tuple(tuple(r) for r in json.loads(row[0])), start, end)
            db.execute("UPDATE file SET ranges=? WHERE txn=? AND cluster=? AND proc=? AND name=?",
                       (json.dumps(ranges), txn, cluster, proc, name))

    # actions
    def add_action(self, txn: int, action: JobAction) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO action (txn, body) VALUES (?,?)", (txn, json.dumps(action_to_dict(action))))

    def actions(self, txn: int) -> list[JobAction]:
        return [action_from_dict(json.loads(body))
                for (body,) in self._all("SELECT body FROM action WHERE txn=? ORDER BY seq", txn)]
