"""The one Spyne application behind every endpoint, and where errors become a ``Status``."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from condor_soap.auth.audit import AuditLog
from condor_soap.core.policy import ANONYMOUS, WRITE, Caller, Policy, calling, permission

from spyne import Application

from condor_soap.environ import CALLER_KEY
from condor_soap.errors import CondorSoapError, StatusCode
from condor_soap.soap import convert
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
INTERNAL_ERROR = "Internal error"


@dataclass(frozen=True)
class Cores:
    """What the services reach through ``ctx.app.config``."""

    schedd: "ScheddCore"
    collector: "CollectorCore"
    policy: Optional[Policy] = None  # None: no authorization (every caller may call anything)
    audit: Optional[AuditLog] = None


class CondorApplication(Application):
    """Dispatches every operation of both WSDLs, on any path (gSOAP ignored the path, spec §2).

    Application errors are answered, never faulted (spec §0.9): a
    :class:`~condor_soap.errors.CondorSoapError` becomes the operation's answer with its code
    and message, any other exception is logged and answered ``FAIL``.

    It is also the one place a call meets its caller: the caller the HTTP layer identified is
    authorized for the operation (spec §4.1 step 6), bound for the core (:func:`calling`)
    and, for a WRITE operation, audited with the outcome.
    """

    def __init__(self, cores: Cores) -> None:
        super().__init__(list(SERVICES), tns=m.TNS, name="condor", in_protocol=LenientSoap11(),
                         out_protocol=LenientSoap11(), config=cores)

    def call_wrapper(self, ctx: Any) -> Any:
        env = getattr(ctx.transport, "req_env", None) or {}
        who: Caller = env.get(CALLER_KEY, ANONYMOUS)
        cores: Cores = ctx.app.config
        answer = self._call(ctx, who, cores.policy)
        if cores.audit is not None and permission(ctx.descriptor.name) == WRITE:
            try:
                audit_call(cores.audit, ctx, who, answer)
            except Exception:  # never fail a call for its audit line
                log.exception("audit of %s", ctx.descriptor.name)
        return answer

    def _call(self, ctx: Any, who: Caller, policy: Optional[Policy]) -> Any:
        try:
            if policy is not None:
                policy.authorize(who, ctx.descriptor.name)
            with calling(who):
                return super().call_wrapper(ctx)
        except CondorSoapError as err:
            return failure(ctx.descriptor, err.code, err.message, err.result)
        except Exception:
            log.exception("%s failed", ctx.descriptor.name)
            return failure(ctx.descriptor, StatusCode.FAIL, INTERNAL_ERROR)


def audit_call(audit: AuditLog, ctx: Any, who: Caller, answer: Any) -> None:
    """One audit line for a WRITE call: who, from where, what, on which jobs, the outcome."""
    args = ctx.in_object
    status = answer if isinstance(answer, m.Status) else getattr(answer, "status", None)
    txn = getattr(args, "transaction", None)
    txn_id = getattr(txn, "id", None) or None
    if txn_id is None and isinstance(getattr(answer, "transaction", None), m.Transaction):
        txn_id = answer.transaction.id  # beginTransaction
    cluster, job = getattr(args, "clusterId", None), getattr(args, "jobId", None)
    name = ctx.descriptor.name
    if name == "newCluster":
        cluster = getattr(answer, "integer", None)
    elif name == "newJob":
        job = getattr(answer, "integer", None)
    data = getattr(args, "data", None) if name == "sendFile" else None
    code = getattr(status, "code", None)
    audit.record("call", user=who.user, auth=who.method, source=who.address, operation=name,
                 transaction=txn_id, cluster=cluster, job=job,
                 file=getattr(args, "name", None) if name in ("declareFile", "sendFile") else None,
                 bytes=sum(map(len, data)) if data else 0,
                 outcome=getattr(code, "name", code), message=getattr(status, "message", None))


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
