"""The REST face as a whole: its OpenAPI document, CORS, and the settings RESTD read as knobs
(RESTD_HIDE_JOB_ATTRS, RESTD_MAX_JOBS) and ours (allow_config), on the local backend."""
from __future__ import annotations

import uuid

import pytest
import requests
from openapi_spec_validator import validate

from condor_soap import Config
from condor_soap.core.ports import BackendError
from condor_soap.rest.face import ROUTES
from tests.conftest import serve_in_thread
from tests.rest.conftest import Rest, running
from tests.rest.jobs import soap_submit, string


def test_openapi_document_is_valid_and_complete(tmp_path):
    with running(tmp_path) as url:
        doc = Rest(url).json("openapi.json")
    validate(doc)
    listed = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    for route in ROUTES:
        path = route.path.replace(":int}", "}")
        assert (route.method, path) in listed, (route.method, route.path)
        assert doc["paths"][path][route.method.lower()]["x-condor-operation"] == route.operation
    assert ("GET", "/v1/openapi.json") in listed


def test_cors_is_off_by_default(tmp_path):
    with running(tmp_path) as url:
        response = requests.get(url + "v1/status", headers={"Origin": "http://portal.example"}, timeout=30)
    assert response.status_code == 200 and "Access-Control-Allow-Origin" not in response.headers


def test_cors_origins_setting(tmp_path):
    with running(tmp_path, cors_origins="http://portal.example") as url:
        allowed = requests.get(url + "v1/status", headers={"Origin": "http://portal.example"}, timeout=30)
        other = requests.get(url + "v1/status", headers={"Origin": "http://evil.example"}, timeout=30)
        preflight = requests.options(url + "v1/jobs/DEFAULT", timeout=30, headers={
            "Origin": "http://portal.example", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://portal.example"
    assert "Access-Control-Allow-Origin" not in other.headers
    assert preflight.status_code == 200
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Headers"] == "authorization"


def test_restd_knobs_map_onto_settings():
    config = Config.from_param({"RESTD_HIDE_JOB_ATTRS": "Env, Args", "RESTD_MAX_JOBS": "-1"})
    assert config.hide_job_attrs == ("Env", "Args") and config.max_jobs_per_query == 0
    assert Config.from_param({"RESTD_MAX_JOBS": "25"}).max_jobs_per_query == 25


@pytest.mark.slow
def test_redaction_and_truncation(tmp_path):
    tag = uuid.uuid4().hex
    with running(tmp_path, hide_job_attrs="Secretish", max_jobs_per_query=2) as url:
        cluster, _ = soap_submit(url, None, [string("RestTag", tag), string("Secretish", "do not show")], count=3)
        rest = Rest(url)
        response = rest.get(f"jobs/DEFAULT/{cluster}")
        assert response.status_code == 200 and response.headers["X-Condor-Truncated"] == "true"
        jobs = response.json()
        assert [j["jobid"] for j in jobs] == [f"{cluster}.0", f"{cluster}.1"]
        assert {j["classad"]["secretish"] for j in jobs} == {"<REDACTED>"}
        assert rest.json(f"jobs/DEFAULT/{cluster}/2/secretish") == "<REDACTED>"
        assert "X-Condor-Truncated" not in rest.get(f"jobs/DEFAULT/{cluster}", params={"constraint": "ProcId == 2"}).headers


def test_allow_config(tmp_path):
    with running(tmp_path, allow_config="someone-else") as url:
        rest = Rest(url)
        denied = rest.get("config")
        assert (denied.status_code, denied.json()["error"]) == (403, "Permission denied")
        assert rest.get("config/condor_version").status_code == 403
        assert rest.get("status").status_code == 200


class _PagesThatBreakOff:
    """A bulk read (``Backend.stream_jobs``) that fails after its first pages, as when the
    schedd goes away in the middle of the answer."""

    def __init__(self, count: int) -> None:
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __iter__(self):
        import classad2

        for n in range(self.count // 2):
            yield classad2.ClassAd({"ClusterId": 1, "ProcId": n, "Owner": "someone", "Padding": "p" * 1000})
        raise BackendError("The schedd went away")


def test_a_failure_after_the_first_byte_cuts_the_answer_off(tmp_path, caplog):
    """Whole ads stream in pages: a failure once the status line is sent closes the
    connection, so the client sees a broken body, never a short list that looks whole."""
    import http.client

    from condor_soap import create_app
    from condor_soap.app import build_backend

    config = Config(state_dir=str(tmp_path / "state"))
    backend = build_backend(config)
    backend.stream_jobs = lambda constraint=None: _PagesThatBreakOff(4000)  # ~2 MB before the failure
    app = create_app(config, backend)
    try:
        with serve_in_thread(app) as url:
            host, port = url.split("//")[1].rstrip("/").split(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=30)
            conn.request("GET", "/v1/jobs/DEFAULT")
            response = conn.getresponse()
            assert response.status == 200 and response.getheader("Transfer-Encoding") == "chunked"
            with pytest.raises(http.client.IncompleteRead) as broken:
                response.read()
            assert broken.value.partial.startswith(b'[{"jobid": "1.0"') and not broken.value.partial.endswith(b"]")
            conn.close()
    finally:
        app.close()
    assert any("broke off" in r.getMessage() for r in caplog.records)
