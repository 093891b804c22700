"""Queue jobs for REST tests through the SOAP face (so every read also proves a job
submitted over SOAP is visible over REST)."""
from __future__ import annotations

from typing import Optional

from tests.functional.conftest import schedd_client

SLEEPER = b"#!/bin/sh\nsleep 600\n"


def soap_submit(url: str, owner: Optional[str], extra: list[dict], count: int = 1, *, hold: bool = True,
                auth=None) -> tuple[int, list[int]]:
    """Commit ``count`` sleeping jobs in a new cluster with the ``extra`` items (each job's list
    may use "{proc}" in values); held at once when ``hold`` so they stay where they are."""
    proxy = schedd_client(url) if auth is None else _authed(url, auth)
    txn = proxy.beginTransaction(120).transaction
    cluster = proxy.newCluster(txn).integer
    procs = []
    for _ in range(count):
        proc = proxy.newJob(txn, cluster).integer
        template = proxy.createJobTemplate(cluster, proc, owner, "VANILLA", "sleeper.sh", None, None)
        assert proxy.declareFile(txn, cluster, proc, "sleeper.sh", len(SLEEPER), "NOHASH", None).code == "SUCCESS"
        assert proxy.sendFile(txn, cluster, proc, "sleeper.sh", 0, SLEEPER).code == "SUCCESS"
        items = [{"name": i.name, "type": i.type, "value": i.value or ""} for i in template.classAd.item]
        items += [dict(item, value=item["value"].format(proc=proc)) for item in extra]
        answer = proxy.submit(txn, cluster, proc, {"item": items})
        assert answer.status.code == "SUCCESS", answer.status.message
        procs.append(proc)
    assert proxy.commitTransaction(txn).code == "SUCCESS"
    if hold:
        for proc in procs:
            status = proxy.holdJob(None, cluster, proc, "kept still by a REST test", False, False, False)
            assert status.code == "SUCCESS", status.message
    return cluster, procs


def soap_remove(url: str, cluster: int, procs: tuple[int, ...] = (), auth=None) -> None:
    """Remove the cluster; close the spool of ``procs`` so they leave the queue for the
    history (the template's LeaveJobInQueue keeps them until then)."""
    proxy = schedd_client(url) if auth is None else _authed(url, auth)
    assert proxy.removeCluster(None, cluster, "REST test done").code == "SUCCESS"
    for proc in procs:
        assert proxy.closeSpool(None, cluster, proc).code == "SUCCESS"


def _authed(url: str, auth):
    import requests
    import zeep
    from zeep.transports import Transport

    session = requests.Session()
    session.auth = auth
    client = zeep.Client(url + "condorSchedd.wsdl", transport=Transport(session=session))
    return client.create_service("{urn:condor}condorSchedd", url)


def string(name: str, value: str) -> dict:
    return {"name": name, "type": "STRING-ATTR", "value": value}


def integer(name: str, value: int) -> dict:
    return {"name": name, "type": "INTEGER-ATTR", "value": str(value)}
