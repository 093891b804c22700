#!/usr/bin/env python3
"""The whole birdbath-style workflow against a live condor-soap, with zeep.

    python examples/zeep_workflow.py http://127.0.0.1:8080/
    python examples/zeep_workflow.py http://127.0.0.1:8080/ --wsdl path/to/condorSchedd.wsdl \
        --collector-wsdl path/to/condorCollector.wsdl

getVersionString -> begin -> newCluster -> newJob -> createJobTemplate -> declareFile/sendFile
(a script, a text file, a binary file in 256 KiB chunks, an empty file) -> submit -> commit ->
requestReschedule -> poll getJobAd until JobStatus 4 -> listSpool -> getFile (chunks), compared
byte for byte -> closeSpool -> the job leaves the queue; then two sleep jobs: hold, release and
remove one, getJobAds with a constraint, removeCluster; queryStartdAds and queryScheddAds on
the collector. Every step is printed; the last line is "OK" (exit status 0) or the error.
The job's Owner is $CONDOR_SOAP_OWNER, or the current user.
"""
from __future__ import annotations

import argparse
import getpass
import hashlib
import os
import sys
import time
from typing import Callable

import requests
import zeep

CHUNK = 256 * 1024
TEXT = b"condor-soap says hello.\nThe job upper-cases this file.\n"
JOB_SCRIPT = b"""#!/bin/sh
# copy the input, checksum it, upper-case the text file and say hello on stdout
cat "$1" > "$2"
sha256sum "$1" | cut -d' ' -f1 > checksum.txt
tr a-z A-Z < in.txt > upper.txt
echo "hello from job $CLUSTER_PROC; empty.dat has $(wc -c < empty.dat) bytes"
"""


class SoapError(Exception):
    """A non-SUCCESS Status, as birdbath throws it."""


def check(response, what: str):
    status = response.status if hasattr(response, "status") else response
    if status.code != "SUCCESS":
        raise SoapError(f"{what}: {status.code} {status.message}")
    return response


def transport() -> zeep.Transport:
    """HTTP Basic credentials from $CONDOR_SOAP_USER / $CONDOR_SOAP_PASSWORD, when set (a
    service that is not on loopback asks for them; every SOAP toolchain can send Basic), or a
    bearer token acting for a user from $CONDOR_SOAP_TOKEN (an OAuth2 access token, an IDTOKEN)."""
    session = requests.Session()
    if os.environ.get("CONDOR_SOAP_USER"):
        session.auth = (os.environ["CONDOR_SOAP_USER"], os.environ.get("CONDOR_SOAP_PASSWORD", ""))
    elif os.environ.get("CONDOR_SOAP_TOKEN"):
        session.headers["Authorization"] = "Bearer " + os.environ["CONDOR_SOAP_TOKEN"].strip()
    return zeep.Transport(session=session)


def connect(url: str, wsdl: str | None = None, service: str = "condorSchedd"):
    """A zeep proxy for ``url``; ``wsdl`` defaults to the one the service serves."""
    client = zeep.Client(wsdl or url.rstrip("/") + f"/{service}.wsdl", transport=transport())
    return client, client.create_service(f"{{urn:condor}}{service}", url)


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

    for name, data in (("job.sh", JOB_SCRIPT), ("in.txt", TEXT), ("in.dat", payload), ("empty.dat", b"")):
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
               for name in ("out.dat", "checksum.txt", "upper.txt", "stdout.txt")}
    log(f"getFile -> out.dat {len(outputs['out.dat'])} bytes, stdout: {outputs['stdout.txt'].decode().strip()}")

    check(service.closeSpool(None, cluster, proc), "closeSpool")
    while service.getJobAd(None, cluster, proc).status.code == "SUCCESS":
        if time.monotonic() > deadline:
            raise SoapError(f"job {cluster}.{proc} still queued after closeSpool")
        time.sleep(0.2)
    log("closeSpool -> the job has left the queue")
    return {"cluster": cluster, "proc": proc, "states": states, "exit_code": attrs.get("ExitCode"),
            "spool": spool, "outputs": outputs}


def wait_status(service, cluster: int, proc: int, wanted: set, timeout: float = 120.0) -> str:
    """Poll getJobAd until JobStatus is one of ``wanted`` ("gone": the job left the queue)."""
    deadline = time.monotonic() + timeout
    while True:
        response = service.getJobAd(None, cluster, proc)
        if response.status.code == "UNKNOWNJOB":
            status = "gone"
        else:
            status = {i.name: i.value for i in check(response, "getJobAd").classAd.item}["JobStatus"]
        if status in wanted:
            return status
        if time.monotonic() > deadline:
            raise SoapError(f"job {cluster}.{proc}: JobStatus {status}, expected one of {sorted(wanted)}")
        time.sleep(0.2)


def job_ads(service, constraint: str) -> list:
    """getJobAds with a constraint: a list of {name: value} dicts (zeep gives None for none)."""
    array = check(service.getJobAds(None, constraint), f"getJobAds {constraint}").classAdArray
    return [{i.name: i.value for i in ad.item} for ad in (array.item if array else [])]


def run_job_control(service, owner: str, log: Callable = print) -> None:
    """Two sleep jobs in one cluster: hold, release and remove the first; removeCluster the rest."""
    txn = check(service.beginTransaction(60), "beginTransaction").transaction
    cluster = check(service.newCluster(txn), "newCluster").integer
    for _ in range(2):
        proc = check(service.newJob(txn, cluster), "newJob").integer
        template = check(service.createJobTemplate(cluster, proc, owner, "VANILLA", "/bin/sleep", "300", None),
                         "createJobTemplate").classAd.item
        # zeep reads an empty <value></value> as None; send it back as ""
        items = [{"name": i.name, "type": i.type, "value": i.value or ""} for i in template]
        check(service.submit(txn, cluster, proc, {"item": items}), "submit")
    check(service.commitTransaction(txn), "commitTransaction")
    log(f"sleep jobs {cluster}.0 and {cluster}.1 submitted")

    check(service.holdJob(None, cluster, 0, "held by the example", False, False, False), "holdJob")
    log(f"holdJob -> JobStatus {wait_status(service, cluster, 0, {'5'})}")
    check(service.releaseJob(None, cluster, 0, "released by the example", False, False), "releaseJob")
    log(f"releaseJob -> JobStatus {wait_status(service, cluster, 0, {'1', '2'})}")
    check(service.removeJob(None, cluster, 0, "removed by the example", False), "removeJob")
    log(f"removeJob -> {wait_status(service, cluster, 0, {'3', 'gone'})}")

    ads = job_ads(service, f"ClusterId == {cluster} && ProcId == 1")
    if [ad["ProcId"] for ad in ads] != ["1"]:
        raise SoapError(f"getJobAds ProcId == 1 gave {len(ads)} ads")
    log(f"getJobAds ClusterId == {cluster} && ProcId == 1 -> 1 ad, JobStatus {ads[0]['JobStatus']}")
    check(service.removeCluster(None, cluster, "removed by the example"), "removeCluster")
    deadline = time.monotonic() + 60
    while job_ads(service, f"ClusterId == {cluster} && JobStatus != 3"):
        if time.monotonic() > deadline:
            raise SoapError(f"cluster {cluster} still has jobs that are not removed")
        time.sleep(0.2)
    log(f"removeCluster -> no job of cluster {cluster} is left unremoved")


def query_collector(collector, log: Callable = print) -> None:
    startds = collector.queryStartdAds("")  # collector queries answer the array, no Status
    schedds = collector.queryScheddAds("HasSOAPInterface =?= TRUE")
    if not startds or not schedds:
        raise SoapError(f"collector: {len(startds or [])} startd ads, {len(schedds or [])} schedd ads")
    names = [next(i.value for i in ad.item if i.name == "Name") for ad in schedds]
    log(f"queryStartdAds -> {len(startds)} ads; queryScheddAds -> {names}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the service URL, e.g. http://127.0.0.1:8080/")
    parser.add_argument("--wsdl", help="schedd WSDL to build the client from (default: the served one)")
    parser.add_argument("--collector-wsdl", help="collector WSDL (default: the served one)")
    parser.add_argument("--size", type=int, default=600_000, help="input file size in bytes")
    parser.add_argument("--owner", default=os.environ.get("CONDOR_SOAP_OWNER") or getpass.getuser(),
                        help="the job's Owner (default: $CONDOR_SOAP_OWNER or the current user)")
    args = parser.parse_args()
    _, service = connect(args.url, args.wsdl)
    _, collector = connect(args.url, args.collector_wsdl, "condorCollector")
    try:
        version = check(service.getVersionString(), "getVersionString").message
        if not version.startswith("$CondorVersion:"):
            raise SoapError(f"getVersionString: {version!r}")
        print(f"getVersionString -> {version}")
        payload = os.urandom(args.size)
        result = run_workflow(service, payload, args.owner)
        outputs = result["outputs"]
        if outputs["out.dat"] != payload:
            raise SoapError("out.dat differs from in.dat")
        if outputs["checksum.txt"].decode().strip() != hashlib.sha256(payload).hexdigest():
            raise SoapError("checksum.txt is not the SHA-256 of in.dat")
        if outputs["upper.txt"] != TEXT.upper():
            raise SoapError(f"upper.txt is {outputs['upper.txt']!r}")
        print("output verified")
        run_job_control(service, args.owner)
        query_collector(collector)
    except SoapError as error:
        print(f"FAILED: {error}")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
