"""Judging client constraints against ads, within a time limit.

A constraint is the client's ClassAd expression, and so are the attributes of the jobs it
submitted (``EXPRESSION-ATTR``): a ``regexp`` with catastrophic backtracking costs ~0.1 s per
call, and attribute references fan out, so one evaluation can take hours. ClassAd evaluation
cannot be interrupted inside the process, so it runs in worker processes
(``python -m condor_soap.core.constraint_worker``) that are killed when a query runs past
``constraint_time_limit``; the client gets FAIL and the service keeps serving.

An empty constraint matches everything; one that does not parse, or is not ``true`` for an
ad, matches nothing (the original's semantics).
"""
from __future__ import annotations

import json
import os
import queue
import select as _select
import subprocess
import sys
import threading
import time
from typing import Optional, Sequence, TypeVar

import classad2

from condor_soap.core.expression_guard import check as check_expression
from condor_soap.errors import CondorSoapError

Ad = TypeVar("Ad", bound=classad2.ClassAd)
_SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class InvalidConstraint(CondorSoapError):
    def __init__(self, constraint: str) -> None:
        shown = constraint if len(constraint) <= 200 else constraint[:200] + "..."
        super().__init__(f"Invalid constraint {shown!r}: not a ClassAd expression")


def check(constraint: Optional[str]) -> None:
    """Raise :class:`InvalidConstraint` unless ``constraint`` is empty or one expression
    (ExpressionTooLarge past the expression limits, before classad2 sees it)."""
    if constraint is not None and constraint.strip():
        check_expression(constraint, "The constraint")
        try:
            classad2.ExprTree(constraint)
        except Exception:  # classad2 raises several types for text that does not parse
            raise InvalidConstraint(constraint) from None


class ConstraintTooCostly(CondorSoapError):
    def __init__(self, limit: float) -> None:
        super().__init__(f"The constraint took longer than {limit:g} s to evaluate "
                         "(constraint_time_limit): simplify it")


class _Worker:
    """One evaluator process, speaking JSON lines over its stdin/stdout."""

    def __init__(self) -> None:
        # the service may have found condor_soap through sys.path alone: so shall the worker
        path = os.pathsep.join(filter(None, (_SOURCE_ROOT, os.environ.get("PYTHONPATH"))))
        self.proc = subprocess.Popen([sys.executable, "-m", "condor_soap.core.constraint_worker"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env={**os.environ, "PYTHONPATH": path}, start_new_session=True)
        self._buffer = b""

    def ask(self, constraint: str, ads: Sequence[str], deadline: float) -> Optional[list[int]]:
        """The indices of the matching ads, or None if the deadline passed first."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        request = json.dumps({"constraint": constraint, "ads": list(ads)}).encode() + b"\n"
        out = self.proc.stdout.fileno()
        writer = threading.Thread(target=self._write, args=(request,), daemon=True)
        writer.start()  # a large request may not fit the pipe before the worker reads it
        while not self._buffer.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not _select.select([out], [], [], left)[0]:
                return None
            chunk = os.read(out, 1 << 20)
            if not chunk:
                raise OSError("constraint worker exited")
            self._buffer += chunk
        writer.join()
        line, self._buffer = self._buffer, b""
        return json.loads(line)

    def _write(self, data: bytes) -> None:
        try:
            self.proc.stdin.write(data)  # type: ignore[union-attr]
            self.proc.stdin.flush()  # type: ignore[union-attr]
        except (BrokenPipeError, ValueError, OSError):
            pass  # killed for running late: the reader already gave up

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()  # type: ignore[union-attr]
            except OSError:
                pass


class ConstraintJudge:
    """Up to ``workers`` evaluator processes, started on first use, replaced when killed."""

    def __init__(self, time_limit: float = 10.0, workers: int = min(4, os.cpu_count() or 1)) -> None:
        self.time_limit = time_limit
        self._idle: queue.LifoQueue[Optional[_Worker]] = queue.LifoQueue()
        for _ in range(max(1, workers)):
            self._idle.put(None)  # a slot; its process starts when first needed

    def select(self, constraint: Optional[str], ads: Sequence[Ad]) -> list[Ad]:
        """The ads ``constraint`` is true for; ConstraintTooCostly past the time limit."""
        if constraint is None or not constraint.strip():
            return list(ads)
        check_expression(constraint, "The constraint")
        try:
            classad2.ExprTree(constraint)
        except Exception:  # classad2 raises several types for text that does not parse
            return []
        if not ads:
            return []
        deadline = time.monotonic() + self.time_limit
        texts = [str(ad) for ad in ads]
        try:
            worker = self._idle.get(timeout=self.time_limit)
        except queue.Empty:
            raise ConstraintTooCostly(self.time_limit) from None
        try:
            worker = worker or _Worker()
            found = worker.ask(constraint, texts, deadline)
        except BaseException as exc:
            if worker is not None:
                worker.kill()
            self._idle.put(None)
            if isinstance(exc, (OSError, ValueError)):
                raise CondorSoapError("Could not evaluate the constraint") from exc
            raise
        if found is None:
            worker.kill()
            self._idle.put(None)
            raise ConstraintTooCostly(self.time_limit)
        self._idle.put(worker)
        return [ads[i] for i in found]

    def close(self) -> None:
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return
            if worker is not None:
                worker.kill()


_judge = ConstraintJudge()


def configure(time_limit: float) -> None:
    """Set the process-wide time limit (``constraint_time_limit``)."""
    _judge.time_limit = time_limit


def select(constraint: Optional[str], ads: Sequence[Ad]) -> list[Ad]:
    """The ads ``constraint`` is true for, judged by the process-wide :class:`ConstraintJudge`."""
    return _judge.select(constraint, ads)
