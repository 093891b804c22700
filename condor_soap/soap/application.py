"""The one Spyne application behind every endpoint, and where errors become a ``Status``."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from spyne import Application

from condor_soap.calls import INTERNAL_ERROR, CallRecord, Calls
from condor_soap.core.policy import ANONYMOUS, Caller
from condor_soap.environ import CALLER_KEY
from condor_soap.errors import CondorSoapError, StatusCode
from condor_soap.soap import convert
from condor_soap.soap.ads_xml import Streamed
from condor_soap.soap import models as m
from condor_soap.soap.collector import CollectorService
from condor_soap.soap.daemon_core import DaemonCoreService
from condor_soap.soap.protocol import LenientSoap11
from condor_soap.soap.schedd import ScheddService

if TYPE_CHECKING:
    from condor_soap.core.collector import CollectorCore
    from condor_soap.core.schedd import ScheddCore

log = logging.getLogger(__name__)

SERVICES = (DaemonCoreService, ScheddService, CollectorService)
#: Operations whose answer is the same for every call while what they report is (the pool's
#: version and platform, polled by every client): Spyne writes each distinct answer once,
#: later calls send the same bytes (docs/performance.rst).
CONSTANT_ANSWERS = frozenset(("getVersionString", "getPlatformString"))
MAX_KEPT_ANSWERS = 16


@dataclass(frozen=True)
class KeepAnswer:
    """``ctx.udc`` of a call whose serialized answer is to be kept under ``key``."""

    key: tuple


@dataclass(frozen=True)
class Cores:
    """What the services reach through ``ctx.app.config``."""

    schedd: "ScheddCore"
    collector: "CollectorCore"
    calls: Calls = field(default_factory=Calls)  # default: no authorization, no audit
    fast_answers: bool = True  # ClassAd answers written by soap/ads_xml.py (False: by Spyne)


class CondorApplication(Application):
    """Dispatches every operation of both WSDLs, on any path (gSOAP ignored the path, spec §2).

    Application errors are answered, never faulted (spec §0.9): a
    :class:`~condor_soap.errors.CondorSoapError` becomes the operation's answer with its code
    and message, any other exception is logged and answered ``FAIL``.

    Each call runs through :class:`~condor_soap.calls.Calls` with the caller the HTTP layer
    identified (authorization, the caller bound for the core, the audit of writes); this face
    only tells the audit line what the request named.
    """

    def __init__(self, cores: Cores) -> None:
        super().__init__(list(SERVICES), tns=m.TNS, name="condor", in_protocol=LenientSoap11(),
                         out_protocol=LenientSoap11(), config=cores)
        self.kept_answers: dict[tuple, bytes] = {}

    def call_wrapper(self, ctx: Any) -> Any:
        env = getattr(ctx.transport, "req_env", None) or {}
        who: Caller = env.get(CALLER_KEY, ANONYMOUS)
        cores: Cores = ctx.app.config
        record = describe(ctx)
        answer = self._call(ctx, who, cores, record)
        if isinstance(answer, Streamed):
            ctx.out_string = answer.chunks  # written as it stands: Spyne serializes nothing
        elif ctx.descriptor.name in CONSTANT_ANSWERS and isinstance(answer, m.StringAndStatus) \
                and answer.status.code is StatusCode.SUCCESS:
            key = (ctx.descriptor.name, answer.status.code, answer.status.message, answer.message)
            kept = self.kept_answers.get(key)
            if kept is not None:
                ctx.out_string = [kept]
            else:
                ctx.udc = KeepAnswer(key)  # kept by SoapFace once Spyne has written it
        return answer

    def _call(self, ctx: Any, who: Caller, cores: Cores, record: CallRecord) -> Any:
        try:
            with cores.calls.call(who, ctx.descriptor.name, "soap", record):
                answer = super().call_wrapper(ctx)
                describe_answer(record, ctx, answer)
                return answer
        except CondorSoapError as err:
            return failure(ctx.descriptor, err.code, err.message, err.result)
        except Exception:
            log.exception("%s failed", ctx.descriptor.name)
            return failure(ctx.descriptor, StatusCode.FAIL, INTERNAL_ERROR)


def keep_answer(app: CondorApplication, ctx: Any) -> None:
    """After Spyne wrote a :data:`CONSTANT_ANSWERS` answer: keep its bytes."""
    if isinstance(ctx.udc, KeepAnswer) and ctx.out_error is None and ctx.out_string is not None:
        data = b"".join(ctx.out_string)
        ctx.out_string = [data]
        if len(app.kept_answers) >= MAX_KEPT_ANSWERS:
            app.kept_answers.clear()
        app.kept_answers[ctx.udc.key] = data


def describe(ctx: Any) -> CallRecord:
    """What the request names, for the audit line: transaction, job, file and bytes sent."""
    record = CallRecord()
    args = ctx.in_object
    txn = getattr(args, "transaction", None)
    record.transaction = getattr(txn, "id", None) or None
    record.cluster, record.job = getattr(args, "clusterId", None), getattr(args, "jobId", None)
    name = ctx.descriptor.name
    if name in ("declareFile", "sendFile"):
        record.file = getattr(args, "name", None)
    data = getattr(args, "data", None) if name == "sendFile" else None
    record.bytes = sum(map(len, data)) if data else 0
    return record


def describe_answer(record: CallRecord, ctx: Any, answer: Any) -> None:
    """What the answer names: the new transaction, cluster or job."""
    name = ctx.descriptor.name
    if record.transaction is None and isinstance(getattr(answer, "transaction", None), m.Transaction):
        record.transaction = answer.transaction.id  # beginTransaction
    if name == "newCluster":
        record.cluster = getattr(answer, "integer", None)
    elif name == "newJob":
        record.job = getattr(answer, "integer", None)


def failure(descriptor: Any, code: StatusCode, message: str, result: Optional[Any] = None) -> Any:
    """The answer of ``descriptor``'s operation for a failure: its ``Status``, or its
    ``<X>AndStatus`` (with ``result`` as the payload if given); a query's empty array."""
    (answer_cls,) = descriptor.out_message._type_info.values()
    answer_cls = answer_cls.__orig__ or answer_cls
    if answer_cls is m.Status:
        return convert.status(code, message)
    if answer_cls is m.ClassAdStructArray:  # query*Ads have no Status: errors are empty (§4.4)
        return m.ClassAdStructArray(item=[])
    answer = answer_cls(status=convert.status(code, message))
    if answer_cls is m.Base64DataAndStatus:
        # gSOAP always serialized base64Binary, empty on failure; clients decode it unchecked
        answer.data = convert.base64(b"")
    if result is not None:
        ((name, payload_cls),) = [(k, v) for k, v in answer_cls._type_info.items() if k != "status"]
        setattr(answer, name, convert.PAYLOAD[payload_cls.__orig__ or payload_cls](result))
    return answer
