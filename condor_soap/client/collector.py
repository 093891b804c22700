"""The collector: ``Collector.query(ad_type, constraint, projection)`` and ``advertise``."""
from __future__ import annotations

import enum
from typing import Iterable, Iterator, Mapping, Optional, Sequence, Union

from condor_soap.client.classad import ClassAd
from condor_soap.client.daemon import Daemon


class AdType(enum.Enum):
    """Ad types (htcondor2.AdType names). The value is the ``query*Ads`` operation's infix,
    or None where the contract has no query of its own (``queryAnyAds`` filtered by
    ``MyType``); :meth:`Collector.advertise` sends the matching ``ClassAdType`` literal."""

    Startd = "Startd"
    Schedd = "Schedd"
    Master = "Master"
    Submitter = "Submittor"
    License = "License"
    Storage = "Storage"
    Any = "Any"
    Collector = "COLLECTOR"
    Negotiator = "NEGOTIATOR"
    HAD = "HAD"
    Generic = "GENERIC"

    @property
    def operation(self) -> str:
        return f"query{self.value}Ads" if self.value[0].isupper() and not self.value.isupper() else "queryAnyAds"

    @property
    def literal(self) -> str:
        """The ``ClassAdType`` of ``insertAd`` (``STARTD-AD-TYPE``...)."""
        return f"{self.value.upper()}-AD-TYPE"


_MY_TYPE = {AdType.Collector: "Collector", AdType.Negotiator: "Negotiator", AdType.HAD: "HAD",
            AdType.Generic: "Generic"}


class Collector(Daemon):
    """A condor-soap (or HTCondor 7/8 SOAP) collector: ``Collector(url, ...)``, the
    connection arguments of :class:`~condor_soap.client.daemon.Daemon`."""

    def query(self, ad_type: AdType = AdType.Any, constraint: Optional[str] = None,
              projection: Optional[Sequence[str]] = None) -> Iterator[ClassAd]:
        """The ads of ``ad_type`` matching ``constraint``, yielded as they arrive. The
        contract answers a failed query with no ads, never an error."""
        ad_type = AdType(ad_type)
        if ad_type in _MY_TYPE:
            mine = f'MyType == "{_MY_TYPE[ad_type]}"'
            constraint = f"({constraint}) && {mine}" if constraint else mine
        yield from self._endpoint.ads(ad_type.operation, list(projection) if projection else None,
                                      constraint=constraint)

    def advertise(self, ads: Union[Mapping, Iterable[Mapping]], ad_type: AdType = AdType.Generic) -> None:
        """``insertAd`` each ad (a :class:`ClassAd` or any mapping) as ``ad_type``."""
        for ad in [ads] if isinstance(ads, Mapping) else ads:
            self._endpoint.call("insertAd", type=AdType(ad_type).literal, ad=ad)
