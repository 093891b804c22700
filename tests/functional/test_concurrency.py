"""Several clients, each with its own transaction, at once against the live service."""
from __future__ import annotations

import threading

from tests.functional.conftest import schedd_client


def test_concurrent_transactions_over_http(service):
    results: dict[int, tuple] = {}
    errors: list[BaseException] = []

    def client(n: int) -> None:
        try:
            proxy = schedd_client(service.url)
            txn = proxy.beginTransaction(60).transaction
            cluster = proxy.newCluster(txn).integer
            procs = [proxy.newJob(txn, cluster).integer for _ in range(3)]
            for proc in procs:
                data = f"client {n} job {proc}".encode()
                assert proxy.declareFile(txn, cluster, proc, "in", len(data), "NOHASH", None).code == "SUCCESS"
                assert proxy.sendFile(txn, cluster, proc, "in", 0, data).code == "SUCCESS"
                ad = {"item": [{"name": "Cmd", "type": "STRING-ATTR", "value": "/bin/true"},
                               {"name": "ClientNumber", "type": "INTEGER-ATTR", "value": str(n)},
                               {"name": "LeaveJobInQueue", "type": "BOOLEAN-ATTR", "value": "TRUE"}]}
                assert proxy.submit(txn, cluster, proc, ad).status.code == "SUCCESS"
            # read-your-writes inside, invisible outside, until commit
            inside = proxy.getJobAds(txn, f"ClusterId == {cluster}").classAdArray.item
            outside = proxy.getJobAds(None, f"ClusterId == {cluster}").classAdArray
            assert proxy.commitTransaction(txn).code == "SUCCESS"
            results[n] = (txn.id, cluster, len(inside), len(outside.item) if outside else 0)
        except BaseException as exc:  # reported below, with the thread's number
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(results) == 6
    assert len({r[0] for r in results.values()}) == 6, "distinct transaction ids"
    assert len({r[1] for r in results.values()}) == 6, "distinct cluster ids"
    assert all(r[2] == 3 and r[3] == 0 for r in results.values())
    proxy = schedd_client(service.url)
    for n, (_, cluster, _, _) in results.items():
        answer = proxy.getJobAds(None, f"ClusterId == {cluster} && ClientNumber == {n}")
        assert answer.status.code == "SUCCESS", answer.status.message
        ads = answer.classAdArray.item if answer.classAdArray else []
        assert len(ads) == 3, f"client {n}: each committed job queued exactly once, not {len(ads)}"
