"""The htcondor backend's own durable state (``<state_dir>/htcondor/backend.sqlite3``).

* ``meta.last_cluster``: the last cluster id handed out by ``new_cluster_id`` (ids are never
  handed out twice).
* ``jobs``: every job the service queued, client id (what ``newCluster``/``newJob`` answered)
  -> real id (what the schedd gave it), with the commit token and whether its output sandbox
  was retrieved. A row whose ids differ is an *alias*; rows are kept after the job left the
  queue, so a client id never starts to mean another job.
* ``tokens``: commit tokens and how far their batch got (``queueing``, ``jobs`` queued, ``done``), or
  ``undo``: a failed batch whose jobs are still to be removed (its jobs are hidden meanwhile).

:class:`IdMap` is the in-memory view of the aliases only (identity rows need no translation).
No htcondor2 here.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from typing import Iterable, Optional

Key = tuple[int, int]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    cluster INTEGER NOT NULL, proc INTEGER NOT NULL,
    real_cluster INTEGER NOT NULL, real_proc INTEGER NOT NULL,
    token TEXT NOT NULL, retrieved INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (cluster, proc));
CREATE INDEX IF NOT EXISTS jobs_real ON jobs (real_cluster, real_proc);
CREATE INDEX IF NOT EXISTS jobs_token ON jobs (token);
CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, stage TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS released (cluster INTEGER PRIMARY KEY);
"""

QUEUEING = "queueing"  # jobs of the batch may be in the queue: a failure is not "nothing applied"
JOBS_QUEUED = "jobs"
DONE = "done"
UNDO = "undo"  # a failed batch whose jobs could not be removed yet (the schedd was gone)


class IdMap:
    """Client ids <-> real ids for the aliased jobs; everything else maps to itself.

    A real job whose id is the client id of an aliased job (another submitter took that id) is
    *shadowed*: the client id means the client's job, so the foreign job is not visible.
    """

    def __init__(self) -> None:
        self.to_real: dict[Key, Key] = {}
        self.to_client: dict[Key, Key] = {}
        self.cluster_to_real: dict[int, int] = {}
        self.cluster_to_client: dict[int, int] = {}

    def add(self, client: Key, real: Key) -> None:
        if client != real:
            self.to_real[client] = real
            self.to_client[real] = client
        if client[0] != real[0]:
            self.cluster_to_real[client[0]] = real[0]
            self.cluster_to_client[real[0]] = client[0]

    def discard(self, client: Key, real: Key) -> None:
        if self.to_real.get(client) == real:
            del self.to_real[client]
            del self.to_client[real]
        if self.cluster_to_real.get(client[0]) == real[0]:
            del self.cluster_to_real[client[0]]
            del self.cluster_to_client[real[0]]

    def __bool__(self) -> bool:
        return bool(self.to_real)

    def real(self, cluster: int, proc: int) -> Optional[Key]:
        """The real id of client id (cluster, proc); None if that id names no visible job."""
        key = (cluster, proc)
        if key in self.to_real:
            return self.to_real[key]
        real_cluster = self.real_cluster(cluster)
        if real_cluster is None or (real_cluster, proc) in self.to_client:
            return None  # that real job is known to the client under another id
        return real_cluster, proc

    def client(self, cluster: int, proc: int) -> Optional[Key]:
        """The client id of real job (cluster, proc); None if it is shadowed."""
        key = (cluster, proc)
        if key in self.to_client:
            return self.to_client[key]
        if cluster in self.cluster_to_client:
            client_cluster = self.cluster_to_client[cluster]
        elif cluster in self.cluster_to_real:
            return None  # a foreign cluster whose id is a client cluster of ours
        else:
            client_cluster = cluster
        if (client_cluster, proc) in self.to_real:
            return None
        return client_cluster, proc

    def real_cluster(self, cluster: int) -> Optional[int]:
        """The real cluster of a client cluster (None: that real cluster is someone else's)."""
        if cluster in self.cluster_to_real:
            return self.cluster_to_real[cluster]
        return None if cluster in self.cluster_to_client else cluster


class State:
    """SQLite state; every method is thread-safe."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # an allocated id must survive a power cut
            self._db.executescript(_SCHEMA)
            self._undo = {row[0] for row in self._db.execute("SELECT token FROM tokens WHERE stage = ?", (UNDO,))}
        self.ids = IdMap()
        for c, p, rc, rp in self._db.execute(
                "SELECT cluster, proc, real_cluster, real_proc FROM jobs "
                "WHERE cluster != real_cluster OR proc != real_proc"):
            self.ids.add((c, p), (rc, rp))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # cluster ids
    def allocate(self, floor: int) -> int:
        """A new cluster id above ``floor`` and above every id handed out before (durable)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT value FROM meta WHERE key = 'last_cluster'").fetchone()
                (real_max,) = self._db.execute("SELECT COALESCE(MAX(real_cluster), 0) FROM jobs").fetchone()
                new = max(row[0] if row else 0, floor, real_max) + 1
                self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('last_cluster', ?)", (new,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return new

    def release(self, clusters: Iterable[int]) -> None:
        """Allocated ids that will never carry a job. While the newest allocations are such
        ids, step the allocation back below them, so that the next prediction lines up with
        the schedd's counter again (one aborted newCluster would otherwise keep every later
        prediction one ahead of the schedd, and every later commit aliased)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT OR IGNORE INTO released VALUES (?)", [(c,) for c in clusters])
                row = self._db.execute("SELECT value FROM meta WHERE key = 'last_cluster'").fetchone()
                last = row[0] if row else 0
                (used,) = self._db.execute("SELECT COALESCE(MAX(MAX(cluster), MAX(real_cluster)), 0) FROM jobs").fetchone()
                while last > used and self._db.execute("DELETE FROM released WHERE cluster = ?", (last,)).rowcount:
                    last -= 1
                self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('last_cluster', ?)", (last,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    # jobs
    def add_jobs(self, token: str, pairs: Iterable[tuple[Key, Key]]) -> None:
        """Record client -> real ids of jobs just queued (replacing older rows of those client ids)."""
        pairs = list(pairs)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for client, real in pairs:
                    old = self._db.execute("SELECT real_cluster, real_proc FROM jobs WHERE cluster = ? AND proc = ?",
                                           client).fetchone()
                    if old:
                        self.ids.discard(client, tuple(old))
                    self._db.execute("INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?, ?, 0)", (*client, *real, token))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            for client, real in pairs:
                self.ids.add(client, real)

    def forget_token_jobs(self, token: str) -> list[Key]:
        """Drop the rows of a batch that was undone; returns their client ids."""
        with self._lock:
            rows = self._db.execute("SELECT cluster, proc, real_cluster, real_proc FROM jobs WHERE token = ?",
                                    (token,)).fetchall()
            self._db.execute("DELETE FROM jobs WHERE token = ?", (token,))
            for c, p, rc, rp in rows:
                self.ids.discard((c, p), (rc, rp))
            return [(c, p) for c, p, _rc, _rp in rows]

    def is_ours(self, cluster: int, proc: int) -> bool:
        """True if the service queued this client id."""
        with self._lock:
            return self._db.execute("SELECT 1 FROM jobs WHERE cluster = ? AND proc = ?",
                                    (cluster, proc)).fetchone() is not None

    def retrieved(self, cluster: int, proc: int) -> bool:
        with self._lock:
            row = self._db.execute("SELECT retrieved FROM jobs WHERE cluster = ? AND proc = ?",
                                   (cluster, proc)).fetchone()
            return bool(row and row[0])

    def mark_retrieved(self, cluster: int, proc: int) -> None:
        with self._lock:
            self._db.execute("UPDATE jobs SET retrieved = 1 WHERE cluster = ? AND proc = ?", (cluster, proc))

    # tokens
    def token_stage(self, token: str) -> Optional[str]:
        with self._lock:
            row = self._db.execute("SELECT stage FROM tokens WHERE token = ?", (token,)).fetchone()
            return row[0] if row else None

    def set_token_stage(self, token: str, stage: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO tokens (token, stage, at) VALUES (?, ?, ?)",
                             (token, stage, time.time()))
            if stage == UNDO:
                self._undo.add(token)
            else:
                self._undo.discard(token)

    def forget_token(self, token: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM tokens WHERE token = ?", (token,))
            self._undo.discard(token)

    def undoing(self) -> frozenset[str]:
        """Tokens of failed batches whose jobs are still to be removed."""
        with self._lock:
            return frozenset(self._undo)
