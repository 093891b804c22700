"""The htcondor backend on the project's real pool: what the contract suite cannot show
(ids as the schedd sees them, the alias race, refusals, crash recovery, schedd outages)."""
from __future__ import annotations

import os
import sqlite3
import subprocess

import classad2
import pytest

from condor_soap.core.ports import BackendError, NoSuchJob
from condor_soap.core.records import ActionKind, CommitBatch, JobAction, NewJob
from tests.backends.jobs import act, new_job, spool_text, submit, token, wait_for, wait_status
from tests.conftest import POOL_SCRIPT

pytestmark = pytest.mark.real_pool
RUNNING, REMOVED, COMPLETED, HELD = 2, 3, 4, 5


@pytest.fixture
def hb(make_htcondor):
    return make_htcondor()


def schedd():
    import htcondor2

    return htcondor2.Schedd(htcondor2.Collector().locate(htcondor2.DaemonType.Schedd,
                                                         htcondor2.param.get("SCHEDD_HOST")))


def condor_q(pool, constraint: str) -> list[list[str]]:
    """``condor_q -af ClusterId ProcId CondorSoapToken CondorSoapJob`` inside the pool."""
    out = pool.run("condor_q", "-all", "-constraint", constraint, "-af",
                  "ClusterId", "ProcId", "CondorSoapToken", "CondorSoapJob")
    return [line.split() for line in out.splitlines() if line.strip()]


def foreign_job() -> int:
    """Another submitter takes the schedd's next cluster id (a held job that never runs)."""
    import htcondor2

    result = schedd().submit(htcondor2.Submit({"executable": "/bin/true", "transfer_executable": "false",
                                               "hold": "true", "MY.ForeignTest": "true"}))
    return result.cluster()


def remove_foreign(cluster: int) -> None:
    import htcondor2

    for action in (htcondor2.JobAction.Remove, htcondor2.JobAction.RemoveX):
        schedd().act(action, f"ClusterId == {cluster}")


def test_ids_are_the_schedds(hb, staging, real_pool):
    # A fresh backend predicts from the ids it can see in the queue and history; an id the
    # schedd consumed invisibly (a refused submit leaves no job anywhere) makes its first
    # commit aliased, after which its predictions follow the schedd's real ids.
    hb.apply(CommitBatch(token(), (new_job(hb, staging, "exit 0\n"),)))
    job = new_job(hb, staging, "sleep 300\n")
    batch = CommitBatch(token(), (job,))
    assert hb.apply(batch) == []
    rows = condor_q(real_pool, f'CondorSoapToken == "{batch.token}"')
    assert rows == [[str(job.cluster), str(job.proc), batch.token, f"{job.cluster}.{job.proc}"]]
    assert hb.spool_dir(job.cluster, job.proc) == hb.job(job.cluster, job.proc)["Iwd"]


def test_released_ids_realign_the_prediction(hb, staging, real_pool):
    """An aborted transaction's cluster id is handed back, so the next commit is not aliased
    (without it every later prediction would stay one ahead of the schedd)."""
    wasted = hb.new_cluster_id()
    hb.release_cluster_ids([wasted])
    job = new_job(hb, staging, "exit 0\n")
    assert job.cluster == wasted
    batch = CommitBatch(token(), (job,))
    assert hb.apply(batch) == []
    rows = condor_q(real_pool, f'CondorSoapToken == "{batch.token}"')
    assert [rows[0][0], rows[0][3]] == [str(job.cluster), f"{job.cluster}.{job.proc}"]


def test_alias_race(make_htcondor, staging, real_pool):
    """Two transactions predict ids, another submitter takes the first one, the second
    transaction commits first: the client's ids keep working everywhere."""
    hb = make_htcondor()
    first = hb.new_cluster_id()
    second = hb.new_cluster_id()
    assert second == first + 1
    taken = foreign_job()
    try:
        assert taken == first  # the prediction was right: the other submitter got it
        job2 = new_job(hb, staging, "sleep 300\n", cluster=second, Tag="second")
        assert hb.apply(CommitBatch(token(), (job2,))) == []
        jobs1 = tuple(new_job(hb, staging, "echo out-$1 > result.txt\n", files={"in.txt": f"in {i}\n"},
                              cluster=first, proc=i, Tag="first", Arguments=str(i)) for i in (0, 2))
        batch1 = CommitBatch(token(), jobs1)
        assert hb.apply(batch1) == []

        rows = condor_q(real_pool, f'CondorSoapToken == "{batch1.token}"')
        real = int(rows[0][0])
        assert real not in (first, second) and [r[1] for r in rows] == ["0", "1"]
        assert sorted(r[3] for r in rows) == [f"{first}.0", f"{first}.2"]
        # reads with the client's ids; the foreign job that has the real id `first` is shadowed
        for proc in (0, 2):
            ad = hb.job(first, proc)
            assert (ad["ClusterId"], ad["ProcId"], ad["Tag"]) == (first, proc, "first")
            assert ad["GlobalJobId"].split("#")[1] == f"{first}.{proc}"
        assert hb.job(first, 1) is None
        listed = hb.jobs(f"ClusterId == {first}")
        assert sorted((a["ClusterId"], a["ProcId"], a["Tag"]) for a in listed) == \
            [(first, 0, "first"), (first, 2, "first")]
        assert hb.jobs(f"ClusterId == {real}") == []  # the real id is not a client id
        # a bulk read counts only what matches on the client's ids (the limit of a query is on
        # that count): not the foreign job shadowed by the alias, not the rest of the queue
        pages = hb.stream_jobs(f"ClusterId == {first}")
        assert len(pages) == 2 and sorted((a["ClusterId"], a["ProcId"]) for a in pages) == [(first, 0), (first, 2)]
        assert len(hb.stream_jobs(f"ClusterId == {real}")) == 0
        assert [a["ProcId"] for a in hb.stream_jobs(f"ClusterId == {first} && ProcId == 2")] == [2]
        assert not [a for a in hb.jobs() if a.get("ForeignTest") is True and a["ClusterId"] == first]
        assert [(a["ClusterId"], a["ProcId"]) for a in hb.jobs(f"ClusterId == {first} && ProcId == 2")] == \
            [(first, 2)]
        # judged here with aliases: the constraint sees every attribute, whatever the projection
        [projected] = hb.jobs(f'ClusterId == {first} && Tag == "first" && ProcId == 2', projection=["Arguments"],
                              limit=5)
        assert (projected["ProcId"], projected["Arguments"]) == (2, "2")
        assert {f.name for f in hb.list_spool(first, 2)} >= {"in.txt", "job.sh"}
        assert spool_text(hb, first, 2, "in.txt") == "in 2\n"
        # output, actions and closeSpool with the client's ids
        wait_status(hb, first, 2, COMPLETED, timeout=90)
        assert spool_text(hb, first, 2, "result.txt") == "out-2\n"
        wait_status(hb, first, 0, COMPLETED, timeout=90)
        assert act(hb, ActionKind.HOLD, second, 0, reason="stop") == []
        assert hb.job(second, 0)["JobStatus"] == HELD
        assert act(hb, ActionKind.CLOSE_SPOOL, first, 0) == []
        wait_for(lambda: hb.job(first, 0) is None, 30, what="closeSpool to drop the job")
        assert hb.job(first, 2) is not None
        assert act(hb, ActionKind.REMOVE_CLUSTER, first, None, reason="done") == []
        assert hb.job(first, 2)["JobStatus"] == REMOVED
        foreign = schedd().query(f"ClusterId == {taken}", ["JobStatus"])
        assert [a["JobStatus"] for a in foreign] == [HELD]  # never touched through the alias
        # the alias table survives a restart of the service
        hb.close()
        again = make_htcondor(state_dir=hb.config.state_dir)
        assert again.job(first, 2)["Tag"] == "first"
        assert again.jobs(f"ClusterId == {first}")[0]["ProcId"] == 2
    finally:
        remove_foreign(taken)


def test_commits_in_another_order_than_their_ids(make_htcondor, staging, real_pool):
    """Six transactions commit in a permuted order (as concurrent clients do): every id query
    finds exactly its own cluster, in bulk (pages, counted before they are read) and as a list."""
    hb = make_htcondor()
    ids = [hb.new_cluster_id() for _ in range(6)]
    for i in (0, 3, 5, 4, 1, 2):
        jobs = tuple(new_job(hb, staging, "exit 0\n", cluster=ids[i], proc=p, Tag=f"c{i}",
                             Requirements=classad2.ExprTree("false")) for p in range(3))  # never runs
        assert hb.apply(CommitBatch(token(), jobs)) == []
    assert hb._state.ids, "the permuted commits were aliased"
    for i, cluster in enumerate(ids):
        wanted = [(cluster, p, f"c{i}") for p in range(3)]
        pages = hb.stream_jobs(f"ClusterId == {cluster}")
        assert len(pages) == 3 and sorted((a["ClusterId"], a["ProcId"], a["Tag"]) for a in pages) == wanted
        assert sorted((a["ClusterId"], a["ProcId"], a["Tag"]) for a in hb.jobs(f"ClusterId == {cluster}")) == wanted
        assert [a["ProcId"] for a in hb.stream_jobs(f"ClusterId == {cluster} && ProcId == 1")] == [1]


def test_owner_refused_leaves_nothing(hb, staging, real_pool):
    good = new_job(hb, staging, "sleep 300\n")
    bad = new_job(hb, staging, "sleep 300\n", Owner="mallory")
    batch = CommitBatch(token(), (good, bad))
    with pytest.raises(BackendError) as err:
        hb.apply(batch)
    assert "Setting owner to mallory" in str(err.value) and "not permitted" in str(err.value)
    assert condor_q(real_pool, f'CondorSoapToken == "{batch.token}"') == []
    assert hb.job(good.cluster, good.proc) is None
    # the same client ids can be committed once the client fixed its ad
    fixed = NewJob(bad.cluster, bad.proc, bad.ad.replace('"mallory"', f'"{hb.test_owner}"'), bad.files)
    assert hb.apply(CommitBatch(token(), (good, fixed))) == []
    assert hb.job(good.cluster, 0)["Owner"] == hb.test_owner


def test_value_htcondor_cannot_store_fails_the_commit(hb, staging):
    job = new_job(hb, staging, "exit 0\n", Note="two\nlines")
    with pytest.raises(BackendError, match="Note"):
        hb.apply(CommitBatch(token(), (job,)))
    assert hb.job(job.cluster, job.proc) is None


def test_client_values_reach_the_job_ad(hb, staging):
    odd = 'quote " dollar $(Cluster) $$(x) back\\slash tab\t'
    c, p = submit(hb, staging, "sleep 300\n", Odd=odd, Weird=classad2.ExprTree("1 + 2"), QDate=42,
                  Requirements=classad2.ExprTree('TARGET.Memory > 1 && Odd =!= "x"'))
    ad = hb.job(c, p)
    assert ad["Odd"] == odd
    assert str(ad.lookup("Weird")) == "1 + 2" and ad["QDate"] == 42
    # the same expression; HTCondor's old-syntax text spells =!= as "isnt"
    assert str(ad.lookup("Requirements")).replace(" isnt ", " =!= ") == 'TARGET.Memory > 1 && Odd =!= "x"'
    assert "CondorSoapToken" not in ad and ad["LeaveJobInQueue"] is not None


def test_reapplied_token_finds_whole_batch(make_htcondor, staging, real_pool):
    """A crash after the jobs were queued, before the token was recorded: applying the batch
    again completes it and queues nothing twice."""
    hb = make_htcondor()
    job = new_job(hb, staging, "sleep 300\n")
    batch = CommitBatch(token(), (job,), (JobAction(ActionKind.HOLD, job.cluster, job.proc, "held"),))
    assert hb.apply(batch) == []
    hb.close()
    with sqlite3.connect(f"{hb.config.state_dir}/htcondor/backend.sqlite3") as db:
        db.execute("DELETE FROM tokens")
    again = make_htcondor(state_dir=hb.config.state_dir)
    assert again.apply(batch) == [batch.actions[0]]  # already held: the hold does not apply again
    assert len(condor_q(real_pool, f'CondorSoapToken == "{batch.token}"')) == 1
    assert again.apply(batch) == []
    assert again.job(job.cluster, job.proc)["JobStatus"] == HELD


def test_partial_batch_is_redone(hb, staging, real_pool):
    """A crash after the first cluster was submitted: the partial job is removed, the whole
    batch queued again."""
    import htcondor2

    a = new_job(hb, staging, "sleep 300\n")
    b = new_job(hb, staging, "sleep 300\n")
    batch = CommitBatch(token(), (a, b))
    partial = schedd().submit(htcondor2.Submit({
        "executable": "/bin/true", "transfer_executable": "false", "hold": "true",
        "MY.CondorSoapToken": f'"{batch.token}"', "MY.CondorSoapJob": f'"{a.cluster}.{a.proc}"'}))
    assert hb.apply(batch) == []
    rows = condor_q(real_pool, f'CondorSoapToken == "{batch.token}"')
    assert sorted(r[3] for r in rows) == sorted([f"{a.cluster}.0", f"{b.cluster}.0"])
    assert str(partial.cluster()) not in [r[0] for r in rows]
    assert hb.job(a.cluster, 0)["JobStatus"] != HELD and hb.job(b.cluster, 0) is not None


def test_output_is_byte_exact_and_close_spool_cleans_up(hb, staging, real_pool):
    data = bytes(range(256)) * 300 + b"\x00end"
    c, p = submit(hb, staging, "cat data.bin data.bin > out.bin\nprintf '\\377' >> out.bin\n",
                  files={"data.bin": data})
    before = {f.name for f in hb.list_spool(c, p)}
    assert before == {"data.bin", "job.sh"}  # inputs until the job completed
    wait_status(hb, c, p, COMPLETED, timeout=90)
    sizes = {f.name: f.size for f in hb.list_spool(c, p)}
    expected = data + data + b"\xff"
    assert sizes["out.bin"] == len(expected)
    chunks = [hb.read_spool(c, p, "out.bin", off, 10000) for off in range(0, len(expected), 10000)]
    assert b"".join(chunks) == expected
    assert act(hb, ActionKind.CLOSE_SPOOL, c, p) == []
    wait_for(lambda: hb.job(c, p) is None, 30, what="the job to leave the queue")
    history = real_pool.run("condor_history", "-limit", "1", "-constraint", f"ClusterId == {c}",
                      "-af", "FilesRetrieved")
    assert history.split() == ["true"]
    assert not os.path.exists(os.path.join(hb.config.state_dir, "htcondor", "jobs", str(c), str(p)))
    with pytest.raises(NoSuchJob):
        hb.list_spool(c, p)


def test_schedd_down_then_back(make_htcondor, staging, real_pool):
    hb = make_htcondor()
    c, p = submit(hb, staging, "sleep 300\n")
    subprocess.run([str(POOL_SCRIPT), "stop"], check=True, capture_output=True, timeout=120)
    try:
        with pytest.raises(BackendError, match="not reachable"):
            hb.jobs()
        with pytest.raises(BackendError):
            hb.new_cluster_id()
        with pytest.raises(BackendError, match="not reachable"):
            hb.apply(CommitBatch(token(), (new_job(hb, staging, "exit 0\n", cluster=c + 100),)))
        with pytest.raises(BackendError):
            hb.version()
    finally:
        subprocess.run([str(POOL_SCRIPT), "start"], check=True, capture_output=True, timeout=300)
    ad = wait_for(lambda: _try(lambda: hb.job(c, p)), 60, what="the backend to reach the schedd again")
    assert ad["ClusterId"] == c
    assert hb.version().startswith("$CondorVersion: ")
    c2, p2 = submit(hb, staging, "exit 0\n")
    wait_status(hb, c2, p2, COMPLETED, timeout=120)
    real_pool.remove_jobs_under(hb.config.state_dir)


def _try(fn):
    try:
        return fn()
    except BackendError:
        return None
