"""The client-matrix workflow with suds-community (a dynamic client, like the suds portals).

    python workflow.py URL [SCHEDD_WSDL COLLECTOR_WSDL]

Same steps as examples/zeep_workflow.py; prints "OK" last or exits 1 with the reason.
With credentials: CONDOR_SOAP_USER=alice CONDOR_SOAP_PASSWORD=... python workflow.py URL
(HTTP Basic via suds.transport.http.HttpAuthenticated(username=, password=), which sends it
preemptively on every request; the default transport would only answer the 401 challenge).
Caveat: suds 1.2.0 base64-encodes user:password with the URL-safe alphabet, so credentials whose
base64 holds "+" or "/" are refused.
"""
import base64
import getpass
import os
import sys
import time
from pathlib import Path

from suds.client import Client
from suds.transport.http import HttpAuthenticated

CHUNK = 64 * 1024
SCRIPT = b"#!/bin/sh\ncp input.bin output.bin\ntr a-z A-Z < input.txt > output.txt\n"
TEXT = b"Hello from a condor-soap client.\nThe job upper-cases this line.\n"


class Failure(Exception):
    pass


def check(status, what):
    if status.code != "SUCCESS":
        raise Failure(f"{what}: {status.code} {getattr(status, 'message', '')}")


def items(array):
    """suds leaves out an empty array's item (and sometimes the array)."""
    return getattr(array, "item", None) or [] if array is not None else []


def attrs(ad):
    return {a.name: a.value for a in items(ad)}


def client(wsdl, url):
    wsdl = wsdl if "://" in wsdl else Path(wsdl).resolve().as_uri()
    options = {}
    if os.environ.get("CONDOR_SOAP_USER"):  # a transport object serves one client only
        options["transport"] = HttpAuthenticated(username=os.environ["CONDOR_SOAP_USER"],
                                                 password=os.environ.get("CONDOR_SOAP_PASSWORD", ""))
    return Client(wsdl, location=url, cache=None, **options).service  # location: override soap:address


def main(url, schedd_wsdl, collector_wsdl):
    owner = os.environ.get("CONDOR_SOAP_OWNER") or getpass.getuser()
    schedd = client(schedd_wsdl, url)
    collector = client(collector_wsdl, url)

    def upload(txn, cluster, proc, name, data):
        check(schedd.declareFile(txn, cluster, proc, name, len(data), "NOHASH", None), f"declareFile {name}")
        for offset in range(0, len(data), CHUNK):  # suds wants base64Binary as base64 text
            chunk = base64.b64encode(data[offset:offset + CHUNK]).decode()
            check(schedd.sendFile(txn, cluster, proc, name, offset, chunk), f"sendFile {name}")

    def download(cluster, proc, name, size):
        data = b""
        while len(data) < size:
            got = schedd.getFile(None, cluster, proc, name, len(data), min(CHUNK, size - len(data)))
            check(got.status, f"getFile {name}")
            chunk = base64.b64decode(getattr(got, "data", None) or "")
            if not chunk:
                raise Failure(f"getFile {name}: no data")
            data += chunk
        return data

    def job_status(cluster, proc):
        r = schedd.getJobAd(None, cluster, proc)
        if r.status.code == "UNKNOWNJOB":
            return "gone"
        check(r.status, "getJobAd")
        return attrs(r.classAd)["JobStatus"]

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
        r = schedd.getJobAds(None, constraint)
        check(r.status, f"getJobAds {constraint}")
        return items(getattr(r, "classAdArray", None))

    def new_job(txn, cluster, cmd, args):
        job = schedd.newJob(txn, cluster)
        check(job.status, "newJob")
        t = schedd.createJobTemplate(cluster, job.integer, owner, "VANILLA", cmd, args, None)
        check(t.status, "createJobTemplate")
        # suds reads an empty <value></value> as None: send it back as ""
        ad = {"item": [{"name": a.name, "type": a.type, "value": a.value or ""} for a in items(t.classAd)]}
        return job.integer, ad

    version = schedd.getVersionString()
    check(version.status, "getVersionString")
    if not version.message.startswith("$CondorVersion:"):
        raise Failure(f"getVersionString: {version.message}")
    print("getVersionString ->", version.message)

    begun = schedd.beginTransaction(60)
    check(begun.status, "beginTransaction")
    txn = begun.transaction
    c = schedd.newCluster(txn)
    check(c.status, "newCluster")
    cluster = c.integer
    proc, ad = new_job(txn, cluster, "job.sh", None)
    binary = bytes((i * 7 + (i >> 8)) & 0xFF for i in range(3 * CHUNK + 4321))
    upload(txn, cluster, proc, "job.sh", SCRIPT)
    upload(txn, cluster, proc, "input.txt", TEXT)
    upload(txn, cluster, proc, "input.bin", binary)
    check(schedd.submit(txn, cluster, proc, ad).status, "submit")
    check(schedd.commitTransaction(txn), "commitTransaction")
    print(f"submitted job {cluster}.{proc} with 3 files")

    print("JobStatus", wait_status(cluster, proc, {"4"}))
    spool = schedd.listSpool(None, cluster, proc)
    check(spool.status, "listSpool")
    sizes = {f.name: int(f.size) for f in items(spool.info)}
    print("listSpool ->", sorted(sizes.items()))
    if "output.bin" not in sizes or "output.txt" not in sizes:
        raise Failure("outputs missing from the spool")
    if download(cluster, proc, "output.bin", sizes["output.bin"]) != binary:
        raise Failure("output.bin differs from input.bin")
    upper = download(cluster, proc, "output.txt", sizes["output.txt"])
    if upper != TEXT.upper():
        raise Failure(f"output.txt is {upper!r}")
    check(schedd.closeSpool(None, cluster, proc), "closeSpool")
    print("outputs verified, spool closed")

    txn = schedd.beginTransaction(60).transaction
    sleepers = schedd.newCluster(txn).integer
    for _ in range(2):
        j, t = new_job(txn, sleepers, "/bin/sleep", "300")
        check(schedd.submit(txn, sleepers, j, t).status, "submit")
    check(schedd.commitTransaction(txn), "commitTransaction")
    check(schedd.holdJob(None, sleepers, 0, "held by the client", False, False, False), "holdJob")
    print("held: JobStatus", wait_status(sleepers, 0, {"5"}))
    check(schedd.releaseJob(None, sleepers, 0, "released by the client", False, False), "releaseJob")
    print("released: JobStatus", wait_status(sleepers, 0, {"1", "2"}))
    check(schedd.removeJob(None, sleepers, 0, "removed by the client", False), "removeJob")
    print("removed:", wait_status(sleepers, 0, {"3", "gone"}))

    ads = job_ads(f"ClusterId == {sleepers} && ProcId == 1")
    if len(ads) != 1 or attrs(ads[0])["ProcId"] != "1":
        raise Failure(f"getJobAds: {len(ads)} ads")
    check(schedd.removeCluster(None, sleepers, "removed by the client"), "removeCluster")
    deadline = time.monotonic() + 60
    while job_ads(f"ClusterId == {sleepers} && JobStatus != 3"):
        if time.monotonic() > deadline:
            raise Failure("removeCluster: jobs left")
        time.sleep(0.25)
    print(f"cluster {sleepers} removed")

    startds = items(collector.queryStartdAds(""))
    schedds = items(collector.queryScheddAds("HasSOAPInterface =?= TRUE"))
    if not startds or not schedds:
        raise Failure("collector: no ads")
    print(f"collector: {len(startds)} startd ads, {len(schedds)} schedd ads")


if __name__ == "__main__":
    url = sys.argv[1]
    try:
        main(url, *(sys.argv[2:4] or [url + "condorSchedd.wsdl", url + "condorCollector.wsdl"]))
    except Failure as error:
        print(f"FAILED: {error}")
        sys.exit(1)
    print("OK")
