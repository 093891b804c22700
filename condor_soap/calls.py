"""Every operation call, whichever face it came through: the caller authorized for the
operation, bound for the core (:func:`~condor_soap.core.policy.calling`), counted in the
metrics with its outcome and duration and, for a WRITE operation, one audit line.

The faces translate only; what a call *is* (who may make it, what is recorded about it) lives
here once. Operations are named as the SOAP operations where one exists (``getJobAds``,
``holdJob``, ...), so permissions and token scopes are decided per operation in one place for
both faces (:data:`~condor_soap.core.policy.WRITE_OPERATIONS`).
"""
from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Iterator, Optional, TypeVar

from condor_soap.auth.audit import AuditLog
from condor_soap.core.policy import WRITE, Caller, Policy, calling, permission
from condor_soap.errors import CondorSoapError
from condor_soap.metrics import Metrics

log = logging.getLogger(__name__)
INTERNAL_ERROR = "Internal error"
T = TypeVar("T")


@dataclass
class CallRecord:
    """What the audit line of one call says; the face fills in what the request named."""

    transaction: Optional[int] = None
    cluster: Optional[int] = None
    job: Optional[int] = None
    file: Optional[str] = None
    bytes: int = 0
    outcome: str = "SUCCESS"
    message: Optional[str] = None


class Calls:
    """Runs operation calls for every face. ``policy`` None: no authorization (every caller
    may call anything); ``audit`` None: no audit lines; ``metrics``: the application's
    (default: a registry of its own)."""

    def __init__(self, policy: Optional[Policy] = None, audit: Optional[AuditLog] = None,
                 metrics: Optional[Metrics] = None) -> None:
        self.policy = policy
        self.audit = audit
        self.metrics = metrics or Metrics()

    @contextlib.contextmanager
    def call(self, who: Caller, operation: str, face: str,
             record: Optional[CallRecord] = None) -> Iterator[CallRecord]:
        """The body of the ``with`` is the call: ``who`` is authorized for ``operation`` first
        (:class:`~condor_soap.errors.PermissionDenied`) and is the core's caller throughout.
        A :class:`CondorSoapError` (or any exception) escaping the body is the outcome;
        ``record`` may arrive filled with what the request names."""
        record = record or CallRecord()
        started = time.perf_counter()
        try:
            if self.policy is not None:
                self.policy.authorize(who, operation)
            with calling(who):
                yield record
        except CondorSoapError as err:
            record.outcome, record.message = err.code.name, err.message
            raise
        except BaseException:
            record.outcome, record.message = "FAIL", INTERNAL_ERROR
            raise
        finally:
            self.metrics.call(face, operation, record.outcome, time.perf_counter() - started)
            if self.audit is not None and permission(operation) == WRITE:
                try:
                    self.audit.record("call", user=who.user, auth=who.method, source=who.address, face=face,
                                      operation=operation, transaction=record.transaction,
                                      cluster=record.cluster, job=record.job, file=record.file,
                                      bytes=record.bytes, outcome=record.outcome, message=record.message)
                except Exception:  # never fail a call for its audit line
                    log.exception("audit of %s", operation)

    @staticmethod
    def bound(who: Caller, items: Iterator[T]) -> Iterator[T]:
        """``items`` produced with ``who`` as the core's caller: a streamed answer is produced
        after its call returned, one step at a time, each step bound again."""
        while True:
            with calling(who):
                try:
                    item = next(items)
                except StopIteration:
                    return
            yield item
