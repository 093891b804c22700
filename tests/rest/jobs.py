"""Queue jobs for REST tests through the SOAP face (so every read also proves a job
submitted over SOAP is visible over REST)."""
from __future__ import annotations

from typing import Optional

from tests.functional.conftest import schedd_client
from tests.functional.test_job_control import submit_sleepers


def soap_submit(url: str, owner: Optional[str], extra: list[dict], count: int = 1, *,
                hold: bool = True) -> tuple[int, list[int]]:
    """Commit ``count`` sleeping jobs in a new cluster with the ``extra`` items; held at once
    when ``hold``, so they stay where they are."""
    proxy = schedd_client(url)
    cluster, procs = submit_sleepers(proxy, owner, count, tuple(extra))
    if hold:
        for proc in procs:
            status = proxy.holdJob(None, cluster, proc, "kept still by a REST test", False, False, False)
            assert status.code == "SUCCESS", status.message
    return cluster, procs


def soap_remove(url: str, cluster: int, procs: tuple[int, ...] = ()) -> None:
    """Remove the cluster; close the spool of ``procs`` so they leave the queue for the
    history (the template's LeaveJobInQueue keeps them until then)."""
    proxy = schedd_client(url)
    assert proxy.removeCluster(None, cluster, "REST test done").code == "SUCCESS"
    for proc in procs:
        assert proxy.closeSpool(None, cluster, proc).code == "SUCCESS"


def string(name: str, value: str) -> dict:
    return {"name": name, "type": "STRING-ATTR", "value": value}

