"""getJobAds as a stream (core/schedd.py): refusals before the first ad, constraints judged by
the backend where it can, a restricted caller's own jobs asked of the backend, the
transaction's view the only thing judged in the core's worker."""
from __future__ import annotations

import pytest

from condor_soap.core import schedd as schedd_module
from condor_soap.core.policy import Caller, calling
from condor_soap.core.records import ShapedStruct
from condor_soap.errors import CondorSoapError
from tests.core.helpers import S, attrs, submit_job

ALICE = Caller("alice", "127.0.0.1", "basic")


@pytest.fixture
def spy_backend(fake):
    """The fake backend, remembering the constraints stream_jobs was asked."""
    asked: list = []
    plain = fake.stream_jobs

    def stream_jobs(constraint=None):
        asked.append(constraint)
        return plain(constraint)

    fake.stream_jobs = stream_jobs
    fake.asked = asked
    return fake


def queue_jobs(core, owners):
    txn = core.begin_transaction(60)
    cluster = core.new_cluster(txn)
    for owner in owners:
        submit_job(core, txn, cluster=cluster, extra=(S("Owner", owner),))
    core.commit_transaction(txn)
    return cluster


def owners(ads):
    return sorted(attrs(list(ad))["owner"].value for ad in ads)


def test_ads_come_converted_as_iterated(make_core, spy_backend):
    core = make_core(spy_backend)
    queue_jobs(core, ["alice"] * 5)
    ads = core.get_job_ads(None, 'Owner == "alice"')
    assert spy_backend.asked == ['Owner == "alice"']  # judged by the backend, not again here
    out = list(ads)
    assert len(out) == 5 and all(type(ad) is ShapedStruct for ad in out[1:])


def test_a_restricted_caller_asks_the_backend_for_their_own_jobs(make_core, spy_backend):
    core = make_core(spy_backend)
    queue_jobs(core, ["alice", "bob", "alice"])
    with calling(ALICE):
        assert owners(core.get_job_ads(None, None)) == ["alice", "alice"]
        assert owners(core.get_job_ads(None, "JobStatus == 1")) == ["alice", "alice"]
        assert owners(core.get_job_ads(None, "true) || (true")) == []  # cannot widen the restriction
    assert spy_backend.asked[0] == 'Owner =?= "alice"'
    assert spy_backend.asked[1] == '(JobStatus == 1) && Owner =?= "alice"'


def test_max_jobs_per_query_refuses_before_the_first_ad(make_core, fake):
    core = make_core(fake, max_jobs_per_query=2)
    queue_jobs(core, ["alice"] * 3)
    with pytest.raises(CondorSoapError, match="Query matched 3 jobs; at most 2"):
        core.get_job_ads(None, None)  # raised by the call itself, not while iterating
    assert len(list(core.get_job_ads(None, "ProcId < 2"))) == 2


def test_only_the_transactions_view_is_judged_in_the_core(make_core, fake, monkeypatch):
    core = make_core(fake)
    queue_jobs(core, ["alice"] * 4)
    judged: list = []
    plain = schedd_module.select
    monkeypatch.setattr(schedd_module, "select", lambda c, ads: judged.append(len(ads)) or plain(c, ads))
    txn = core.begin_transaction(60)
    submit_job(core, txn, extra=(S("Owner", "alice"),))
    assert owners(core.get_job_ads(txn, 'Owner == "alice"')) == ["alice"] * 5
    assert judged == [1]  # the pending job; the 4 queued ones were judged by the backend
