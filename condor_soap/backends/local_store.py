"""The local backend's durable state: one SQLite database (WAL) holding the job queue, the
history, applied commit tokens, the cluster counter, process records and collector ads.

One connection guarded by one lock: every public method and every :meth:`Store.transaction`
block is serialised, which keeps read-modify-write of job ads atomic across waitress threads
and the runner thread.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Iterator, Optional

from condor_soap.core.ports import BackendError

def is_disk_full(exc: sqlite3.Error) -> bool:
    """SQLite's "database or disk is full" (SQLITE_FULL)."""
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(exc)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    cluster INTEGER NOT NULL, proc INTEGER NOT NULL, status INTEGER NOT NULL, owner TEXT NOT NULL,
    ad TEXT NOT NULL, PRIMARY KEY (cluster, proc));
CREATE TABLE IF NOT EXISTS history (
    cluster INTEGER NOT NULL, proc INTEGER NOT NULL, ad TEXT NOT NULL, left_at REAL NOT NULL,
    PRIMARY KEY (cluster, proc));
CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, applied_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    cluster INTEGER NOT NULL, proc INTEGER NOT NULL, pid INTEGER NOT NULL, pgid INTEGER NOT NULL,
    start_ticks INTEGER, boot_id TEXT, PRIMARY KEY (cluster, proc));
CREATE TABLE IF NOT EXISTS ads (
    ad_type INTEGER NOT NULL, name TEXT NOT NULL, ad TEXT NOT NULL, expires REAL NOT NULL,
    PRIMARY KEY (ad_type, name));
"""


@dataclass(frozen=True)
class RunRecord:
    """The process a job was started as, enough to recognise it after a restart."""

    cluster: int
    proc: int
    pid: int
    pgid: int
    start_ticks: Optional[int]
    boot_id: Optional[str]


class Store:
    """SQLite access for the local backend. Thread-safe."""

    def __init__(self, path: str, history_size: int = 10000) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a commit the core was told about must survive power loss
        self._db.executescript(_SCHEMA)
        self._depth = 0
        self.history_size = history_size

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock and one SQLite write transaction (nested use joins the outer one)."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._db
                finally:
                    self._depth -= 1
                return
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._depth = 1
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:  # also when the COMMIT itself failed
                        self._db.execute("ROLLBACK")
                    raise
                finally:
                    self._depth = 0
            except sqlite3.OperationalError as exc:
                if is_disk_full(exc):
                    raise BackendError(f"No space left for the job queue in {os.path.dirname(self.path)} "
                                       f"({exc}): free some space there") from exc
                raise

    # cluster ids and tokens
    def new_cluster_id(self) -> int:
        with self.transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE key='next_cluster'").fetchone()
            value = row[0] if row else 1
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('next_cluster', ?)", (value + 1,))
            return value

    def token_applied(self, token: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM tokens WHERE token=?", (token,)).fetchone() is not None

    def record_token(self, token: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO tokens (token, applied_at) VALUES (?, ?)", (token, time.time()))

    # jobs
    def insert_job(self, cluster: int, proc: int, status: int, owner: str, ad: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO jobs (cluster, proc, status, owner, ad) VALUES (?, ?, ?, ?, ?)",
                       (cluster, proc, status, owner, ad))

    def save_job(self, cluster: int, proc: int, status: int, ad: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE jobs SET status=?, ad=? WHERE cluster=? AND proc=?", (status, ad, cluster, proc))

    def job_text(self, cluster: int, proc: int) -> Optional[str]:
        with self._lock:
            row = self._db.execute("SELECT ad FROM jobs WHERE cluster=? AND proc=?", (cluster, proc)).fetchone()
            return row[0] if row else None

    def job_keys(self, cluster: Optional[int] = None, statuses: Optional[tuple[int, ...]] = None) -> list[tuple[int, int]]:
        """Queued (cluster, proc) pairs in job order, optionally of one cluster / some statuses."""
        sql, args = "SELECT cluster, proc FROM jobs WHERE 1", []
        if cluster is not None:
            sql += " AND cluster=?"
            args.append(cluster)
        if statuses is not None:
            sql += f" AND status IN ({','.join('?' * len(statuses))})"
            args.extend(statuses)
        with self._lock:
            return [tuple(r) for r in self._db.execute(sql + " ORDER BY cluster, proc", args)]

    def all_jobs(self, statuses: Optional[tuple[int, ...]] = None) -> list[tuple[int, int, int, str]]:
        """(cluster, proc, status, ad text) of every queued job (of some statuses), in job order."""
        sql, args = "SELECT cluster, proc, status, ad FROM jobs", ()
        if statuses is not None:
            sql, args = sql + f" WHERE status IN ({','.join('?' * len(statuses))})", statuses
        with self._lock:
            return [tuple(r) for r in self._db.execute(sql + " ORDER BY cluster, proc", args)]

    def summary(self) -> list[tuple[int, int, int, str]]:
        """(cluster, proc, status, owner) of every queued job, without parsing ads."""
        with self._lock:
            return [tuple(r) for r in self._db.execute(
                "SELECT cluster, proc, status, owner FROM jobs ORDER BY cluster, proc")]

    def move_to_history(self, cluster: int, proc: int, ad: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM jobs WHERE cluster=? AND proc=?", (cluster, proc))
            db.execute("INSERT OR REPLACE INTO history (cluster, proc, ad, left_at) VALUES (?, ?, ?, ?)",
                       (cluster, proc, ad, time.time()))
            # bounded: the oldest leave first (rowid breaks ties within one second)
            db.execute("DELETE FROM history WHERE rowid NOT IN "
                       "(SELECT rowid FROM history ORDER BY left_at DESC, rowid DESC LIMIT ?)",
                       (self.history_size,))

    def history(self) -> list[str]:
        """Ad texts of the jobs that left the queue, most recent first."""
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT ad FROM history ORDER BY left_at DESC, rowid DESC")]

    # process records
    def record_run(self, run: RunRecord) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?)",
                       (run.cluster, run.proc, run.pid, run.pgid, run.start_ticks, run.boot_id))

    def forget_run(self, cluster: int, proc: int) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM runs WHERE cluster=? AND proc=?", (cluster, proc))

    def runs(self) -> list[RunRecord]:
        with self._lock:
            return [RunRecord(*r) for r in self._db.execute("SELECT * FROM runs")]

    # collector ads
    def put_ad(self, ad_type: int, name: str, ad: str, expires: float) -> bool:
        """Store an ad; True if no live ad of that key existed."""
        with self.transaction() as db:
            row = db.execute("SELECT expires FROM ads WHERE ad_type=? AND name=?", (ad_type, name)).fetchone()
            db.execute("INSERT OR REPLACE INTO ads VALUES (?, ?, ?, ?)", (ad_type, name, ad, expires))
            return row is None or row[0] <= time.time()

    def live_ads(self) -> list[tuple[int, str, str]]:
        """(ad_type, name, ad text) of every ad not yet expired; expired ones are dropped."""
        with self.transaction() as db:
            now = time.time()
            db.execute("DELETE FROM ads WHERE expires <= ?", (now,))
            return [tuple(r) for r in db.execute("SELECT ad_type, name, ad FROM ads ORDER BY ad_type, name")]
