"""A SOAP client workload for the reliability tests and the load bench: full workflows
(begin, newCluster, newJob, declareFile, sendFile, submit, commit) and reads, over raw SOAP
with one ``requests.Session`` per client thread, every call timed per operation.

Every job a workflow submits carries ``CondorSoapRun`` (the run) and ``CondorSoapTag`` (the
transaction), so a check can count what a run queued: a tag's jobs must be there exactly once
if its commit answered SUCCESS, all or none if the answer was lost, none otherwise.
"""
from __future__ import annotations

import base64
import os
import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Optional
from xml.sax.saxutils import escape

import requests
from lxml import etree

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SCRIPT = b"#!/bin/sh\ncat in.dat > out.dat\n"


def envelope(name: str, children: str = "") -> bytes:
    return (f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns:c="urn:condor"><soapenv:Body>'
            f"<c:{name}>{children}</c:{name}></soapenv:Body></soapenv:Envelope>").encode()


class CallFailed(Exception):
    """A call answered with another code than expected (the answer is in the message)."""


@dataclass
class Stats:
    """Latencies per operation and failures, shared by every client of a run (thread-safe)."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, name: str, seconds: float) -> None:
        with self.lock:
            self.latencies[name].append(seconds)

    def failed(self, name: str) -> None:
        with self.lock:
            self.failures[name] += 1

    def calls(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def summary(self) -> dict[str, tuple[int, float, float]]:
        """operation -> (calls, p50 ms, p99 ms)."""
        out = {}
        for name, values in sorted(self.latencies.items()):
            ordered = sorted(values)
            out[name] = (len(ordered), 1e3 * ordered[len(ordered) // 2],
                         1e3 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))])
        return out


class Client:
    """One client thread's connection to the service at ``url()`` (which may change)."""

    def __init__(self, url: Callable[[], str], stats: Stats, timeout: float = 60.0) -> None:
        self.url = url
        self.stats = stats
        self.timeout = timeout
        self.session = requests.Session()

    def call(self, name: str, children: str = "", expect: tuple[str, ...] = ("SUCCESS",)) -> etree._Element:
        """Post one operation; returns its ``response`` element. Raises requests' errors when
        the service is gone, :class:`CallFailed` for an unexpected code."""
        started = time.monotonic()
        try:
            reply = self.session.post(self.url(), data=envelope(name, children), timeout=self.timeout,
                                      headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
        except requests.RequestException:
            self.stats.failed(name)
            self.session.close()
            self.session = requests.Session()
            raise
        self.stats.record(name, time.monotonic() - started)
        body = etree.fromstring(reply.content).find(f"{{{SOAP_ENV}}}Body")[0]
        response = body.find("response")
        status = response.find("status") if response is not None and response.find("status") is not None \
            else response
        code = status.findtext("code") if status is not None else None
        if name.startswith("query"):
            return body
        if code not in expect:
            self.stats.failed(name)
            raise CallFailed(f"{name}: {code} {status.findtext('message') if status is not None else reply.text[:200]}")
        return response


@dataclass
class Outcome:
    """What one workflow's client knows: the tag, how many jobs, and whether its commit
    answered SUCCESS (True), something else or never ran (False), or got no answer (None)."""

    tag: str
    jobs: int
    committed: Optional[bool] = False


def _item(name: str, value: str, kind: str) -> str:
    return f"<item><name>{name}</name><type>{kind}</type><value>{escape(value)}</value></item>"


def workflow(client: Client, run: str, tag: str, *, clusters: int = 2, procs: int = 1, size: int = 16384,
             duration: int = 30, runnable: bool = True, keep: bool = True, commit: bool = True,
             outcomes: Optional[list] = None) -> Outcome:
    """One transaction: ``clusters`` x ``procs`` jobs, each with a script and ``size`` bytes of
    input sent in two chunks, then commit (``commit`` False: abort). ``runnable`` False:
    ``Requirements = false``; ``keep`` False: a completed job leaves the queue."""
    outcome = Outcome(tag, clusters * procs)
    if outcomes is not None:
        outcomes.append(outcome)
    txn_id = client.call("beginTransaction", f"<duration>{duration}</duration>").findtext("transaction/id")
    txn = f"<transaction><id>{txn_id}</id><duration>{duration}</duration></transaction>"
    try:
        for _ in range(clusters):
            cluster = client.call("newCluster", txn).findtext("integer")
            for _ in range(procs):
                proc = client.call("newJob", f"{txn}<clusterId>{cluster}</clusterId>").findtext("integer")
                ids = f"<clusterId>{cluster}</clusterId><jobId>{proc}</jobId>"
                payload = os.urandom(size)
                for name, data in (("job.sh", SCRIPT), ("in.dat", payload)):
                    client.call("declareFile", f"{txn}{ids}<name>{name}</name><size>{len(data)}</size>"
                                               "<hashType>NOHASH</hashType>")
                    half = len(data) // 2
                    for offset, chunk in ((0, data[:half]), (half, data[half:])):
                        client.call("sendFile", f"{txn}{ids}<name>{name}</name><offset>{offset}</offset>"
                                                f"<data>{base64.b64encode(chunk).decode()}</data>")
                ad = (_item("Cmd", "job.sh", "STRING-ATTR") + _item("CondorSoapRun", run, "STRING-ATTR")
                      + _item("CondorSoapTag", tag, "STRING-ATTR")
                      + _item("LeaveJobInQueue", "true" if keep else "false", "BOOLEAN-ATTR")
                      + ("" if runnable else _item("Requirements", "false", "EXPRESSION-ATTR")))
                client.call("submit", f"{txn}{ids}<jobAd>{ad}</jobAd>")
    except BaseException:
        try:
            client.call("abortTransaction", txn, expect=("SUCCESS", "INVALIDTRANSACTION"))
        except Exception:
            pass  # the service is gone: the lease ends the transaction
        raise
    if not commit:
        client.call("abortTransaction", txn)
        return outcome
    outcome.committed = None  # from here the answer may be lost
    try:
        client.call("commitTransaction", txn)
    except CallFailed:
        outcome.committed = False
        raise
    outcome.committed = True
    return outcome


def job_ads(response: etree._Element) -> list[dict[str, str]]:
    """The job ads of a getJobAds response, as name -> value."""
    array = response.find("classAdArray")
    return [{i.findtext("name"): i.findtext("value") for i in ad.iter("item")}
            for ad in (array if array is not None else ())]


def reads(client: Client, run: str, rng: random.Random) -> None:
    """The reads a monitoring client makes."""
    client.call("getVersionString")
    idle = escape(f'CondorSoapRun == "{run}" && JobStatus == 1')
    client.call("getJobAds", f"<constraint>{idle}</constraint>")
    client.call("queryStartdAds", "<constraint>true</constraint>")
    if rng.random() < 0.5:
        client.call("getPlatformString")


def queued(client: Client, run: str) -> dict[str, int]:
    """tag -> how many not-removed jobs of ``run`` the queue holds."""
    constraint = escape(f'CondorSoapRun == "{run}" && JobStatus != 3')
    counts: dict[str, int] = defaultdict(int)
    for values in job_ads(client.call("getJobAds", f"<constraint>{constraint}</constraint>")):
        if "CondorSoapTag" in values:
            counts[values["CondorSoapTag"]] += 1
    return dict(counts)


def check_exactly_once(outcomes: list[Outcome], counts: dict[str, int]) -> dict[str, int]:
    """Compare what clients were told with what the queue holds; returns the figures, raises
    AssertionError naming every violation."""
    problems = []
    known = {o.tag for o in outcomes}
    for tag in set(counts) - known:
        problems.append(f"{tag}: {counts[tag]} jobs queued by no workflow")
    figures = {"committed": 0, "answer lost, applied": 0, "answer lost, not applied": 0, "not committed": 0,
               "jobs checked": 0}
    for o in outcomes:
        n = counts.get(o.tag, 0)
        figures["jobs checked"] += n
        if o.committed is True:
            figures["committed"] += 1
            if n != o.jobs:
                problems.append(f"{o.tag}: commit answered SUCCESS, {n} of {o.jobs} jobs queued")
        elif o.committed is None:
            if n not in (0, o.jobs):
                problems.append(f"{o.tag}: commit unanswered, {n} of {o.jobs} jobs queued (half-applied)")
            figures["answer lost, applied" if n else "answer lost, not applied"] += 1
        else:
            figures["not committed"] += 1
            if n:
                problems.append(f"{o.tag}: never committed, yet {n} jobs queued")
    assert not problems, "\n".join(problems[:50])
    return figures
