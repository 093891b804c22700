"""The OpenAPI 3 document of the REST face, generated from its route table (``/v1/openapi.json``)."""
from __future__ import annotations

from typing import Any

import falcon

from condor_soap import __version__
from condor_soap.calls import CallRecord
from condor_soap.core.policy import permission
from condor_soap.rest.api import Api, json_reply
from condor_soap.rest.routes import PATH_FIELD, Reply, Route

_AD = {"type": "object", "description": "A ClassAd in HTCondor's JSON form, attribute names lower-cased; "
                                         "an expression is a string \"/Expr(...)/\"", "additionalProperties": True}
_JOB = {"type": "object", "required": ["jobid", "classad"],
        "properties": {"jobid": {"type": "string", "example": "123.0"},
                       "classad": {"$ref": "#/components/schemas/ClassAd"}}}
_STATUS = {"type": "object", "required": ["name", "type", "classad"],
           "properties": {"name": {"type": "string", "nullable": True}, "type": {"type": "string", "nullable": True},
                          "classad": {"$ref": "#/components/schemas/ClassAd"}}}
SCHEMAS: dict[str, dict[str, Any]] = {
    "ClassAd": _AD,
    "Value": {"description": "a JSON value (a ClassAd value in HTCondor's JSON form)"},
    "Error": {"type": "object", "required": ["error", "code"],
              "properties": {"error": {"type": "string"}, "code": {"type": "string", "example": "UNKNOWNJOB"},
                             "message": {"type": "string", "description": "the same as error (RESTD's key)"}}},
    "Job": _JOB,
    "JobList": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}},
    "GroupedJobs": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/JobList"}},
    "StatusAd": _STATUS,
    "StatusList": {"type": "array", "items": {"$ref": "#/components/schemas/StatusAd"}},
    "GroupedStatus": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/StatusList"}},
    "Config": {"type": "object", "additionalProperties": {"type": "string"}},
    "OpenApi": {"type": "object", "description": "this document"},
    "Transaction": {"type": "object", "properties": {"id": {"type": "integer"}, "duration": {"type": "integer"}}},
    "Committed": {"type": "object", "properties": {"id": {"type": "integer"}, "committed": {"type": "boolean"}}},
    "Cluster": {"type": "object", "properties": {"cluster": {"type": "integer"}}},
    "JobId": {"type": "object", "properties": {"jobid": {"type": "string"}, "cluster": {"type": "integer"},
                                               "proc": {"type": "integer"}}},
    "Submitted": {"type": "object", "properties": {"cluster": {"type": "integer"},
                                                   "jobids": {"type": "array", "items": {"type": "string"}}}},
    "Acted": {"type": "object", "properties": {"jobids": {"type": "array", "items": {"type": "string"}},
                                               "skipped": {"type": "array", "items": {"type": "string"}}}},
    "Uploaded": {"type": "object", "properties": {"name": {"type": "string"}, "size": {"type": "integer"},
                                                  "cached": {"type": "boolean"}}},
    "FileList": {"type": "array", "items": {"type": "object", "properties": {
        "name": {"type": "string"}, "size": {"type": "integer"}}}},
}


def _path(template: str) -> str:
    return PATH_FIELD.sub(lambda m: "{" + m.group(1) + "}", template)


def _content(reply: Reply) -> dict[str, Any]:
    if reply.schema is None:
        return {}
    if reply.schema == "binary":
        return {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    if reply.schema == "events":
        return {"text/event-stream": {"schema": {"type": "string"}}}
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{reply.schema}"}}}


def _operation(route: Route) -> dict[str, Any]:
    params = [{"name": name, "in": "path", "required": True,
               "schema": {"type": "integer"} if kind == "int" else {"type": "string"}}
              for name, kind in route.path_fields()]
    params += [{"name": p.name, "in": "query", "required": p.required, "description": p.description,
                "schema": p.schema} for p in route.query]
    replies = route.replies or {200: Reply("OK")}
    op: dict[str, Any] = {
        "operationId": f"{route.method.lower()}_{_path(route.path).strip('/').replace('/', '_')}"
                       .replace("{", "").replace("}", ""),
        "summary": route.summary, "tags": [route.tag],
        "description": f"Core operation `{route.operation}` ({permission(route.operation)}).",
        "x-condor-operation": route.operation,
        "responses": {str(code): {"description": r.description, **({"content": _content(r)} if _content(r) else {})}
                      for code, r in sorted(replies.items())},
    }
    if params:
        op["parameters"] = params
    if route.body is not None:
        op["requestBody"] = {"required": True, "content": route.body}
    return op


def document(routes: list[Route]) -> dict[str, Any]:
    """The OpenAPI 3.0 document of ``routes``."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(_path(route.path), {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.0.3",
        "info": {"title": "condor-soap REST API", "version": __version__,
                 "description": "HTCondor-RESTD v1 compatible reads, and transactional writes, over the same "
                                "core as the SOAP face (docs/rest.rst)."},
        "paths": paths,
        "components": {"schemas": SCHEMAS,
                       "securitySchemes": {"basic": {"type": "http", "scheme": "basic"},
                                           "bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{}, {"basic": []}, {"bearer": []}],
    }


def route(routes: list[Route]) -> Route:
    """The route serving ``document(routes)`` (``routes`` read when asked: it includes this one)."""
    def serve(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord) -> None:
        json_reply(resp, document(routes))
    return Route("GET", "/v1/openapi.json", "getOpenApi", "This document", serve, "meta",
                 replies={200: Reply("the OpenAPI 3 document", "OpenApi")})
