"""What every service module shares: the ``@operation`` decorator and core lookup."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Optional, Sequence

from spyne import rpc

from condor_soap.core.records import Attr
from condor_soap.soap import ads_xml, convert
from condor_soap.soap import models as m
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


def ads_answer(ctx: Any, member: str, ads: Iterable[Sequence[Attr]], status: bool = True) -> Any:
    """The answer holding ``ads`` as its ClassAdStructArray ``member``: streamed by
    :mod:`.ads_xml`, or as Spyne models when the application writes answers generically."""
    if ctx.app.config.fast_answers:
        return ads_xml.ads_answer(ctx.descriptor.name, member, ads, status)
    array = convert.class_ads(ads)
    return m.ClassAdStructArrayAndStatus(status=convert.status(), classAdArray=array) if status else array


def ad_answer(ctx: Any, ad: Sequence[Attr]) -> Any:
    """The ``ClassAdStructAndStatus`` answer holding ``ad`` (fast or generic, as above)."""
    if ctx.app.config.fast_answers:
        return ads_xml.ad_answer(ctx.descriptor.name, ad)
    return m.ClassAdStructAndStatus(status=convert.status(), classAd=convert.class_ad(ad))
