"""The collector operations (spec §3.4): insertAd and the seven queries."""
from __future__ import annotations

from typing import Any, Optional

from spyne import Service

from condor_soap.core.records import AdType
from condor_soap.soap import convert
from condor_soap.soap.models import AdTypeArg, ClassAdStruct, ClassAdStructArray, Status, StringArg, element
from condor_soap.soap.operations import ads_answer, collector, operation


def _query(name: str, ad_type: Optional[AdType]) -> Any:
    """The query*Ads operation ``name``: a bare ClassAdStructArray, no Status (spec §4.4).
    gSOAP named its input message ``query*AdsRequest`` (spec §3.2)."""

    def query(ctx, constraint):
        return ads_answer(ctx, "result", collector(ctx).query_ads(ad_type, constraint), status=False)

    query.__name__ = query.__qualname__ = name  # Spyne keys methods by function name
    return operation(StringArg, returns=ClassAdStructArray, out="result", input_message_suffix="Request")(query)


class CollectorService(Service):
    """The condorCollector operations after the daemon-core ones."""

    @operation(AdTypeArg, element(ClassAdStruct), returns=Status, out="status")
    def insertAd(ctx, type, ad):
        return convert.status(message=collector(ctx).insert_ad(type, convert.attrs(ad)))

    queryStartdAds = _query("queryStartdAds", AdType.STARTD)
    queryScheddAds = _query("queryScheddAds", AdType.SCHEDD)
    queryMasterAds = _query("queryMasterAds", AdType.MASTER)
    querySubmittorAds = _query("querySubmittorAds", AdType.SUBMITTOR)
    queryLicenseAds = _query("queryLicenseAds", AdType.LICENSE)
    queryStorageAds = _query("queryStorageAds", AdType.STORAGE)
    queryAnyAds = _query("queryAnyAds", None)
