"""Writes with the SOAP face's semantics (the same core calls, so the same journal, leases,
limits and audit): transactions, job submission (a JSON job ad or submit-description text;
input files as multipart parts or staged first), hold/release/remove of one job or of every
job matching a constraint, output listing and download (streamed, HTTP ``Range``), closeSpool.

A job ad is completed from ``createJobTemplate``'s defaults (Requirements, LeaveJobInQueue =
FilesRetrieved =?= false, ...), then the client's attributes are set over them, so
``{"cmd": "/bin/sleep", "arguments": "60"}`` is a whole job.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from typing import IO, Any, Iterator, Optional

import classad2
import falcon
from falcon.media.multipart import MultipartParseError

from condor_soap.calls import CallRecord, Calls
from condor_soap.core import expression_guard, submit_text
from condor_soap.core.classads import attr_of
from condor_soap.core.policy import ANONYMOUS
from condor_soap.core.records import ActionKind, Attr, HashType, TxnRef, Universe
from condor_soap.environ import CALLER_KEY
from condor_soap.errors import AlreadyExists, CondorSoapError, NotFound
from condor_soap.rest.api import Api, BadRequest, json_reply, param
from condor_soap.rest.routes import Param, Reply, Route

CHUNK = 1 << 20  # bytes per sendFile/getFile step: memory stays flat whatever the file size
DEFAULT_DURATION = 300
_SPOOLED = 1 << 20  # multipart files past this size wait on disk, not in memory


# -- request bodies ---------------------------------------------------------------------------

def _body(req: falcon.Request) -> dict[str, Any]:
    """A JSON object body ({} when there is none)."""
    data = req.bounded_stream.read() if req.content_length else b""
    if not data.strip():
        return {}
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise BadRequest(f"The body is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BadRequest("The body must be a JSON object")
    return value


def _flag(req: falcon.Request, body: dict[str, Any], name: str) -> bool:
    value = body.get(name, param(req, name) or False)
    return value is True or str(value).lower() in ("1", "true", "yes")


def _txn(req: falcon.Request, body: Optional[dict[str, Any]] = None) -> Optional[TxnRef]:
    """The ``transaction`` query parameter (or body member), if any: the action joins it."""
    value = (body or {}).get("transaction", param(req, "transaction") or None)
    if value is None:
        return None
    try:
        return TxnRef(int(value), None)
    except (TypeError, ValueError):
        raise BadRequest(f"transaction: not a transaction id: {value!r}") from None


def _duration(body: dict[str, Any]) -> int:
    value = body.get("duration", DEFAULT_DURATION)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"duration: an integer number of seconds, not {value!r}")
    return value


def ad_attrs(text: str) -> list[Attr]:
    """A JSON object (HTCondor's JSON form: "/Expr(...)/" for expressions) as job attributes.
    Every expression passes the expression guard before classad2's JSON reader parses it
    (deep ones crash it, as every ClassAd parser; docs/reliability.rst)."""
    try:
        _check_expressions(json.loads(text), "The job ad")
    except (ValueError, RecursionError):
        raise BadRequest("The job ad is not a JSON object of attributes") from None
    try:
        ad = classad2.parseOne(text, classad2.ParserType.JSON)
    except Exception:  # classad2 raises several types for text that does not parse
        ad = None
    if ad is None or not text.lstrip().startswith("{"):
        raise BadRequest("The job ad is not a JSON object of attributes")
    return [attr for name in ad.keys() if (attr := attr_of(name, ad)) is not None]


def _check_expressions(value: Any, what: str) -> None:
    if isinstance(value, str) and value.startswith("/Expr(") and value.endswith(")/"):
        expression_guard.check(value[len("/Expr("):-len(")/")], what)
    elif isinstance(value, dict):
        for name, item in value.items():
            _check_expressions(item, f"The value of {name}")
    elif isinstance(value, list):
        for item in value:
            _check_expressions(item, what)


def _described(req: falcon.Request, text: str, cluster: int, first_proc: int) -> list[list[Attr]]:
    """The jobs of a JSON ad (``count`` of them) or of submit-description text."""
    if text.lstrip().startswith("{"):
        count = int(param(req, "count", "1") or 1)
        if not 1 <= count <= submit_text.MAX_PROCS:
            raise BadRequest(f"count: between 1 and {submit_text.MAX_PROCS}")
        return [ad_attrs(text)] * count
    try:
        return submit_text.parse(text, cluster, first_proc).jobs
    except submit_text.SubmitTextError as exc:
        raise BadRequest(f"Submit description: {exc}") from None


def _complete(api: Api, cluster: int, proc: int, attrs: list[Attr]) -> list[Attr]:
    """``attrs`` over createJobTemplate's defaults (the client's values win)."""
    given = {a.name.casefold(): a for a in attrs if a.name}

    def text(name: str) -> Optional[str]:
        attr = given.get(name.casefold())
        return attr.value if attr is not None else None

    universe = text("JobUniverse")
    try:
        kind = Universe(int(universe)) if universe else Universe.VANILLA
    except ValueError:
        raise BadRequest(f"JobUniverse: not a universe number: {universe!r}") from None
    try:
        template = api.schedd.create_job_template(cluster, proc, None, kind, text("Cmd"), None, None)
    except CondorSoapError as exc:  # pragma: no cover - no arguments given, so never "Invalid arguments"
        template = exc.result or []
    kept = [a for a in template if a.name and a.name.casefold() not in given
            and a.name.casefold() not in ("mytype", "targettype", "servertime")]
    return kept + attrs


# -- transactions -------------------------------------------------------------------------------

def begin_transaction(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord) -> None:
    ref = api.schedd.begin_transaction(_duration(_body(req)))
    record.transaction = ref.id
    json_reply(resp, {"id": ref.id, "duration": ref.duration}, falcon.HTTP_201)


def extend_transaction(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, *,
                       txn: int) -> None:
    ref = api.schedd.extend_transaction(TxnRef(txn, None), _duration(_body(req)))
    json_reply(resp, {"id": ref.id, "duration": ref.duration})


def commit_transaction(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, *,
                       txn: int) -> None:
    api.schedd.commit_transaction(TxnRef(txn, None))
    json_reply(resp, {"id": txn, "committed": True})


def abort_transaction(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, *,
                      txn: int) -> None:
    api.schedd.abort_transaction(TxnRef(txn, None))
    resp.status = falcon.HTTP_204


def new_cluster(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, *, txn: int) -> None:
    record.cluster = api.schedd.new_cluster(TxnRef(txn, None))
    json_reply(resp, {"cluster": record.cluster}, falcon.HTTP_201)


def new_job(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, *, txn: int,
            cluster: int) -> None:
    record.job = api.schedd.new_job(TxnRef(txn, None), cluster)
    json_reply(resp, {"jobid": f"{cluster}.{record.job}", "cluster": cluster, "proc": record.job}, falcon.HTTP_201)


def submit_job(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, *, txn: int,
               cluster: int, proc: int) -> None:
    text = req.bounded_stream.read().decode("utf-8", "replace")
    jobs = _described(req, text, cluster, proc)
    if len(jobs) != 1:
        raise BadRequest("One job per submit here: queue a cluster with POST /v1/jobs/{schedd}")
    api.schedd.submit(TxnRef(txn, None), cluster, proc, _complete(api, cluster, proc, jobs[0]))
    json_reply(resp, {"jobid": f"{cluster}.{proc}"})


def upload_file(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, *, txn: int,
                cluster: int, proc: int, name: str) -> None:
    size = req.content_length
    if size is None:
        raise falcon.HTTPLengthRequired(description="Content-Length: the file's size is declared first")
    md5 = param(req, "md5") or None
    record.bytes = size
    cached = _declare(api, TxnRef(txn, None), cluster, proc, name, size, md5)
    if not cached:
        _send(api, TxnRef(txn, None), cluster, proc, name, req.bounded_stream)
    json_reply(resp, {"name": name, "size": size, "cached": cached}, falcon.HTTP_201)


def _declare(api: Api, txn: TxnRef, cluster: int, proc: int, name: str, size: int, md5: Optional[str]) -> bool:
    """declareFile; True when the service already had the file (MD5 cache: nothing to send)."""
    try:
        api.schedd.declare_file(txn, cluster, proc, name, size,
                                HashType.MD5HASH if md5 else HashType.NOHASH, md5)
    except AlreadyExists as exc:
        if "no need to send it" not in exc.message:
            raise
        return True
    return False


def _send(api: Api, txn: TxnRef, cluster: int, proc: int, name: str, stream: IO[bytes]) -> None:
    offset = 0
    while True:
        data = stream.read(CHUNK)
        if not data:
            return
        api.schedd.send_file(txn, cluster, proc, name, offset, data)
        offset += len(data)


# -- submit in one request ----------------------------------------------------------------------

def submit(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, *, schedd: str) -> None:
    """One transaction: a cluster of the described jobs with the request's files, committed."""
    api.check_schedd(schedd)
    files: dict[str, IO[bytes]] = {}
    try:
        text = _submit_parts(req, files)
        ref = api.schedd.begin_transaction(DEFAULT_DURATION)
        record.transaction = ref.id
        try:
            record.cluster = cluster = api.schedd.new_cluster(ref)
            jobs = _described(req, text, cluster, 0)
            procs = []
            for attrs in jobs:
                proc = api.schedd.new_job(ref, cluster)
                for name, data in files.items():
                    data.seek(0, 2)
                    size = data.tell()
                    data.seek(0)
                    if not _declare(api, ref, cluster, proc, name, size, None):
                        _send(api, ref, cluster, proc, name, data)
                    record.bytes += size
                api.schedd.submit(ref, cluster, proc, _complete(api, cluster, proc, attrs))
                procs.append(proc)
            api.schedd.commit_transaction(ref)
        except BaseException:
            try:
                api.schedd.abort_transaction(ref)
            except CondorSoapError:
                pass  # committed or gone: nothing to undo
            raise
    finally:
        for data in files.values():
            data.close()
    api.schedd.request_reschedule()
    json_reply(resp, {"cluster": cluster, "jobids": [f"{cluster}.{p}" for p in procs]}, falcon.HTTP_201)


def _submit_parts(req: falcon.Request, files: dict[str, IO[bytes]]) -> str:
    """The job description of the request, its multipart files into ``files`` (spooled)."""
    if not (req.content_type or "").startswith("multipart/form-data"):
        return req.bounded_stream.read().decode("utf-8", "replace")
    text = None
    try:
        for part in req.get_media():
            if part.name in ("ad", "submit") and not part.filename:
                text = part.stream.read().decode("utf-8", "replace")
                continue
            name = part.filename or part.name
            if not name or name in files:
                raise BadRequest(f"multipart: every file part needs a distinct file name ({name!r})")
            spooled = tempfile.SpooledTemporaryFile(_SPOOLED)
            files[name] = spooled
            shutil.copyfileobj(part.stream, spooled, CHUNK)
    except MultipartParseError as exc:
        raise BadRequest(f"multipart: {exc.description}") from None
    if text is None:
        raise BadRequest("multipart: a part named 'ad' (JSON job ad) or 'submit' (submit description) is needed")
    return text


# -- actions on queued jobs -----------------------------------------------------------------------

def _reason(req: falcon.Request, body: dict[str, Any]) -> Optional[str]:
    reason = body.get("reason", param(req, "reason") or None)
    return None if reason is None else str(reason)


def hold_job(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, *, schedd: str,
             cluster: int, proc: int) -> None:
    api.check_schedd(schedd)
    body = _body(req)
    api.schedd.hold_job(_txn(req, body), cluster, proc, _reason(req, body), False, False,
                        _flag(req, body, "system_hold"))
    json_reply(resp, {"jobid": f"{cluster}.{proc}"})


def release_job(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, *, schedd: str,
                cluster: int, proc: int) -> None:
    api.check_schedd(schedd)
    body = _body(req)
    api.schedd.release_job(_txn(req, body), cluster, proc, _reason(req, body), False, False)
    json_reply(resp, {"jobid": f"{cluster}.{proc}"})


def remove_job(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, *, schedd: str,
               cluster: int, proc: int) -> None:
    api.check_schedd(schedd)
    body = _body(req)
    api.schedd.remove_job(_txn(req, body), cluster, proc, _reason(req, body), _flag(req, body, "force"))
    json_reply(resp, {"jobid": f"{cluster}.{proc}"})


def remove_cluster(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, *, schedd: str,
                   cluster: int) -> None:
    api.check_schedd(schedd)
    body = _body(req)
    api.schedd.remove_cluster(_txn(req, body), cluster, _reason(req, body))
    json_reply(resp, {"cluster": cluster})


def _act_where(kind: ActionKind):  # type: ignore[no-untyped-def]
    def act(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, *, schedd: str) -> None:
        api.check_schedd(schedd)
        body = _body(req)
        constraint = body.get("constraint", param(req, "constraint"))
        if not isinstance(constraint, str):
            raise BadRequest("constraint: a ClassAd expression")
        acted, skipped = api.schedd.act_where(kind, constraint, _reason(req, body), _flag(req, body, "force"))
        json_reply(resp, {"jobids": [f"{c}.{p}" for c, p in acted], "skipped": [f"{c}.{p}" for c, p in skipped]})
    return act


def close_spool(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, *, schedd: str,
                cluster: int, proc: int) -> None:
    api.check_schedd(schedd)
    api.schedd.close_spool(_txn(req), cluster, proc)
    json_reply(resp, {"jobid": f"{cluster}.{proc}"})


# -- output -------------------------------------------------------------------------------------

def list_files(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, *, schedd: str,
               cluster: int, proc: int) -> None:
    api.check_schedd(schedd)
    json_reply(resp, [{"name": f.name, "size": f.size} for f in api.schedd.list_spool(_txn(req), cluster, proc)])


def download(api: Api, req: falcon.Request, resp: falcon.Response, record: CallRecord, *, schedd: str,
             cluster: int, proc: int, name: str) -> None:
    """The file, streamed in :data:`CHUNK` steps; ``Range: bytes=a-b`` (one range) answers 206."""
    api.check_schedd(schedd)
    txn = _txn(req)
    sizes = {f.name: f.size for f in api.schedd.list_spool(txn, cluster, proc)}
    if name not in sizes:
        raise NotFound(f"No file '{name}' in the spool of job {cluster}.{proc}")
    size = sizes[name]
    start, end = 0, size - 1
    resp.accept_ranges = "bytes"
    if req.range is not None and size:
        first, last = req.range
        if first < 0:  # bytes=-n: the last n bytes
            start, end = max(size + first, 0), size - 1
        else:
            start, end = first, size - 1 if last < 0 else min(last, size - 1)
        if start >= size or start > end:
            raise falcon.HTTPRangeNotSatisfiable(size)
        resp.status = falcon.HTTP_206
        resp.content_range = (start, end, size)
    resp.content_type = "application/octet-stream"
    resp.content_length = end - start + 1 if size else 0
    record.bytes = resp.content_length
    who = req.env.get(CALLER_KEY, ANONYMOUS)
    resp.stream = Calls.bound(who, _read(api, txn, cluster, proc, name, start, end + 1))


def _read(api: Api, txn: Optional[TxnRef], cluster: int, proc: int, name: str, start: int,
          stop: int) -> Iterator[bytes]:
    offset = start
    while offset < stop:
        data = api.schedd.get_file(txn, cluster, proc, name, offset, min(CHUNK, stop - offset))
        if not data:
            return  # the file shrank meanwhile: the client sees a short body
        yield data
        offset += len(data)


# -- the routes --------------------------------------------------------------------------------

JSON = "application/json"
_TXN = "/v1/transactions/{txn:int}"
_JOB = "/v1/jobs/{schedd}/{cluster:int}/{proc:int}"
_TXN_PARAM = Param("transaction", "act inside this transaction (applied at its commit)", {"type": "integer"})
_REASON = {JSON: {"schema": {"type": "object", "properties": {
    "reason": {"type": "string"}, "transaction": {"type": "integer"}}}}}
_FAILS = {400: Reply("refused (the message says why)", "Error"), 403: Reply("not allowed", "Error"),
          404: Reply("no such job, cluster, transaction or schedd", "Error"), 503: Reply("the pool failed", "Error")}
_AD_BODY = {JSON: {"schema": {"$ref": "#/components/schemas/ClassAd"}},
            "text/plain": {"schema": {"type": "string", "description": "a submit description"}}}
def _job_action(verb: str, operation: str, handler, summary: str) -> Route:  # type: ignore[no-untyped-def]
    return Route("POST", f"{_JOB}/{verb}", operation, summary, handler, "actions", (_TXN_PARAM,), _REASON,
                 {200: Reply("done (or, in a transaction, recorded for its commit)", "JobId"), **_FAILS})


def _bulk(verb: str, operation: str, kind: ActionKind) -> Route:
    return Route("POST", f"/v1/jobs/{{schedd}}/{verb}", operation,
                 f"{verb.capitalize()} every job matching a constraint (one batch)", _act_where(kind), "actions",
                 (Param("constraint", "the jobs to act on (\"true\": all one may act on)", required=True),),
                 _REASON, {200: Reply("the jobs acted on, and those the action did not apply to", "Acted"), **_FAILS})


ROUTES: list[Route] = [
    Route("POST", "/v1/transactions", "beginTransaction", "Begin a transaction", begin_transaction, "transactions",
          body={JSON: {"schema": {"type": "object", "properties": {"duration": {"type": "integer"}}}}},
          replies={201: Reply("the transaction and its lease in seconds", "Transaction"), **_FAILS}),
    Route("POST", f"{_TXN}/extend", "extendTransaction", "Renew a transaction's lease", extend_transaction,
          "transactions", body={JSON: {"schema": {"type": "object", "properties": {"duration": {"type": "integer"}}}}},
          replies={200: Reply("the new lease", "Transaction"), **_FAILS}),
    Route("POST", f"{_TXN}/commit", "commitTransaction", "Commit: queue its jobs, apply its actions",
          commit_transaction, "transactions",
          replies={200: Reply("committed", "Committed"), 409: Reply("a declared file is incomplete", "Error"),
                   **_FAILS}),
    Route("DELETE", _TXN, "abortTransaction", "Abort a transaction", abort_transaction, "transactions",
          replies={204: Reply("aborted"), **_FAILS}),
    Route("POST", f"{_TXN}/clusters", "newCluster", "A new cluster in the transaction", new_cluster,
          "transactions", replies={201: Reply("its id", "Cluster"), **_FAILS}),
    Route("POST", f"{_TXN}/clusters/{{cluster:int}}/jobs", "newJob", "A new job of a cluster of the transaction",
          new_job, "transactions", replies={201: Reply("its id", "JobId"), **_FAILS}),
    Route("PUT", f"{_TXN}/jobs/{{cluster:int}}/{{proc:int}}", "submit",
          "Submit a job of the transaction: its JSON ad, or a submit description queueing one job",
          submit_job, "transactions", (), _AD_BODY,
          {200: Reply("submitted (queued at commit)", "JobId"), **_FAILS}),
    Route("PUT", f"{_TXN}/jobs/{{cluster:int}}/{{proc:int}}/files/{{name}}", "sendFile",
          "Stage an input file of a job of the transaction (declareFile + sendFile)", upload_file, "transactions",
          (Param("md5", "the file's MD5 (hex): verified at commit, and known content is not sent again"),),
          {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
          {201: Reply("staged (cached: the service had it already)", "Uploaded"),
           411: Reply("no Content-Length", "Error"), 413: Reply("over a size limit", "Error"), **_FAILS}),
    Route("POST", "/v1/jobs/{schedd}", "submit",
          "Submit a cluster in one request: a JSON job ad (count copies) or a submit description; "
          "multipart/form-data: a part 'ad' or 'submit' and one part per input file", submit, "jobs",
          (Param("count", "jobs of a JSON ad (default 1)", {"type": "integer"}),),
          {**_AD_BODY, "multipart/form-data": {"schema": {"type": "object", "properties": {
              "ad": {"type": "string"}, "submit": {"type": "string"}}}}},
          {201: Reply("queued", "Submitted"), 413: Reply("over a size limit", "Error"), **_FAILS}),
    _job_action("hold", "holdJob", hold_job, "Hold a job"),
    _job_action("release", "releaseJob", release_job, "Release a held job"),
    Route("DELETE", _JOB, "removeJob", "Remove a job", remove_job, "actions",
          (_TXN_PARAM, Param("reason", "why"), Param("force", "remove a removed job for good", {"type": "boolean"})),
          replies={200: Reply("removed", "JobId"), **_FAILS}),
    Route("DELETE", "/v1/jobs/{schedd}/{cluster:int}", "removeCluster", "Remove every job of a cluster",
          remove_cluster, "actions", (_TXN_PARAM, Param("reason", "why")),
          replies={200: Reply("removed", "Cluster"), **_FAILS}),
    _bulk("hold", "holdJob", ActionKind.HOLD),
    _bulk("release", "releaseJob", ActionKind.RELEASE),
    _bulk("remove", "removeJob", ActionKind.REMOVE),
    _job_action("close_spool", "closeSpool", close_spool,
                "Close the spool: the output was retrieved, the job may leave the queue"),
    Route("GET", f"{_JOB}/files", "listSpool", "The files in a job's spool (its output once it completed)",
          list_files, "files", (_TXN_PARAM,), replies={200: Reply("name and size of each", "FileList"), **_FAILS}),
    Route("GET", f"{_JOB}/files/{{name}}", "getFile", "Download a spool file (HTTP Range: one byte range)",
          download, "files", (_TXN_PARAM,),
          replies={200: Reply("the file", "binary"), 206: Reply("the range asked for", "binary"),
                   416: Reply("the range is outside the file", "Error"), **_FAILS}),
]
