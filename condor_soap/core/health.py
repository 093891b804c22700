"""Is the service ready to take work: its journal takes a durable write and its backend
answers, both within a bounded time (``GET /readyz``).

The journal waits at most ``timeout / 2`` for another writer's lock; the backend is given
``timeout`` (the htcondor one runs its contact in a process it kills then). The checks run in
one worker thread that the caller waits for at most the sum of both + :data:`GRACE` seconds, so
whatever else hangs (a disk) makes the check report "no answer", never hang the request. At
most one check runs at a time; concurrent callers wait for the same one.
"""
from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, field
from typing import Optional

from condor_soap.core.journal import Journal
from condor_soap.core.ports import Backend, BackendError


GRACE = 1.0  # seconds past its timeout a check may take to report that it timed out


@dataclass
class _Check:
    stage: str = "journal"  # what it is checking now
    problems: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)


class Readiness:
    """The readiness check of one journal and backend. Thread-safe."""

    def __init__(self, journal: Journal, backend: Backend) -> None:
        self._journal = journal
        self._backend = backend
        self._lock = threading.Lock()
        self._current: Optional[_Check] = None

    def problems(self, timeout: float) -> list[str]:
        """Why the service cannot take work now; empty when it can."""
        with self._lock:
            check = self._current
            if check is None or check.done.is_set():
                check = self._current = _Check()
                threading.Thread(target=self._run, args=(check, timeout), name="condor-soap-readiness",
                                 daemon=True).start()
        if not check.done.wait(1.5 * timeout + GRACE):
            return [f"{check.stage}: no answer within {timeout:g} s"]
        return list(check.problems)

    def _run(self, check: _Check, timeout: float) -> None:
        try:
            self._checks(check, timeout)
        finally:
            check.done.set()

    def _checks(self, check: _Check, timeout: float) -> None:
        try:
            self._journal.check_writable(timeout / 2)  # a lock held longer is reported as such
        except (sqlite3.Error, OSError) as exc:
            check.problems.append(f"journal: cannot be written: {exc}")
        check.stage = "backend"
        try:
            self._backend.check(timeout)
        except BackendError as exc:
            check.problems.append(f"backend: {exc}")
        except Exception as exc:  # a backend bug is still "not ready", with its reason
            check.problems.append(f"backend: {type(exc).__name__}: {exc}")
