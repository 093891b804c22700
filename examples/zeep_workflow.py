#!/usr/bin/env python3
"""The whole birdbath-style workflow against a live condor-soap, with zeep.

    python examples/zeep_workflow.py http://127.0.0.1:8080/
    python examples/zeep_workflow.py http://127.0.0.1:8080/ --wsdl path/to/condorSchedd.wsdl

begin -> newCluster -> newJob -> createJobTemplate -> declareFile/sendFile (256 KiB chunks)
-> submit -> commit -> requestReschedule -> poll getJobAd until JobStatus 4 -> listSpool ->
getFile (chunks) -> closeSpool -> the job leaves the queue. Every step is printed.
"""
from __future__ import annotations

import argparse
import getpass
import hashlib
import os
import sys
import time
from typing import Callable

import zeep

CHUNK = 256 * 1024
JOB_SCRIPT = b"""#!/bin/sh
# copy the input, checksum it, and say hello on stdout
cat "$1" > "$2"
sha256sum "$1" | cut -d' ' -f1 > checksum.txt
echo "hello from job $CLUSTER_PROC; empty.dat has $(wc -c < empty.dat) bytes"
"""


class SoapError(Exception):
    """A non-SUCCESS Status, as birdbath throws it."""


def check(response, what: str):
    status = response.status if hasattr(response, "status") else response
    if status.code != "SUCCESS":
        raise SoapError(f"{what}: {status.code} {status.message}")
    return response


def connect(url: str, wsdl: str | None = None):
    """A zeep service proxy for ``url``; ``wsdl`` defaults to the one the service serves."""
    client = zeep.Client(wsdl or url.rstrip("/") + "/condorSchedd.wsdl")
    return client, client.create_service("{urn:condor}condorSchedd", url)


def upload(service, txn, cluster: int, proc: int, name: str, data: bytes, log: Callable) -> None:
    check(service.declareFile(txn, cluster, proc, name, len(data), "NOHASH", None), f"declareFile {name}")
    # birdbath sends no sendFile at all for an empty file
    for offset in range(0, len(data), CHUNK):
        check(service.sendFile(txn, cluster, proc, name, offset, data[offset:offset + CHUNK]),
              f"sendFile {name}@{offset}")
    log(f"  uploaded {name}: {len(data)} bytes in {(len(data) + CHUNK - 1) // CHUNK} chunk(s)")


def download(service, cluster: int, proc: int, name: str, size: int) -> bytes:
    data = b""
    while len(data) < size:
        got = check(service.getFile(None, cluster, proc, name, len(data), min(CHUNK, size - len(data))),
                    f"getFile {name}").data
        if not got:
            raise SoapError(f"getFile {name}: no bytes at offset {len(data)}")
        data += got
    return data


def run_workflow(service, payload: bytes, owner: str, log: Callable = print, timeout: float = 120.0) -> dict:
    """Submit one job with input files, wait for it, fetch its output, close its spool."""
    txn = check(service.beginTransaction(60), "beginTransaction").transaction
    log(f"beginTransaction -> id {txn.id}, lease {txn.duration} s")
    cluster = check(service.newCluster(txn), "newCluster").integer
    proc = check(service.newJob(txn, cluster), "newJob").integer
    log(f"newCluster/newJob -> job {cluster}.{proc}")

    template = check(service.createJobTemplate(cluster, proc, owner, "VANILLA", "job.sh", "in.dat out.dat", None),
                     "createJobTemplate").classAd.item
    log(f"createJobTemplate -> {len(template)} attributes")
    extra = {"Out": "stdout.txt", "Err": "stderr.txt",
             "Environment": f"CLUSTER_PROC={cluster}.{proc}"}
    ad = [item for item in template if item.name.lower() not in {k.lower() for k in extra}]
    ad += [{"name": k, "type": "STRING-ATTR", "value": v} for k, v in extra.items()]

    for name, data in (("job.sh", JOB_SCRIPT), ("in.dat", payload), ("empty.dat", b"")):
        upload(service, txn, cluster, proc, name, data, log)
    check(service.submit(txn, cluster, proc, {"item": ad}), "submit")
    check(service.commitTransaction(txn), "commitTransaction")
    check(service.requestReschedule(), "requestReschedule")
    log("submit + commitTransaction + requestReschedule -> SUCCESS")

    deadline = time.monotonic() + timeout
    states = []
    while True:
        job = check(service.getJobAd(None, cluster, proc), "getJobAd").classAd.item
        attrs = {i.name: i.value for i in job}
        if not states or states[-1] != attrs["JobStatus"]:
            states.append(attrs["JobStatus"])
            log(f"getJobAd -> JobStatus {attrs['JobStatus']}")
        if attrs["JobStatus"] == "4":
            break
        if time.monotonic() > deadline:
            raise SoapError(f"job {cluster}.{proc} did not complete in {timeout} s: {attrs}")
        time.sleep(0.2)

    spool = {f.name: f.size for f in check(service.listSpool(None, cluster, proc), "listSpool").info.item}
    log(f"listSpool -> {sorted(spool.items())}")
    outputs = {name: download(service, cluster, proc, name, spool[name])
               for name in ("out.dat", "checksum.txt", "stdout.txt")}
    log(f"getFile -> out.dat {len(outputs['out.dat'])} bytes, stdout: {outputs['stdout.txt'].decode().strip()}")

    check(service.closeSpool(None, cluster, proc), "closeSpool")
    while service.getJobAd(None, cluster, proc).status.code == "SUCCESS":
        if time.monotonic() > deadline:
            raise SoapError(f"job {cluster}.{proc} still queued after closeSpool")
        time.sleep(0.2)
    log("closeSpool -> the job has left the queue")
    return {"cluster": cluster, "proc": proc, "states": states, "exit_code": attrs.get("ExitCode"),
            "spool": spool, "outputs": outputs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the service URL, e.g. http://127.0.0.1:8080/")
    parser.add_argument("--wsdl", help="WSDL to build the client from (default: the served one)")
    parser.add_argument("--size", type=int, default=600_000, help="input file size in bytes")
    parser.add_argument("--owner", default=getpass.getuser(),
                        help="the job's Owner (on a real pool: the user the service submits as)")
    args = parser.parse_args()
    _, service = connect(args.url, args.wsdl)
    payload = os.urandom(args.size)
    result = run_workflow(service, payload, args.owner)
    ok = (result["outputs"]["out.dat"] == payload
          and result["outputs"]["checksum.txt"].decode().strip() == hashlib.sha256(payload).hexdigest())
    print("output verified" if ok else "OUTPUT MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
