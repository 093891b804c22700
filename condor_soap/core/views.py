"""How a transaction sees jobs: committed ads with its pending actions applied, plus its own
submitted jobs (read-your-writes, spec §6 row 10), and the checks actions make against it."""
from __future__ import annotations

from typing import Iterable, Optional

import classad2

from condor_soap.core.classads import literal, parse_expr
from condor_soap.core.records import ActionKind, JobAction

IDLE, REMOVED, COMPLETED, HELD = 1, 3, 4, 5


def job_key(ad: classad2.ClassAd) -> tuple[int, int]:
    return int(ad.eval("ClusterId")), int(ad.eval("ProcId"))


def status(ad: classad2.ClassAd) -> Optional[int]:
    """The job's JobStatus if it is an integer literal (a client's expression is not
    evaluated in the service: evaluation cannot be interrupted, docs/reliability.rst)."""
    value = ad.get("JobStatus")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def targets(action: JobAction, cluster: int, proc: int) -> bool:
    return action.cluster == cluster and (action.proc is None or action.proc == proc)


def overlay(ad: classad2.ClassAd, actions: Iterable[JobAction], now: int) -> classad2.ClassAd:
    """A copy of ``ad`` as it will be once ``actions`` apply (the attributes they set)."""
    view = classad2.ClassAd(repr(ad))
    cluster, proc = job_key(view)
    for action in actions:
        if not targets(action, cluster, proc):
            continue
        if action.kind is ActionKind.CLOSE_SPOOL:
            view["FilesRetrieved"] = True
            continue
        new_status, reason_attr = {
            ActionKind.HOLD: (HELD, "HoldReason"),
            ActionKind.RELEASE: (IDLE, "ReleaseReason"),
            ActionKind.REMOVE: (REMOVED, "RemoveReason"),
            ActionKind.REMOVE_CLUSTER: (REMOVED, "RemoveReason"),
        }[action.kind]
        view["JobStatus"] = new_status
        view["EnteredCurrentStatus"] = now
        if action.reason:
            view[reason_attr] = action.reason
    return view


def applies(action: JobAction, ad: Optional[classad2.ClassAd]) -> bool:
    """Whether ``action`` can apply to the job as the transaction sees it."""
    if ad is None:
        return False
    current = status(ad)
    if action.kind is ActionKind.HOLD:
        return current not in (HELD, REMOVED, COMPLETED)
    if action.kind is ActionKind.RELEASE:
        return current == HELD
    if action.kind is ActionKind.REMOVE:
        return current != REMOVED or action.force
    return True


def reason_text(reason: Optional[str]) -> Optional[str]:
    """A hold/release/remove reason as plain text: a reason already written as a quoted
    ClassAd string is unquoted, as the original added quotes only when missing (spec §4.4)."""
    if not reason:
        return None
    if reason.startswith('"'):
        expr = parse_expr(reason, "The reason")
        value = literal(expr) if expr is not None else None
        if isinstance(value, str):
            return value
    return reason
