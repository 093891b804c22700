"""The one Spyne application behind every endpoint, and where errors become a ``Status``."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from spyne import Application

from condor_soap.errors import CondorSoapError, StatusCode
from condor_soap.wire import convert
from condor_soap.wire import models as m
from condor_soap.wire.collector import CollectorService
from condor_soap.wire.daemon_core import DaemonCoreService
from condor_soap.wire.protocol import LenientSoap11
from condor_soap.wire.schedd import ScheddService

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


class CondorApplication(Application):
    """Dispatches every operation of both WSDLs, on any path (gSOAP ignored the path, spec §2).

    Application errors are answered, never faulted (spec §0.9): a
    :class:`~condor_soap.errors.CondorSoapError` becomes the operation's answer with its code
    and message, any other exception is logged and answered ``FAIL``.
    """

    def __init__(self, cores: Cores) -> None:
        super().__init__(list(SERVICES), tns=m.TNS, name="condor", in_protocol=LenientSoap11(),
                         out_protocol=LenientSoap11(), config=cores)

    def call_wrapper(self, ctx: Any) -> Any:
        try:
            return super().call_wrapper(ctx)
        except CondorSoapError as err:
            return failure(ctx.descriptor, err.code, err.message, err.result)
        except Exception:
            log.exception("%s failed", ctx.descriptor.name)
            return failure(ctx.descriptor, StatusCode.FAIL, INTERNAL_ERROR)


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
    if result is not None:
        ((name, payload_cls),) = [(k, v) for k, v in answer_cls._type_info.items() if k != "status"]
        setattr(answer, name, convert.PAYLOAD[payload_cls.__orig__ or payload_cls](result))
    return answer
