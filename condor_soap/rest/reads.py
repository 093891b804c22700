"""RESTD v1's reads, unchanged for its clients: jobs and history (plain and grouped), status
(plain and grouped) and config, with RESTD's paths, parameters, JSON shapes and codes
(docs/rest.rst lists where condor-soap decided otherwise and why)."""
from __future__ import annotations

import json
from typing import Any, Iterable, Iterator, Optional

import classad2
import falcon

from condor_soap.calls import CallRecord
from condor_soap.core.collector import DAEMONS, STATUS_TYPES
from condor_soap.errors import NotFound
from condor_soap.rest.api import Api, BadRequest, is_attribute, json_reply, param, projection, stream_reply
from condor_soap.rest.classad_json import ad_json, ad_value
from condor_soap.rest.routes import Param, Reply, Route

NO_JOBS = "No matching jobs"
NO_ATTRIBUTE = "Undefined attribute"
TRUNCATED = "X-Condor-Truncated"  # header: the answer stopped at max_jobs_per_query (RESTD_MAX_JOBS)


def _constraint(req: falcon.Request, cluster: Optional[int] = None) -> str:
    constraint = param(req, "constraint") or "true"
    return f"({constraint}) && ClusterId == {cluster}" if cluster is not None else constraint


def _jobs(api: Api, req: falcon.Request, schedd: str, history: bool, cluster: Optional[int] = None,
          extra: tuple[str, ...] = ()) -> tuple[Iterable[classad2.ClassAd], bool, list[str]]:
    api.check_schedd(schedd)
    wanted = projection(req, *extra)
    ads, truncated = api.schedd.query_jobs(_constraint(req, cluster), wanted, history=history)
    return ads, truncated, wanted


def _job_id(ad: classad2.ClassAd, keep: list[str]) -> str:
    """The ad's "cluster.proc"; ClusterId/ProcId leave the ad unless the projection kept them."""
    job_id = f"{ad.get('ClusterId')}.{ad.get('ProcId')}"
    if keep:
        for name in ("clusterid", "procid"):
            if name not in keep and name in ad:
                del ad[name]
    return job_id


def _job_pieces(ads: Iterable[classad2.ClassAd], keep: list[str]) -> Iterator[str]:
    yield "["
    for i, ad in enumerate(ads):
        yield f'{"," if i else ""}{{"jobid": "{_job_id(ad, keep)}", "classad": {ad_json(ad)}}}'
    yield "]"


def list_jobs(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, *, schedd: str,
              cluster: Optional[int] = None, history: bool = False) -> None:
    ads, truncated, wanted = _jobs(api, req, schedd, history, cluster)
    stream_reply(req, resp, _job_pieces(ads, wanted), {TRUNCATED: "true"} if truncated else None)


def list_history(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, **fields: Any) -> None:
    list_jobs(api, req, resp, record, history=True, **fields)


def _one_job(api: Api, req: falcon.Request, schedd: str, cluster: int, proc: int, history: bool,
             wanted: list[str]) -> tuple[str, dict[str, Any]]:
    api.check_schedd(schedd)
    ads, _ = api.schedd.query_jobs(f"ClusterId == {cluster} && ProcId == {proc}", wanted, history=history, limit=1)
    ads = list(ads)
    if not ads:
        raise NotFound(NO_JOBS)
    job_id = _job_id(ads[0], wanted)
    return job_id, ad_value(ads[0])


def get_job(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, *, schedd: str,
            cluster: int, proc: int, history: bool = False) -> None:
    job_id, classad = _one_job(api, req, schedd, cluster, proc, history, projection(req))
    json_reply(resp, {"jobid": job_id, "classad": classad})


def get_history_job(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, **fields: Any) -> None:
    get_job(api, req, resp, record, history=True, **fields)


def get_job_attribute(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, *, schedd: str,
                      cluster: int, proc: int, attribute: str, history: bool = False) -> None:
    if not is_attribute(attribute):
        raise BadRequest(f"Invalid attribute(s) in projection: {attribute}")
    _, classad = _one_job(api, req, schedd, cluster, proc, history, [attribute.lower()])
    if attribute.lower() not in classad:
        raise NotFound(NO_ATTRIBUTE)
    json_reply(resp, classad[attribute.lower()])


def get_history_attribute(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord,
                          **fields: Any) -> None:
    get_job_attribute(api, req, resp, record, history=True, **fields)


def _group(items: list[tuple[dict[str, Any], dict[str, Any]]], groupby: str) -> dict[str, list[dict[str, Any]]]:
    """``{value: [item]}`` by each classad's ``groupby`` value; items without one (or with a
    list or nested ad, which cannot be a JSON key) are left out, as RESTD does."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for item, classad in items:
        value = classad.get(groupby)
        if value is None or isinstance(value, (list, dict)):
            continue
        key = value if isinstance(value, str) else json.dumps(value)
        groups.setdefault(key, []).append(item)
    return groups


def _check_groupby(groupby: str) -> str:
    if not is_attribute(groupby):
        raise BadRequest("Invalid attribute for grouping")
    return groupby.lower()


def grouped_jobs(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, *, schedd: str,
                 groupby: str, cluster: Optional[int] = None, history: bool = False) -> None:
    key = _check_groupby(groupby)
    ads, truncated, wanted = _jobs(api, req, schedd, history, cluster, (key,) if param(req, "projection") else ())
    keep = wanted + [key] if wanted else []
    items = []
    for ad in ads:
        job_id = _job_id(ad, keep)
        classad = ad_value(ad)
        items.append(({"jobid": job_id, "classad": classad}, classad))
    if truncated:
        resp.set_header(TRUNCATED, "true")
    json_reply(resp, _group(items, key))


def grouped_history(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, **fields: Any) -> None:
    grouped_jobs(api, req, resp, record, history=True, **fields)


def _status_items(api: Api, req: falcon.Request, name: Optional[str],
                  groupby: Optional[str] = None) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    kind = param(req, "query", "any")
    if kind not in STATUS_TYPES:
        raise BadRequest(f"query: {kind!r} is not one of {', '.join(sorted(STATUS_TYPES))}")
    wanted = projection(req)
    constraint = param(req, "constraint") or "true"
    if name:
        constraint = f"({constraint}) && (Name == {classad2.quote(name)})"
    keep = [*wanted, *([groupby] if groupby and wanted else [])]
    items = []
    for ad in api.collector.query(kind, constraint, keep):
        classad = ad_value(ad)
        item = {"name": classad.get("name"), "type": classad.get("mytype")}
        if keep:
            for key in ("name", "mytype"):
                if key not in keep:
                    classad.pop(key, None)
        item["classad"] = classad
        items.append((item, classad))
    return items


def status(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, *,
           name: Optional[str] = None) -> None:
    json_reply(resp, [item for item, _ in _status_items(api, req, name)])


def grouped_status(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, *, groupby: str,
                   name: Optional[str] = None) -> None:
    key = _check_groupby(groupby)
    json_reply(resp, _group(_status_items(api, req, name, key), key))


def config(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, *,
           attribute: Optional[str] = None) -> None:
    daemon = param(req, "daemon") or None
    if daemon is not None and daemon not in DAEMONS:
        raise BadRequest(f"daemon: {daemon!r} is not one of {', '.join(DAEMONS)}")
    if attribute is not None and not is_attribute(attribute):
        raise BadRequest(f"Invalid attribute: {attribute}")
    table = {name.lower(): value for name, value in api.collector.configuration(daemon).items()}
    if attribute is None:
        json_reply(resp, table)
    elif attribute.lower() in table:
        json_reply(resp, table[attribute.lower()])
    else:
        raise NotFound(f"{NO_ATTRIBUTE}: {attribute}")


# -- the routes ------------------------------------------------------------------------------

PROJECTION = Param("projection", "comma-separated attribute names: only these (case-insensitive) "
                   "in each classad")
CONSTRAINT = Param("constraint", "a ClassAd expression the jobs or ads must match (default true)")
QUERY = Param("query", "the type of ad (condor_status's query options; default any)",
              {"type": "string", "enum": sorted(STATUS_TYPES)})
DAEMON = Param("daemon", "ask this running daemon instead of the configuration files",
               {"type": "string", "enum": list(DAEMONS)})
JOB_REPLIES = {400: Reply("bad projection or constraint", "Error"), 404: Reply("no such schedd", "Error"),
               503: Reply("the pool failed", "Error")}


def _job_routes(kind: str, operation: str, where: str) -> list[Route]:
    base = f"/v1/{kind}/{{schedd}}"
    history = kind == "history"
    many, one, attr = ((list_history, get_history_job, get_history_attribute) if history
                       else (list_jobs, get_job, get_job_attribute))
    group = grouped_history if history else grouped_jobs
    listing = {200: Reply(f"jobs {where} (X-Condor-Truncated: true when max_jobs_per_query cut the list)",
                          "JobList"), **JOB_REPLIES}
    return [
        Route("GET", base, operation, f"Jobs {where}", many, "jobs", (PROJECTION, CONSTRAINT), replies=listing),
        Route("GET", base + "/{cluster:int}", operation, f"Jobs of one cluster {where}", many, "jobs",
              (PROJECTION, CONSTRAINT), replies=listing),
        Route("GET", base + "/{cluster:int}/{proc:int}", operation, f"One job {where}", one, "jobs", (PROJECTION,),
              replies={200: Reply("the job", "Job"), **JOB_REPLIES, 404: Reply("no such job or schedd", "Error")}),
        Route("GET", base + "/{cluster:int}/{proc:int}/{attribute}", operation, f"One attribute of a job {where}",
              attr, "jobs", replies={200: Reply("the attribute's JSON value", "Value"), **JOB_REPLIES,
                                     404: Reply("no such job, attribute or schedd", "Error")}),
        Route("GET", f"/v1/grouped_{kind}/{{schedd}}/{{groupby}}", operation, f"Jobs {where}, grouped", group,
              "jobs", (PROJECTION, CONSTRAINT), replies={200: Reply("jobs by value", "GroupedJobs"), **JOB_REPLIES}),
        Route("GET", f"/v1/grouped_{kind}/{{schedd}}/{{groupby}}/{{cluster:int}}", operation,
              f"Jobs of one cluster {where}, grouped", group, "jobs", (PROJECTION, CONSTRAINT),
              replies={200: Reply("jobs by value", "GroupedJobs"), **JOB_REPLIES}),
    ]


_STATUS_REPLIES = {400: Reply("bad projection, constraint or query", "Error"), 503: Reply("the pool failed", "Error")}

ROUTES: list[Route] = [
    *_job_routes("jobs", "getJobAds", "in the queue"),
    *_job_routes("history", "getJobHistory", "that left the queue"),
    Route("GET", "/v1/status", "queryAnyAds", "Collector ads (condor_status)", status, "status",
          (PROJECTION, CONSTRAINT, QUERY), replies={200: Reply("ads", "StatusList"), **_STATUS_REPLIES}),
    Route("GET", "/v1/status/{name}", "queryAnyAds", "Collector ads of one Name", status, "status",
          (PROJECTION, CONSTRAINT, QUERY), replies={200: Reply("ads", "StatusList"), **_STATUS_REPLIES}),
    Route("GET", "/v1/grouped_status/{groupby}", "queryAnyAds", "Collector ads, grouped", grouped_status, "status",
          (PROJECTION, CONSTRAINT, QUERY), replies={200: Reply("ads by value", "GroupedStatus"), **_STATUS_REPLIES}),
    Route("GET", "/v1/grouped_status/{groupby}/{name}", "queryAnyAds", "Collector ads of one Name, grouped",
          grouped_status, "status", (PROJECTION, CONSTRAINT, QUERY),
          replies={200: Reply("ads by value", "GroupedStatus"), **_STATUS_REPLIES}),
    Route("GET", "/v1/config", "getConfig", "The pool's configuration (knobs naming secrets left out)", config,
          "config", (DAEMON,), replies={200: Reply("knob -> value, names lower-cased", "Config"),
                                        403: Reply("not in allow_config", "Error"),
                                        503: Reply("the daemon could not be asked", "Error")}),
    Route("GET", "/v1/config/{attribute}", "getConfig", "One configuration value", config, "config", (DAEMON,),
          replies={200: Reply("the value", "Value"), 400: Reply("not an attribute name", "Error"),
                   403: Reply("not in allow_config", "Error"), 404: Reply("undefined (or secret)", "Error"),
                   503: Reply("the daemon could not be asked", "Error")}),
]
