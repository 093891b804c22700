"""Small builders shared by the core tests."""
from __future__ import annotations

from typing import Optional

from condor_soap.core.records import Attr, AttrType, HashType, TxnRef
from condor_soap.core.schedd import ScheddCore


def S(name: str, value: Optional[str]) -> Attr:
    return Attr(name, AttrType.STRING, value)


def X(name: str, value: Optional[str]) -> Attr:
    return Attr(name, AttrType.EXPRESSION, value)


# A job that stays put on any backend: it sleeps long, and stays after it ends.
JOB = [S("Owner", "alice"), X("JobUniverse", "5"), S("Cmd", "/bin/sleep"), S("Arguments", "300"),
       X("LeaveJobInQueue", "true")]


def attrs(items: list[Attr]) -> dict[str, Attr]:
    """Items by case-folded name (and no name twice)."""
    out = {a.name.casefold(): a for a in items}
    assert len(out) == len(items), [a.name for a in items]
    return out


def submit_job(core: ScheddCore, txn: TxnRef, files: Optional[dict[str, bytes]] = None,
               cluster: Optional[int] = None, extra: tuple[Attr, ...] = ()) -> tuple[int, int]:
    """newCluster (unless given), newJob, declare + send ``files`` in one piece, submit."""
    if cluster is None:
        cluster = core.new_cluster(txn)
    proc = core.new_job(txn, cluster)
    for name, data in (files or {}).items():
        core.declare_file(txn, cluster, proc, name, len(data), HashType.NOHASH, None)
        if data:
            core.send_file(txn, cluster, proc, name, 0, data)
    core.submit(txn, cluster, proc, [*JOB, *extra])
    return cluster, proc
