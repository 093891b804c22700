"""Helpers for backend tests: building job ads and batches, bounded waiting."""
from __future__ import annotations

import itertools
import uuid
from pathlib import Path
from typing import Any, Optional

import classad2

from condor_soap.core.records import ActionKind, CommitBatch, JobAction, NewJob
from tests.polling import wait_for  # noqa: F401  (re-exported for the backend tests)

_names = itertools.count()

# A job that runs until released a second time: the first run blocks (leader pid in
# leader.pid, its child's in child.pid), later runs finish at once.
RUN_TWICE = """echo $$ > leader.pid
echo run >> runs.log
if [ "$(wc -l < runs.log)" -ge 2 ]; then exit 0; fi
sleep 300 &
echo $! > child.pid
wait
"""


def token() -> str:
    return uuid.uuid4().hex


def job_ad(backend, cluster: int, proc: int, **attrs: Any) -> str:
    """A job ad as the core's createJobTemplate + submit would form it (the parts backends use)."""
    ad = classad2.ClassAd()
    ad["ClusterId"] = cluster
    ad["ProcId"] = proc
    ad["Owner"] = getattr(backend, "test_owner", "tester")  # set by the htcondor fixture
    ad["JobUniverse"] = 5
    ad["JobStatus"] = 1
    ad["In"] = ad["Out"] = ad["Err"] = "/dev/null"
    ad["Arguments"] = ""
    ad["NumJobStarts"] = 0
    ad["FilesRetrieved"] = False
    ad["LeaveJobInQueue"] = classad2.ExprTree("FilesRetrieved =?= false")
    ad["Iwd"] = backend.spool_dir(cluster, proc)
    for name, value in attrs.items():
        ad[name] = classad2.ExprTree(value.expr) if isinstance(value, Expr) else value
    return str(ad)


class Expr:
    """Marks a job attribute value as ClassAd expression text."""

    def __init__(self, expr: str) -> None:
        self.expr = expr


def stage(directory: Path, content: str | bytes, name: Optional[str] = None) -> str:
    """Write a staged upload (as the core would) and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (name or f"staged{next(_names)}")
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return str(path)


def new_job(backend, staging: Path, script: Optional[str] = None, files: Optional[dict[str, str | bytes]] = None,
            cluster: Optional[int] = None, proc: int = 0, **attrs: Any) -> NewJob:
    """A NewJob whose ``Cmd`` is ``job.sh`` holding ``script`` (plus other uploaded ``files``)."""
    cluster = backend.new_cluster_id() if cluster is None else cluster
    uploads = dict(files or {})
    if script is not None:
        uploads["job.sh"] = "#!/bin/sh\n" + script
        attrs.setdefault("Cmd", "job.sh")
    staged = {name: stage(staging, data) for name, data in uploads.items()}
    attrs.setdefault("TransferInputFiles", ",".join(uploads))
    return NewJob(cluster, proc, job_ad(backend, cluster, proc, **attrs), staged)


def submit(backend, staging: Path, script: Optional[str] = None, **kw: Any) -> tuple[int, int]:
    job = new_job(backend, staging, script, **kw)
    assert backend.apply(CommitBatch(token(), (job,))) == []
    return job.cluster, job.proc


def act(backend, kind: ActionKind, cluster: int, proc: Optional[int], **kw: Any) -> list[JobAction]:
    """Apply one action in its own batch; returns the actions that did not apply."""
    return backend.apply(CommitBatch(token(), (), (JobAction(kind, cluster, proc, **kw),)))


def status(backend, cluster: int, proc: int) -> Optional[int]:
    ad = backend.job(cluster, proc)
    return None if ad is None else ad.get("JobStatus")


def wait_status(backend, cluster: int, proc: int, wanted: int, timeout: float = 60.0):
    """Wait until the job has JobStatus ``wanted``; returns its ad. (A real pool takes a few
    seconds to match and start a job, hence the generous bound.)"""
    def check():
        ad = backend.job(cluster, proc)
        return ad if ad is not None and ad.get("JobStatus") == wanted else None
    return wait_for(check, timeout, what=f"job {cluster}.{proc} JobStatus == {wanted} "
                                         f"(now {status(backend, cluster, proc)})")


def spool_text(backend, cluster: int, proc: int, name: str) -> str:
    return backend.read_spool(cluster, proc, name, 0, 1 << 20).decode()


def spool_has(backend, cluster: int, proc: int, name: str) -> bool:
    return any(f.name == name and f.size > 0 for f in backend.list_spool(cluster, proc))


def alive(pid: int) -> bool:
    """True if the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return False
    return data[data.rindex(b")") + 2:].split()[0] != b"Z"


def pid_gone(pid: int) -> bool:
    return not alive(pid)

