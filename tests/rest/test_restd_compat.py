"""RESTD's README examples and its own test suite (tests/condor_restd_test.py of
htcondor-restd 0.240508), replayed against condor-soap on both backends: what a RESTD client
relies on works unchanged."""
from __future__ import annotations

import re

import pytest

from tests.polling import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def sleep_job(rest, service):
    """RESTD's test submits ``/usr/bin/sleep 300`` (queued straight to the schedd: no
    LeaveJobInQueue); here over REST, with the template's LeaveJobInQueue turned off."""
    made = rest.post("jobs/DEFAULT", json={"cmd": "/usr/bin/sleep", "arguments": "300", "LeaveJobInQueue": False,
                                           "JobBatchName": "restd-replay", "Owner": service.owner})
    assert made.status_code == 201, made.text
    cluster = made.json()["cluster"]
    yield cluster
    rest.delete(f"jobs/DEFAULT/{cluster}")


def check_job_attrs(job: dict) -> None:
    for attr in ("classad", "jobid"):
        assert job.get(attr), f"{attr} attr missing"


def jobs_queries(rest, cluster: int, endpoint: str) -> None:
    """RESTD's ``_test_jobs_queries``."""
    check_job_attrs(rest.json(f"{endpoint}/DEFAULT")[0])
    check_job_attrs(rest.json(f"{endpoint}/DEFAULT/{cluster}")[0])
    check_job_attrs(rest.json(f"{endpoint}/DEFAULT/{cluster}/0"))
    # RESTD expects "/usr/bin/sleep": a real schedd that spooled the executable (the htcondor
    # backend always spools) keeps its base name
    assert rest.json(f"{endpoint}/DEFAULT/{cluster}/0/cmd") in ("/usr/bin/sleep", "sleep")


def test_restd_condor_version(rest):
    assert re.search(r"\d+\.\d+\.\d+", rest.get("config/condor_version").text)


def test_restd_status(rest):
    j = rest.json("status")
    assert j, "no classads returned"
    for attr in ("name", "classad"):
        assert j[0].get(attr), f"{attr} attr missing"
    present = {ad["type"] for ad in j}
    daemons = {"collector": "Collector", "master": "DaemonMaster", "negotiator": "Negotiator",
               "schedd": "Scheduler", "startd": "Machine"}
    for daemon, my_type in daemons.items():
        if my_type not in present:
            continue  # the local backend's embedded pool has no negotiator
        j = rest.json(f"status?query={daemon}")
        assert j, f"{daemon}: no classads returned"
        for attr in ("name", "classad", "type"):
            assert j[0].get(attr), f"{daemon}: {attr} attr missing"


def test_restd_jobs_then_history(rest, sleep_job):
    jobs_queries(rest, sleep_job, "jobs")
    rest.delete(f"jobs/DEFAULT/{sleep_job}")  # RESTD's rm_cluster
    wait_for(lambda: rest.get(f"history/DEFAULT/{sleep_job}/0").status_code == 200, 120, 0.5, "the job in the history")
    jobs_queries(rest, sleep_job, "history")


def test_restd_config(rest):
    for arg in ("", "?daemon=master"):
        j = rest.json(f"config{arg}")
        assert "full_hostname" in j, "full_hostname attr missing"
        assert rest.get(f"config/full_hostname{arg}").content.strip().decode() == f'"{j["full_hostname"]}"'


# -- the README, example by example --------------------------------------------------------

def test_readme_jobs_and_history(rest, sleep_job):
    # "Returns a list of job objects ... Returns an empty list if no jobs match."
    assert rest.json("jobs/DEFAULT", params={"constraint": "false"}) == []
    # "`clusterid` limits the results to jobs with the given cluster ID."
    assert {j["jobid"] for j in rest.json(f"jobs/DEFAULT/{sleep_job}")} == {f"{sleep_job}.0"}
    # "`projection` ... only those attributes will be in the `classad` object of each job."
    [job] = rest.json(f"jobs/DEFAULT/{sleep_job}", params={"projection": "jobbatchname"})
    assert set(job["classad"]) - {"servertime"} == {"jobbatchname"}
    # "`constraint` is a classad expression restricting which jobs to include"
    assert rest.json("jobs/DEFAULT", params={"constraint": 'JobBatchName == "restd-replay"'})[0]["jobid"] \
        == f"{sleep_job}.0"
    # "Raises `404` if the schedd does not exist." / "if no such job exists" / "attribute is undefined"
    assert rest.get("jobs/NoSuchSchedd").status_code == 404
    assert rest.get(f"jobs/DEFAULT/{sleep_job}/99").status_code == 404
    assert rest.get(f"jobs/DEFAULT/{sleep_job}/0/NoSuchAttribute").status_code == 404
    # README's example_queries: multiple jobs by batch name
    assert rest.json("jobs/DEFAULT", params={"constraint": 'JobBatchName=="restd-replay"',
                                             "projection": "jobbatchname"})


def test_readme_grouped(rest, sleep_job):
    # "an object of lists of job objects, keyed by the value of the attribute given in `groupby`"
    grouped = rest.json(f"grouped_jobs/DEFAULT/JobBatchName/{sleep_job}", params={"projection": "owner"})
    assert list(grouped) == ["restd-replay"]
    # "only those attributes, plus the `groupby` attribute"
    assert set(grouped["restd-replay"][0]["classad"]) - {"servertime"} == {"owner", "jobbatchname"}
    # "Returns an empty object if no jobs match." / "Jobs that do not have the attribute ... are omitted"
    assert rest.json("grouped_jobs/DEFAULT/JobBatchName", params={"constraint": "false"}) == {}
    assert rest.json(f"grouped_jobs/DEFAULT/NoSuchAttribute/{sleep_job}") == {}
    assert rest.json("grouped_history/DEFAULT/JobBatchName", params={"constraint": "false"}) == {}


def test_readme_config_and_status(rest):
    # "returns an object of the form {attribute1: value1, ...}" / "404 if ... undefined"
    assert isinstance(rest.json("config"), dict)
    assert rest.get("config/NO_SUCH_KNOB_AT_ALL").status_code == 404
    # status: "{name, type, classad}"; `name`; `query`; `projection`; `constraint`
    slots = rest.json("status", params={"query": "startd"})
    one = rest.json(f"status/{slots[0]['name']}")
    assert [s["name"] for s in one] == [slots[0]["name"]]
    assert set(rest.json("status", params={"query": "startd", "projection": "memory"})[0]["classad"]) == {"memory"}
    assert rest.json("status", params={"constraint": "false"}) == []
    # grouped_status: "Returns an empty object if nothing matches"
    assert rest.json("grouped_status/opsys", params={"query": "startd"})
    assert rest.json("grouped_status/opsys", params={"constraint": "false"}) == {}
