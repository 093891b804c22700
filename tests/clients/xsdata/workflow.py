"""The client-matrix workflow with xsdata's generated dataclasses and its SOAP client.

    xsdata generate condorSchedd.wsdl --package condor_schedd
    xsdata generate condorCollector.wsdl --package condor_collector
    PYTHONPATH=. python workflow.py URL

Each operation is a generated ``<PortType><Operation>`` service class whose input envelope
wraps the typed request element; ``call`` below builds it. Same steps as
examples/zeep_workflow.py; prints "OK" last or exits 1 with the reason.
With credentials: CONDOR_SOAP_USER=alice CONDOR_SOAP_PASSWORD=... PYTHONPATH=. python workflow.py URL
(HTTP Basic via xsdata's DefaultTransport on a requests Session with ``auth``: sent preemptively).
"""
import getpass
import os
import re
import sys
import time

import requests
from xsdata.formats.dataclass.client import Client, Config
from xsdata.formats.dataclass.transports import DefaultTransport

import condor_collector.condor_collector as collector_types
import condor_schedd.condor_schedd as types

CHUNK = 64 * 1024
SCRIPT = b"#!/bin/sh\ncp input.bin output.bin\ntr a-z A-Z < input.txt > output.txt\n"
TEXT = b"Hello from a condor-soap client.\nThe job upper-cases this line.\n"
URL = sys.argv[1]
TRANSPORT = None  # None: a new anonymous DefaultTransport per call
if os.environ.get("CONDOR_SOAP_USER"):
    session = requests.Session()
    session.auth = (os.environ["CONDOR_SOAP_USER"], os.environ.get("CONDOR_SOAP_PASSWORD", ""))
    TRANSPORT = DefaultTransport(session=session)


class Failure(Exception):
    pass


def call(module, port, operation, **fields):
    """Send ``operation`` (typed request fields) to URL; the <operation>Response element."""
    name = operation[0].upper() + operation[1:]
    service = getattr(module, port + name)
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()
    request = service.input(body=service.input.Body(**{snake: getattr(module, name)(**fields)}))
    # location: the generated classes carry the WSDL's soap:address (http://localhost:80 originally)
    # (from_service's transport= is the binding's namespace, so the transport goes to Client itself)
    out = Client(Config.from_service(service, location=URL), transport=TRANSPORT).send(request)
    if out.body.fault:
        raise Failure(f"{operation}: SOAP fault {out.body.fault.faultstring}")
    return getattr(out.body, snake + "_response")


def schedd(operation, **fields):
    return call(types, "CondorScheddPortType", operation, **fields).response


def check(status, what):
    if status.code != types.StatusCode.SUCCESS:
        raise Failure(f"{what}: {status.code.value} {status.message}")


def attrs(ad):
    return {a.name: a.value for a in (ad.item if ad else [])}


def upload(txn, cluster, proc, name, data):
    job = dict(transaction=txn, cluster_id=cluster, job_id=proc, name=name)
    check(schedd("declareFile", **job, size=len(data), hash_type=types.HashType.NOHASH), f"declareFile {name}")
    for offset in range(0, len(data), CHUNK):
        check(schedd("sendFile", **job, offset=offset, data=data[offset:offset + CHUNK]), f"sendFile {name}")


def download(cluster, proc, name, size):
    data = b""
    while len(data) < size:
        got = schedd("getFile", cluster_id=cluster, job_id=proc, name=name, offset=len(data),
                     length=min(CHUNK, size - len(data)))
        check(got.status, f"getFile {name}")
        if not got.data:
            raise Failure(f"getFile {name}: no data")
        data += got.data
    return data


def job_status(cluster, proc):
    r = schedd("getJobAd", cluster_id=cluster, job_id=proc)
    if r.status.code == types.StatusCode.UNKNOWNJOB:
        return "gone"
    check(r.status, "getJobAd")
    return attrs(r.class_ad)["JobStatus"]


def wait_status(cluster, proc, wanted):
    deadline = time.monotonic() + 120
    while True:
        status = job_status(cluster, proc)
        if status in wanted:
            return status
        if status == "5":
            raise Failure(f"job {cluster}.{proc} was held")
        if time.monotonic() > deadline:
            raise Failure(f"job {cluster}.{proc} stays in JobStatus {status}")
        time.sleep(0.25)


def job_ads(constraint):
    r = schedd("getJobAds", constraint=constraint)
    check(r.status, f"getJobAds {constraint}")
    return r.class_ad_array.item if r.class_ad_array else []


def new_job(txn, cluster, owner, cmd, args):
    job = schedd("newJob", transaction=txn, cluster_id=cluster)
    check(job.status, "newJob")
    t = schedd("createJobTemplate", cluster_id=cluster, job_id=job.integer, owner=owner,
               type_value=types.UniverseType.VANILLA, cmd=cmd, args=args)
    check(t.status, "createJobTemplate")
    for item in t.class_ad.item:  # an empty <value></value> reads as None: send it back as ""
        item.value = item.value or ""
    return job.integer, t.class_ad


def main():
    owner = os.environ.get("CONDOR_SOAP_OWNER") or getpass.getuser()
    version = schedd("getVersionString")
    check(version.status, "getVersionString")
    if not version.message.startswith("$CondorVersion:"):
        raise Failure(f"getVersionString: {version.message}")
    print("getVersionString ->", version.message)

    begun = schedd("beginTransaction", duration=60)
    check(begun.status, "beginTransaction")
    txn = begun.transaction
    c = schedd("newCluster", transaction=txn)
    check(c.status, "newCluster")
    cluster = c.integer
    proc, ad = new_job(txn, cluster, owner, "job.sh", None)
    binary = bytes((i * 7 + (i >> 8)) & 0xFF for i in range(3 * CHUNK + 4321))
    upload(txn, cluster, proc, "job.sh", SCRIPT)
    upload(txn, cluster, proc, "input.txt", TEXT)
    upload(txn, cluster, proc, "input.bin", binary)
    check(schedd("submit", transaction=txn, cluster_id=cluster, job_id=proc, job_ad=ad).status, "submit")
    check(schedd("commitTransaction", transaction=txn), "commitTransaction")
    print(f"submitted job {cluster}.{proc} with 3 files")

    print("JobStatus", wait_status(cluster, proc, {"4"}))
    spool = schedd("listSpool", cluster_id=cluster, job_id=proc)
    check(spool.status, "listSpool")
    sizes = {f.name: f.size for f in spool.info.item}
    print("listSpool ->", sorted(sizes.items()))
    if "output.bin" not in sizes or "output.txt" not in sizes:
        raise Failure("outputs missing from the spool")
    if download(cluster, proc, "output.bin", sizes["output.bin"]) != binary:
        raise Failure("output.bin differs from input.bin")
    upper = download(cluster, proc, "output.txt", sizes["output.txt"])
    if upper != TEXT.upper():
        raise Failure(f"output.txt is {upper!r}")
    check(schedd("closeSpool", cluster_id=cluster, job_id=proc), "closeSpool")
    print("outputs verified, spool closed")

    txn = schedd("beginTransaction", duration=60).transaction
    sleepers = schedd("newCluster", transaction=txn).integer
    for _ in range(2):
        j, t = new_job(txn, sleepers, owner, "/bin/sleep", "300")
        check(schedd("submit", transaction=txn, cluster_id=sleepers, job_id=j, job_ad=t).status, "submit")
    check(schedd("commitTransaction", transaction=txn), "commitTransaction")
    first = dict(cluster_id=sleepers, job_id=0)
    check(schedd("holdJob", **first, reason="held", email_user=False, email_admin=False, system_hold=False), "holdJob")
    print("held: JobStatus", wait_status(sleepers, 0, {"5"}))
    check(schedd("releaseJob", **first, reason="released", email_user=False, email_admin=False), "releaseJob")
    print("released: JobStatus", wait_status(sleepers, 0, {"1", "2"}))
    check(schedd("removeJob", **first, reason="removed", force_removal=False), "removeJob")
    print("removed:", wait_status(sleepers, 0, {"3", "gone"}))

    ads = job_ads(f"ClusterId == {sleepers} && ProcId == 1")
    if len(ads) != 1 or attrs(ads[0])["ProcId"] != "1":
        raise Failure(f"getJobAds: {len(ads)} ads")
    check(schedd("removeCluster", cluster_id=sleepers, reason="removed by the client"), "removeCluster")
    deadline = time.monotonic() + 60
    while job_ads(f"ClusterId == {sleepers} && JobStatus != 3"):
        if time.monotonic() > deadline:
            raise Failure("removeCluster: jobs left")
        time.sleep(0.25)
    print(f"cluster {sleepers} removed")

    port = "CondorCollectorPortType"
    startds = call(collector_types, port, "queryStartdAds", constraint="").result.item
    schedds = call(collector_types, port, "queryScheddAds", constraint="HasSOAPInterface =?= TRUE").result.item
    if not startds or not schedds:
        raise Failure("collector: no ads")
    print(f"collector: {len(startds)} startd ads, {len(schedds)} schedd ads")


if __name__ == "__main__":
    try:
        main()
    except Failure as error:
        print(f"FAILED: {error}")
        sys.exit(1)
    print("OK")
