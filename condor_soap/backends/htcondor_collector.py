"""The htcondor backend's collector side: ``Collector.query`` with the matching ad type and
``Collector.advertise`` with the matching ``UPDATE_*`` command. A mixin of
:class:`~condor_soap.backends.htcondor.HTCondorBackend`."""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any, Iterator, Optional

import classad2
import htcondor2

from condor_soap.core.ports import BackendError
from condor_soap.core.constraints import select
from condor_soap.core.records import AdType

_QUERY_TYPES = {AdType.STARTD: "Startd", AdType.SCHEDD: "Schedd", AdType.SUBMITTOR: "Submitter",
                AdType.LICENSE: "License", AdType.MASTER: "Master", AdType.COLLECTOR: "Collector",
                AdType.NEGOTIATOR: "Negotiator", AdType.HAD: "HAD"}
#: Types the collector has no query table for: found among all ads by MyType.
_BY_MYTYPE = {AdType.STORAGE: "Storage", AdType.GENERIC: "Generic", AdType.CKPTSRVR: "CkptServer",
              AdType.QUILL: "Quill"}
MY_TYPES = {AdType.STARTD: "Machine", AdType.SCHEDD: "Scheduler", AdType.MASTER: "DaemonMaster",
            AdType.SUBMITTOR: "Submitter", AdType.LICENSE: "License", AdType.COLLECTOR: "Collector",
            AdType.NEGOTIATOR: "Negotiator", AdType.HAD: "HAD", **_BY_MYTYPE}
_UPDATE = {AdType.STARTD: "UPDATE_STARTD_AD", AdType.SCHEDD: "UPDATE_SCHEDD_AD",
           AdType.SUBMITTOR: "UPDATE_SUBMITTOR_AD", AdType.LICENSE: "UPDATE_LICENSE_AD",
           AdType.MASTER: "UPDATE_MASTER_AD", AdType.CKPTSRVR: "UPDATE_CKPT_SRVR_AD",
           AdType.COLLECTOR: "UPDATE_COLLECTOR_AD", AdType.STORAGE: "UPDATE_STORAGE_AD",
           AdType.NEGOTIATOR: "UPDATE_NEGOTIATOR_AD", AdType.HAD: "UPDATE_HAD_AD",
           AdType.GENERIC: "UPDATE_AD_GENERIC"}


class CollectorMixin:
    """Collector queries and updates of :class:`HTCondorBackend`."""

    soap_address: Optional[str]
    _failures: Any
    _name_hint: Any

    @contextmanager
    def _collector(self, doing: str) -> Iterator[Any]:
        try:
            with self._failures(doing):
                yield htcondor2.Collector()
        except BackendError as exc:
            if "not reachable" in str(exc):  # it was the collector, not the schedd
                raise BackendError(str(exc).replace(f"The schedd {self._name_hint()}", "The collector", 1)) from exc
            raise

    def query_ads(self, ad_type: Optional[AdType], constraint: Optional[str] = None) -> list[classad2.ClassAd]:
        if constraint is not None and constraint.strip():
            try:
                classad2.ExprTree(constraint)
            except Exception:
                return []
        else:
            constraint = None
        # Schedd ads get HasSOAPInterface here, so those queries are judged on our view.
        local = ad_type in (None, AdType.SCHEDD)
        sent = [] if local or constraint is None else [f"({constraint})"]
        kind = htcondor2.AdType.Any
        if ad_type is not None and ad_type in _QUERY_TYPES:
            kind = getattr(htcondor2.AdType, _QUERY_TYPES[ad_type])
        elif ad_type is not None:
            sent.insert(0, f"MyType == {classad2.quote(_BY_MYTYPE[ad_type])}")
        with self._collector("Could not query the collector") as collector:
            ads = collector.query(kind, " && ".join(sent) or "true")
        if local:
            ads = [self._soap_schedd(ad) for ad in ads]
            ads = select(constraint, ads)
        return ads

    def _soap_schedd(self, ad: classad2.ClassAd) -> classad2.ClassAd:
        if ad.get("MyType") == "Scheduler" and ad.get("Name") == self._name_hint():
            ad["HasSOAPInterface"] = True
            if self.soap_address:
                ad["MyAddress"] = self.soap_address
        return ad

    def advertise(self, ad_type: AdType, ad: classad2.ClassAd) -> bool:
        ad_type = AdType(ad_type)
        ad = classad2.ClassAd(str(ad))
        name = ad.get("Name")
        if not isinstance(name, str) or not name:
            raise BackendError("The ad has no Name attribute")
        if ad_type not in _UPDATE:
            raise BackendError(f"HTCondor has no {ad_type.name.title()} ads")
        if "MyType" not in ad:
            ad["MyType"] = MY_TYPES[ad_type]
        if ad_type is AdType.LICENSE and "MyAddress" not in ad:
            ad["MyAddress"] = "<0.0.0.0:0>"  # the collector keys License ads by Name and address
        named = f"Name == {classad2.quote(name)}"

        my_type = ad.get("MyType")

        def stored() -> list[classad2.ClassAd]:
            if ad_type in _QUERY_TYPES:
                return self.query_ads(ad_type, named)
            typed = f" && MyType == {classad2.quote(my_type)}" if isinstance(my_type, str) else ""
            with self._collector("Could not query the collector") as collector:
                return collector.query(htcondor2.AdType.Any, named + typed)
        existed = bool(stored())
        with self._collector(f"The collector refused the {ad_type.name.title()} ad") as collector:
            collector.advertise([ad], _UPDATE[ad_type])
        # An update the collector cannot use (no hash key, not authorized) is dropped silently.
        deadline = time.monotonic() + 3.0
        while not stored():
            if time.monotonic() > deadline:
                raise BackendError(f"The collector did not store the {ad_type.name.title()} ad {name!r} "
                                   "(not authorized to advertise, or the ad lacks what the collector keys it by)")
            time.sleep(0.05)
        return not existed
