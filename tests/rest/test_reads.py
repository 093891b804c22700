"""RESTD v1 reads against the real service on both backends: jobs, history, grouped, status,
config, with RESTD's shapes and codes. The jobs are queued over SOAP."""
from __future__ import annotations

import uuid

import pytest

from tests.polling import wait_for
from tests.rest.jobs import soap_remove, soap_submit, string

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tagged(service):
    """Three held jobs of one cluster, RestTag = a unique tag."""
    tag = uuid.uuid4().hex
    cluster, procs = soap_submit(service.url, service.owner, [string("RestTag", tag)], count=3)
    yield tag, cluster, procs, None
    soap_remove(service.url, cluster)


def by_tag(tag: str) -> dict:
    return {"constraint": f'RestTag == "{tag}"'}


def test_jobs_list_shape(rest, tagged, service):
    tag, cluster, procs, _ = tagged
    jobs = rest.json("jobs/DEFAULT", params=by_tag(tag))
    assert sorted(j["jobid"] for j in jobs) == [f"{cluster}.{p}" for p in procs]
    ad = jobs[0]["classad"]
    assert all(key == key.lower() for key in ad), "RESTD lower-cases every key"
    assert ad["resttag"] == tag and ad["clusterid"] == cluster and ad["jobstatus"] == 5
    assert ad["owner"] == service.owner
    # an expression is HTCondor's JSON form of it
    assert any(isinstance(v, str) and v.startswith("/Expr(") and v.endswith(")/") for v in ad.values())


def test_jobs_of_a_cluster_and_one_job(rest, tagged):
    tag, cluster, procs, _ = tagged
    assert len(rest.json(f"jobs/DEFAULT/{cluster}")) == 3
    assert rest.json(f"jobs/DEFAULT/{cluster}", params={"constraint": "ProcId == 1"})[0]["jobid"] == f"{cluster}.1"
    one = rest.json(f"jobs/DEFAULT/{cluster}/2")
    assert one["jobid"] == f"{cluster}.2" and one["classad"]["procid"] == 2
    # one attribute: its JSON value alone (a string comes back quoted)
    response = rest.get(f"jobs/DEFAULT/{cluster}/2/RestTag")
    assert response.status_code == 200 and response.text == f'"{tag}"'
    assert rest.json(f"jobs/DEFAULT/{cluster}/2/jobstatus") == 5


def test_projection_keeps_ids_only_when_asked(rest, tagged):
    tag, cluster, _, _ = tagged
    jobs = rest.json(f"jobs/DEFAULT/{cluster}", params={"projection": "RestTag,JobStatus"})
    assert {frozenset(j["classad"]) - {"servertime"} for j in jobs} == {frozenset({"resttag", "jobstatus"})}
    assert sorted(j["jobid"] for j in jobs) == [f"{cluster}.0", f"{cluster}.1", f"{cluster}.2"]
    jobs = rest.json(f"jobs/DEFAULT/{cluster}", params={"projection": "procid"})
    assert sorted(j["classad"]["procid"] for j in jobs) == [0, 1, 2]
    assert not any("clusterid" in j["classad"] for j in jobs)
    assert set(rest.json(f"jobs/DEFAULT/{cluster}/0", params={"projection": "Cmd"})["classad"]) - {"servertime"} \
        == {"cmd"}


def test_grouped_jobs(rest, tagged):
    tag, cluster, _, _ = tagged
    grouped = rest.json(f"grouped_jobs/DEFAULT/procid/{cluster}", params={"projection": "RestTag"})
    assert sorted(grouped) == ["0", "1", "2"]
    assert grouped["1"][0]["jobid"] == f"{cluster}.1"
    assert set(grouped["1"][0]["classad"]) - {"servertime"} == {"resttag", "procid"}
    assert list(rest.json("grouped_jobs/DEFAULT/resttag", params=by_tag(tag))) == [tag]
    assert rest.json("grouped_jobs/DEFAULT/NoSuchAttribute", params=by_tag(tag)) == {}


@pytest.mark.parametrize("path, params, code, message", [
    ("jobs/DEFAULT", {"projection": "a,b-c"}, 400, "Invalid attribute(s) in projection: b-c"),
    ("jobs/DEFAULT", {"constraint": "JobStatus =="}, 400, "Invalid constraint"),
    ("jobs/no-such-schedd", {}, 404, "Schedd not found: no-such-schedd"),
    ("jobs/DEFAULT/999999/0", {}, 404, "No matching jobs"),
    ("history/DEFAULT/999999/0", {}, 404, "No matching jobs"),
    ("grouped_jobs/DEFAULT/not-a-name", {}, 400, "Invalid attribute for grouping"),
    ("status", {"query": "nonsense"}, 400, "query:"),
    ("status", {"projection": "x y"}, 400, "Invalid attribute(s) in projection: x y"),
    ("config/not-a-name", {}, 400, "Invalid attribute: not-a-name"),
    ("config/NO_SUCH_KNOB_EVER", {}, 404, "Undefined attribute"),
    ("config", {"daemon": "nonsense"}, 400, "daemon:"),
    ("no/such/route", {}, 404, ""),
])
def test_errors(rest, path, params, code, message):
    response = rest.get(path, params=params)
    assert response.status_code == code
    body = response.json()
    assert body["error"].startswith(message) and body["message"] == body["error"] and body["code"]


def test_missing_attribute_is_404(rest, tagged):
    _, cluster, _, _ = tagged
    response = rest.get(f"jobs/DEFAULT/{cluster}/0/NoSuchAttribute")
    assert (response.status_code, response.json()["error"]) == (404, "Undefined attribute")


def test_schedd_by_name(rest, tagged):
    _, cluster, _, _ = tagged
    name = rest.json(f"jobs/DEFAULT/{cluster}/0/globaljobid").split("#")[0]
    assert len(rest.json(f"jobs/{name}/{cluster}")) == 3


def test_history_after_removal(rest, service):
    tag = uuid.uuid4().hex
    cluster, procs = soap_submit(service.url, service.owner, [string("RestTag", tag)], count=2)
    assert rest.json("history/DEFAULT", params=by_tag(tag)) == []
    soap_remove(service.url, cluster, tuple(procs))
    jobs = wait_for(lambda: rest.json("history/DEFAULT", params=by_tag(tag)), 60, 0.5, "jobs in the history")
    wait_for(lambda: len(rest.json("history/DEFAULT", params=by_tag(tag))) == 2, 60, 0.5, "both jobs in the history")
    assert rest.json(f"history/DEFAULT/{cluster}/1")["classad"]["resttag"] == tag
    assert rest.json(f"history/DEFAULT/{cluster}/1/JobStatus") == 3
    assert rest.json(f"jobs/DEFAULT/{cluster}") == []
    assert list(rest.json(f"grouped_history/DEFAULT/jobstatus/{cluster}")) == ["3"]
    assert jobs[0]["classad"]["clusterid"] == cluster


def test_status(rest):
    ads = rest.json("status")
    assert ads and all(set(ad) == {"name", "type", "classad"} for ad in ads)
    for query, my_type in (("startd", "Machine"), ("schedd", "Scheduler"), ("master", "DaemonMaster"),
                           ("collector", "Collector")):
        found = rest.json("status", params={"query": query})
        assert found and {ad["type"] for ad in found} == {my_type}, query
    slot = rest.json("status", params={"query": "startd"})[0]
    named = rest.json(f"status/{slot['name']}", params={"query": "startd", "projection": "Memory"})
    assert [ad["name"] for ad in named] == [slot["name"]]
    assert set(named[0]["classad"]) == {"memory"}
    grouped = rest.json("grouped_status/MyType")
    assert "Machine" in grouped and all(ad["type"] == "Machine" for ad in grouped["Machine"])


def test_config(rest):
    config = rest.json("config")
    assert "full_hostname" in config and all(key == key.lower() for key in config)
    assert rest.get("config/condor_version").text.startswith('"')
    assert not [k for k in config if "password" in k or "token" in k or "key" in k.split("_")]
    master = rest.json("config", params={"daemon": "master"})
    assert master["full_hostname"] == rest.json("config/FULL_HOSTNAME", params={"daemon": "master"})
