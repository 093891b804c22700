"""Every Schedd and Transaction method against the live service, on both backends."""
from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
import types

import htcondor2
import pytest

from condor_soap.client import (ClassAd, Expression, Failed, InvalidTransaction, JobAction, JobStatus, Schedd,
                                UnknownFile, UnknownJob)
from condor_soap.client.settings import Settings
from condor_soap.client.transfer import spool_sizes
from condor_soap.client.wire import Txn
from tests.polling import wait_for

pytestmark = pytest.mark.slow

HELD = {"executable": "/bin/sleep", "arguments": "600", "transfer_executable": "false", "hold": "true"}


def held_jobs(schedd: Schedd, count: int = 1, **commands: str):
    return schedd.submit({**HELD, **commands}, count)


def test_version_and_platform(schedd):
    assert schedd.version().startswith("$CondorVersion: ") and schedd.version().endswith("$")
    assert schedd.platform().startswith("$CondorPlatform: ")
    schedd.reschedule()  # requestReschedule: SUCCESS, nothing to check but no exception


def test_submit_with_files_watch_fetch_close(schedd, tmp_path):
    (tmp_path / "job.sh").write_text('#!/bin/sh\ntr a-z A-Z < in.txt > upper.txt\ncat data.bin > copy.bin\nfor a in "$@"; do echo "[$a]"; done\n')
    (tmp_path / "in.txt").write_text("condor soap client\n")
    payload = os.urandom(300_000)  # two chunks of 256 KiB
    result = schedd.submit({"executable": "job.sh", "arguments": "\"one 'two three'\"", "transfer_input_files": "in.txt",
                            "output": "out.txt", "error": "err.txt"},
                           input_files=[("data.bin", payload)], base_dir=str(tmp_path))
    assert (result.num_procs(), result.first_proc()) == (1, 0) and result.jobs() == [f"{result.cluster()}.0"]
    assert result.clusterad()["Cmd"] == "job.sh" and result.clusterad()["ProcId"] == 0
    job = result.jobs()[0]
    final = schedd.wait(job, timeout=240, interval=0.5)[job]
    assert final["JobStatus"] == JobStatus.COMPLETED and final["ExitCode"] == 0

    out = tmp_path / "out"
    paths = schedd.retrieve(job, str(out))
    names = sorted(os.path.basename(p) for p in paths)
    assert {"upper.txt", "copy.bin", "out.txt", "err.txt"} <= set(names)
    assert not {"job.sh", "in.txt", "data.bin"} & set(names)  # the job's own inputs are left out
    assert (out / "upper.txt").read_text() == "CONDOR SOAP CLIENT\n"
    assert (out / "copy.bin").read_bytes() == payload
    assert (out / "out.txt").read_text() == "[one]\n[two three]\n"  # new-syntax arguments
    assert not list(out.glob("*.part"))

    spool = schedd.list_spool(job)
    assert spool["copy.bin"] == len(payload) and spool["data.bin"] == len(payload)
    assert schedd.retrieve(job, str(tmp_path / "in"), files=["in.txt"]) == [str(tmp_path / "in" / "in.txt")]
    everything = schedd.retrieve(job, str(tmp_path / "all"), include_inputs=True)
    assert {"job.sh", "in.txt", "data.bin"} <= {os.path.basename(p) for p in everything}
    with pytest.raises(UnknownFile, match="no-such"):
        schedd.retrieve(job, str(tmp_path / "x"), files=["no-such"])

    assert schedd.close_spool(job) == 1
    assert wait_for(lambda: _gone_or_retrieved(schedd, job), 30, 0.25, "FilesRetrieved after closeSpool")


def _gone_or_retrieved(schedd: Schedd, job: str) -> bool:
    try:
        return schedd.job(job).get("FilesRetrieved") is True
    except UnknownJob:
        return True


def test_submit_text_and_htcondor2_submit(schedd, tmp_path):
    text = """
        # a submit file as condor_submit reads it
        universe   = vanilla
        executable = /bin/sleep
        transfer_executable = false
        arguments  = "600 $(Process)"
        output     = out.$(Cluster).$(Process)
        request_memory = 2G
        request_disk   = 3 MB
        +Project   = "client tests"
        MY.Weight  = 2 * $(Process)
        hold       = true
        queue 2
    """
    result = schedd.submit(text)
    assert result.num_procs() == 2
    ads = {ad["ProcId"]: ad for ad in schedd.query(f"ClusterId == {result.cluster()}")}
    assert sorted(ads) == [0, 1]
    for proc, ad in ads.items():
        assert ad["JobStatus"] == JobStatus.HELD
        assert ad["Arguments"] == f"600 {proc}" and ad["Out"] == f"out.{result.cluster()}.{proc}"
        assert ad["RequestMemory"] == 2048 and ad["RequestDisk"] == 3072
        assert ad["project"] == "client tests"
        assert ad["Weight"] == Expression(f"2 * {proc}")

    submit = htcondor2.Submit({**HELD, "output": "o.$(ProcId)", "MY.Tag": '"from htcondor2"'})
    result2 = schedd.submit(submit, count=3)
    tags = sorted((ad["ProcId"], ad["Tag"], ad["Out"]) for ad in schedd.query(f"ClusterId == {result2.cluster()}"))
    assert tags == [(p, "from htcondor2", f"o.{p}") for p in range(3)]
    schedd.act(JobAction.Remove, result.cluster())
    schedd.act(JobAction.Remove, result2.cluster())


def test_query(schedd):
    result = held_jobs(schedd, 3, batch_name="query-test")
    cluster = result.cluster()
    found = schedd.query(f"ClusterId == {cluster}")
    assert isinstance(found, types.GeneratorType)  # an iterator: ads arrive as they are read
    ads = list(found)
    assert sorted(ad["ProcId"] for ad in ads) == [0, 1, 2]
    ad = ads[0]
    assert isinstance(ad, ClassAd)
    assert ad["clusterid"] == ad["ClusterId"] == cluster  # names are case-insensitive
    assert isinstance(ad["JobStatus"], int) and isinstance(ad["Cmd"], str)
    assert isinstance(ad["WantRemoteIO"], bool) and isinstance(ad["LocalUserCpu"], float)
    assert isinstance(ad["LeaveJobInQueue"], Expression)
    assert ad["JobBatchName"] == "query-test"
    classad = ad.to_classad()
    assert classad["ClusterId"] == cluster and classad.eval("LeaveJobInQueue") is True

    projected = list(schedd.query(f"ClusterId == {cluster} && ProcId == 1", ["procid", "JobStatus"]))
    assert [dict(a) for a in projected] == [{"ProcId": 1, "JobStatus": JobStatus.HELD}]
    assert len(list(schedd.query(f"ClusterId == {cluster}", limit=2))) == 2
    assert list(schedd.query("ClusterId == -1")) == []
    assert list(schedd.query("ClusterId == (")) == []  # a constraint that does not parse matches nothing
    schedd.act(JobAction.Remove, cluster)


def test_job(schedd):
    result = held_jobs(schedd)
    ad = schedd.job(result.jobs()[0])
    assert (ad["ClusterId"], ad["ProcId"], ad["Owner"]) == (result.cluster(), 0, schedd.owner)
    with pytest.raises(UnknownJob) as caught:
        schedd.job(f"{result.cluster()}.7")
    assert caught.value.job == f"{result.cluster()}.7" and caught.value.operation == "getJobAd"
    with pytest.raises(ValueError):
        schedd.job("ClusterId == 1")
    schedd.act(JobAction.Remove, result.cluster())


def status_of(schedd: Schedd, job: str):
    try:
        return schedd.job(job)["JobStatus"]
    except UnknownJob:
        return "gone"


def test_act_with_every_kind_of_job_spec(schedd):
    result = held_jobs(schedd, 4)
    cluster, jobs = result.cluster(), result.jobs()
    # one job: released, then held again
    assert schedd.act(JobAction.Release, jobs[0], "go")["TotalSuccess"] == 1
    wait_for(lambda: status_of(schedd, jobs[0]) in (JobStatus.IDLE, JobStatus.RUNNING), 60, 0.25, "release")
    counts = schedd.act(JobAction.Hold, jobs[0], "stop")
    assert dict(counts) == {"TotalJobAds": 1, "TotalSuccess": 1, "TotalError": 0, "TotalNotFound": 0}
    wait_for(lambda: status_of(schedd, jobs[0]) == JobStatus.HELD, 60, 0.25, "hold")
    assert schedd.job(jobs[0])["HoldReason"].startswith("stop")
    # holding a held job: one named job raises, a constraint counts the failure
    with pytest.raises(Failed):
        schedd.act(JobAction.Hold, jobs[0])
    counts = schedd.act(JobAction.Hold, f"ClusterId == {cluster} && ProcId < 2")
    assert (counts["TotalJobAds"], counts["TotalError"]) == (2, 2)
    # a list of jobs
    assert schedd.act(JobAction.Release, jobs[1:3])["TotalSuccess"] == 2
    # a constraint, then the cluster as a number and as text
    assert schedd.act(JobAction.Remove, f"ClusterId == {cluster} && ProcId == 3")["TotalSuccess"] == 1
    wait_for(lambda: status_of(schedd, jobs[3]) in (JobStatus.REMOVED, "gone"), 60, 0.25, "remove")
    assert schedd.act(JobAction.Remove, cluster)["TotalSuccess"] == 1
    wait_for(lambda: all(status_of(schedd, j) in (JobStatus.REMOVED, "gone") for j in jobs), 60, 0.25, "rm cluster")
    assert schedd.act(JobAction.RemoveX, f"ClusterId == {cluster}")["TotalError"] == 0
    assert list(schedd.act_each(JobAction.Hold, "ClusterId == -5")) == []


def test_transaction_commits_at_block_end(schedd):
    with schedd.transaction(duration=30) as txn:
        assert txn.duration == 30 and txn.id != 0
        first = txn.submit(HELD)
        second = txn.submit({**HELD, "arguments": "601"}, count=2)
        # not committed yet: nobody else sees them
        assert list(Schedd(settings=schedd.settings).query(f"ClusterId == {first.cluster()}")) == []
        assert txn.extend(45) == 45
    assert second.cluster() != first.cluster()
    assert len(list(schedd.query(f"ClusterId == {first.cluster()} || ClusterId == {second.cluster()}"))) == 3
    with pytest.raises(InvalidTransaction):
        txn.commit()  # closed
    schedd.act(JobAction.Remove, first.cluster())
    schedd.act(JobAction.Remove, second.cluster())


def test_transaction_aborted_by_an_exception_leaves_nothing(schedd, service, tmp_path):
    (tmp_path / "input.dat").write_bytes(os.urandom(100_000))
    with pytest.raises(RuntimeError, match="changed my mind"):
        with schedd.transaction() as txn:
            result = txn.submit({**HELD, "transfer_input_files": "input.dat"}, count=2, base_dir=str(tmp_path))
            ref, job = Txn(txn.id, txn.duration), result.jobs()[0]
            assert spool_sizes(schedd._endpoint, result.cluster(), 1, ref) == {"input.dat": 100_000}
            assert (service.state_dir / "staging" / str(ref.id)).is_dir()
            raise RuntimeError("changed my mind")
    # the service's own view: no job of the cluster, the transaction gone with its files
    assert list(schedd.query(f"ClusterId == {result.cluster()}")) == []
    with pytest.raises(UnknownJob):
        schedd.job(job)
    with pytest.raises(InvalidTransaction):
        spool_sizes(schedd._endpoint, result.cluster(), 0, ref)
    assert not (service.state_dir / "staging" / str(ref.id)).exists()


def test_lease_is_renewed_while_an_upload_runs(service, tmp_path):
    """A 2 s lease outlives a 6 s upload because the client renews it; without renewal it
    expires between two chunks."""
    data = os.urandom(4 * 65536)
    naps = []

    def slow(name: str, done: int, total: int) -> None:
        if name == "slow.bin" and 0 < done < total:
            naps.append(done)
            time.sleep(2.5)  # longer than the lease

    schedd = Schedd(settings=Settings(url=service.url, owner=service.owner), progress=slow, chunk_size=65536)
    with schedd.transaction(duration=2) as txn:
        result = txn.submit(HELD, input_files=[("slow.bin", data)])
        renewals = txn._keeper.renewals
    assert len(naps) == 3 and renewals >= 3
    assert schedd.list_spool(result.jobs()[0])["slow.bin"] == len(data)
    schedd.act(JobAction.Remove, result.cluster())

    with pytest.raises(InvalidTransaction):  # new content: the service's copy of data would be reused
        with schedd.transaction(duration=2, renew=False) as txn:
            txn.submit(HELD, input_files=[("slow.bin", os.urandom(len(data)))])


def test_known_content_is_not_sent_again(schedd, tmp_path):
    """MD5 declarations: content the service already holds is answered ALREADYEXISTS and
    skipped (condor-soap's blob cache fills at commit)."""
    content = os.urandom(200_000)
    sent: dict[str, int] = {}
    schedd.progress = lambda name, done, total: sent.__setitem__(name, done)
    try:
        first = schedd.submit(HELD, input_files=[("same.bin", content)])
        assert sent.pop("same.bin") == len(content)
        second = schedd.submit(HELD, input_files=[("same.bin", content), ("other.bin", content[:1000])])
    finally:
        schedd.progress = False
    assert "same.bin" not in sent and sent["other.bin"] == 1000  # only the new content travelled
    assert schedd.list_spool(second.jobs()[0])["same.bin"] == len(content)
    fetched = schedd.retrieve(second.jobs()[0], str(tmp_path), files=["same.bin"])
    assert hashlib.md5(open(fetched[0], "rb").read()).hexdigest() == hashlib.md5(content).hexdigest()
    schedd.act(JobAction.Remove, first.cluster())
    schedd.act(JobAction.Remove, second.cluster())


def test_broken_upload_resumes_where_the_service_copy_ends(schedd):
    """An upload interrupted on the client side is run again: declareFile answers
    ALREADYEXISTS, listSpool says how much arrived, and only the rest (plus one chunk) is sent."""
    data = os.urandom(10 * 65536 + 123)
    schedd.chunk_size = 65536
    done: list[int] = []

    def interrupt(name: str, sent: int, total: int) -> None:
        if sent >= 6 * 65536:
            raise RuntimeError("network down")

    try:
        with schedd.transaction() as txn:
            result = txn.submit(HELD)
            job = result.jobs()[0]
            schedd.progress = interrupt
            with pytest.raises(RuntimeError, match="network down"):
                txn.upload(job, [("big.bin", data)])
            schedd.progress = lambda name, sent, total: done.append(sent)
            sent = txn.upload(job, [("big.bin", data)])
    finally:
        schedd.progress, schedd.chunk_size = False, 256 * 1024
    assert sent == len(data) - 5 * 65536  # resumed one chunk before the six that arrived
    assert done[-1] == len(data)
    assert schedd.list_spool(job)["big.bin"] == len(data)
    schedd.act(JobAction.Remove, result.cluster())


def test_upload_survives_a_service_restart(make_service, tmp_path):
    """The service is killed mid-upload and comes back on the same port: the client retries
    the chunk in flight, the durable transaction carries on, the file arrives whole."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = make_service()
    proc.args = (*proc.args, "--port", str(port))
    url = proc.start()
    data = os.urandom(12 * 65536)
    restarts: list[threading.Thread] = []
    sent: list[int] = []

    def kill_once(name: str, done: int, total: int) -> None:
        sent.append(done)
        if done == 4 * 65536 and not restarts:
            proc.kill()
            restarts.append(threading.Thread(target=lambda: (time.sleep(1.0), proc.start())))
            restarts[0].start()

    schedd = Schedd(settings=Settings(url=url, owner=proc.owner), progress=kill_once, chunk_size=65536, retry_for=60)
    result = schedd.submit(HELD, input_files=[("big.bin", data)])
    restarts[0].join(30)
    assert sent[-1] == len(data) and sent == sorted(sent)  # each chunk counted once
    job = result.jobs()[0]
    assert schedd.list_spool(job)["big.bin"] == len(data)
    path = schedd.retrieve(job, str(tmp_path), files=["big.bin"])[0]
    assert open(path, "rb").read() == data
    schedd.act(JobAction.Remove, result.cluster())


def test_wait_times_out(schedd):
    result = held_jobs(schedd)
    assert schedd.wait(result.cluster(), states=[JobStatus.HELD], timeout=30)[result.jobs()[0]]["JobStatus"] == 5
    with pytest.raises(TimeoutError):
        schedd.wait(result.jobs()[0], states=[JobStatus.COMPLETED], timeout=1, interval=0.2)
    schedd.act(JobAction.Remove, result.cluster())


def test_bad_descriptions_fail_before_anything_is_queued(schedd, tmp_path):
    with pytest.raises(ValueError, match="no executable"):
        schedd.submit({"arguments": "x"})
    with pytest.raises(ValueError, match="not found"):
        schedd.submit({"executable": "missing.sh"}, base_dir=str(tmp_path))
    with pytest.raises(ValueError, match="queue"):
        schedd.submit("executable = /bin/true\nqueue 3 from list.txt\n")
    with pytest.warns(UserWarning, match="getenv"):
        result = schedd.submit({**HELD, "getenv": "true"})
    schedd.act(JobAction.Remove, result.cluster())
