"""What every service module shares: the ``@operation`` decorator and core lookup."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from spyne import rpc

from condor_soap.soap.models import element

if TYPE_CHECKING:
    from condor_soap.core.collector import CollectorCore
    from condor_soap.core.schedd import ScheddCore


def operation(*args: Any, returns: Any, out: str = "response", names: Optional[dict[str, str]] = None,
              input_message_suffix: str = "") -> Any:
    """``@rpc`` for a gSOAP-shaped operation: the response wrapper holds one required,
    unqualified child called ``out``; ``names`` maps Python argument names to element names
    that are not identifiers (``force_removal`` -> ``force-removal``). The WSDL names the
    input message ``<op><input_message_suffix>``."""
    return rpc(*args, _returns=element(returns), _out_variable_name=out, _in_arg_names=names or {},
               _udd={"input_message_suffix": input_message_suffix})


def schedd(ctx: Any) -> "ScheddCore":
    """The schedd core of the application serving ``ctx``."""
    return ctx.app.config.schedd


def collector(ctx: Any) -> "CollectorCore":
    return ctx.app.config.collector
