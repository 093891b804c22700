"""Per-user identity on the real pool (docs/htcondor-backend.rst, "Per-user identity").

The service's identity (``condorsoap``) is a queue super user whose impersonation is limited by
tests/pool/pool.sh to ``QUEUE_SUPER_USER_MAY_IMPERSONATE = ^(alice|bob)$``. Shown here, at the
backend level (the core puts the authenticated user in ``Owner``): alice's and bob's jobs are
owned by them in the schedd and run as those Unix users; an ``Owner`` outside the set (an
existing Unix user, one whose name contains "alice", root) is refused by the schedd with its
reason and leaves nothing in the queue; the service acts on and retrieves the output of
another user's jobs."""
from __future__ import annotations

import pytest

from condor_soap.core.ports import BackendError
from condor_soap.core.records import ActionKind, CommitBatch
from tests.backends.jobs import act, new_job, spool_text, submit, token, wait_for, wait_status

pytestmark = pytest.mark.real_pool
IDLE, RUNNING, REMOVED, COMPLETED, HELD = 1, 2, 3, 4, 5
USERS = ("alice", "bob")          # QUEUE_SUPER_USER_MAY_IMPERSONATE in tests/pool/pool.sh
SUBMITTER = "condorsoap"          # also in it: the knob limits the shadow too (docs/htcondor-backend.rst)
OUTSIDERS = ("carol", "malice")   # Unix users in the pool, outside the impersonation set
WHOAMI = "id -un > who.txt\nid -u >> who.txt\n"


@pytest.fixture
def hb(make_htcondor, real_pool):
    wanted = "^(" + "|".join((SUBMITTER, *USERS)) + ")$"
    configured = real_pool.run("condor_config_val", "QUEUE_SUPER_USER_MAY_IMPERSONATE").strip()
    assert configured == wanted, f"tests/pool/pool.sh should configure {wanted}, the pool has {configured!r}"
    return make_htcondor()


def owners(pool, batch_token: str) -> list[tuple[str, str]]:
    """(Owner, User) of the batch's jobs, as ``condor_q`` inside the pool shows them."""
    out = pool.run("condor_q", "-all", "-constraint", f'CondorSoapToken == "{batch_token}"', "-af", "Owner", "User")
    return [tuple(line.split()) for line in out.splitlines() if line.strip()]  # type: ignore[misc]


def unix_uid(pool, user: str) -> str:
    return pool.run("id", "-u", user).strip()


def test_each_user_owns_and_runs_their_jobs(hb, staging, real_pool):
    jobs = {}
    for user in USERS:
        job = new_job(hb, staging, WHOAMI, Owner=user)
        batch = CommitBatch(token(), (job,))
        assert hb.apply(batch) == []
        assert owners(real_pool, batch.token) == [(user, f"{user}@vm")]
        jobs[user] = job
    for user, job in jobs.items():
        ad = wait_status(hb, job.cluster, job.proc, COMPLETED, timeout=180)
        assert ad["Owner"] == user
        # the output comes back through Schedd.retrieve by the service's identity
        assert spool_text(hb, job.cluster, job.proc, "who.txt") == f"{user}\n{unix_uid(real_pool, user)}\n"
    assert unix_uid(real_pool, "alice") != unix_uid(real_pool, "bob")


@pytest.mark.parametrize("owner", [*OUTSIDERS, "root"])
def test_owner_outside_the_set_is_refused(hb, staging, real_pool, owner):
    """A batch with alice's job and one owned by someone else: the schedd refuses the second,
    alice's (already queued) job is removed again, nothing of the batch stays."""
    good = new_job(hb, staging, "exit 0\n", Owner="alice")
    bad = new_job(hb, staging, "exit 0\n", Owner=owner)
    batch = CommitBatch(token(), (good, bad))
    with pytest.raises(BackendError) as err:
        hb.apply(batch)
    reason = ('Setting job owner to "root" is not permitted' if owner == "root" else
              f"Setting owner to {owner} when active owner is condorsoap is not permitted")
    assert reason in str(err.value)
    assert str(err.value).startswith(f"The schedd refused cluster {bad.cluster}")
    wait_for(lambda: owners(real_pool, batch.token) == [], 30, what="the batch's jobs to leave the queue")
    assert hb.job(good.cluster, good.proc) is None


def test_service_acts_on_other_users_jobs(hb, staging, real_pool):
    """Hold, release, remove, remove -forcex, closeSpool and output retrieval of alice's and
    bob's jobs by the service's identity (a queue super user)."""
    a = submit(hb, staging, "sleep 300\n", Owner="alice")
    done = submit(hb, staging, "echo result > out.txt\n", Owner="bob", TransferOutputFiles="out.txt")

    assert act(hb, ActionKind.HOLD, *a, reason="paused by the portal") == []
    held = wait_status(hb, *a, HELD)
    assert held["Owner"] == "alice" and held["HoldReason"].startswith("paused by the portal")
    assert act(hb, ActionKind.RELEASE, *a, reason="go on") == []
    wait_for(lambda: hb.job(*a)["JobStatus"] in (IDLE, RUNNING), 30, what="alice's job to be released")
    assert act(hb, ActionKind.REMOVE, *a, reason="not needed") == []
    assert wait_status(hb, *a, REMOVED, timeout=30)["RemoveReason"].startswith("not needed")
    assert act(hb, ActionKind.REMOVE, *a, reason="now", force=True) == []
    wait_for(lambda: hb.job(*a) is None, 30, what="alice's removed job to be forced out")

    wait_status(hb, *done, COMPLETED, timeout=180)
    assert spool_text(hb, *done, "out.txt") == "result\n"
    assert act(hb, ActionKind.CLOSE_SPOOL, *done) == []
    wait_for(lambda: hb.job(*done) is None, 30, what="closeSpool to drop bob's completed job")

    b = submit(hb, staging, "sleep 300\n", Owner="bob")
    assert act(hb, ActionKind.REMOVE_CLUSTER, b[0], None, reason="cluster gone") == []
    assert wait_status(hb, *b, REMOVED, timeout=30)["Owner"] == "bob"


def test_owner_cannot_be_moved_to_another_user(hb, staging, real_pool):
    """Owner and User are immutable in the schedd, even for the queue super user."""
    import htcondor2

    job = new_job(hb, staging, "exit 0\n", Owner="alice")
    batch = CommitBatch(token(), (job,))
    assert hb.apply(batch) == []
    schedd = htcondor2.Schedd(htcondor2.Collector().locate(htcondor2.DaemonType.Schedd,
                                                           htcondor2.param.get("SCHEDD_HOST")))
    mine = f'CondorSoapToken == "{batch.token}"'
    for attr, value in (("Owner", '"bob"'), ("User", '"bob@vm"')):
        with pytest.raises(htcondor2.HTCondorException):
            schedd.edit(mine, attr, value)
    assert owners(real_pool, batch.token) == [("alice", "alice@vm")]


def test_service_reaches_jobs_outside_the_set(hb, real_pool):
    """What the super-user setting grants beyond impersonation (why the core must check that a
    caller acts only on their own jobs): a job carol queued herself with condor_submit is
    visible to and held through the backend."""
    import htcondor2

    real_pool.run("sh", "-c", "printf 'executable=/bin/sleep\\narguments=300\\ntransfer_executable=false\\n"
                  "+OutsiderTest=true\\nqueue\\n' > /tmp/outsider.sub && chmod 644 /tmp/outsider.sub")
    out = real_pool.run("su", "-s", "/bin/sh", "carol", "-c", "cd /tmp && condor_submit -terse outsider.sub")
    cluster = int(out.split(".")[0])
    schedd = htcondor2.Schedd(htcondor2.Collector().locate(htcondor2.DaemonType.Schedd,
                                                           htcondor2.param.get("SCHEDD_HOST")))
    try:
        assert hb.job(cluster, 0)["Owner"] == "carol"
        assert any(ad["ClusterId"] == cluster for ad in hb.jobs('Owner == "carol"'))
        assert act(hb, ActionKind.HOLD, cluster, 0, reason="by the service") == []
        assert wait_status(hb, cluster, 0, HELD, timeout=30)["HoldReason"].startswith("by the service")
    finally:
        for action in (htcondor2.JobAction.Remove, htcondor2.JobAction.RemoveX):
            schedd.act(action, f"ClusterId == {cluster}")
