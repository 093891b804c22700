"""The collector operations, independent of SOAP (spec §4.4, "Collector")."""
from __future__ import annotations

import logging
import time
from typing import Callable, Optional

from condor_soap.core.ports import Backend, BackendError
from condor_soap.core.classads import from_struct, to_struct
from condor_soap.core.records import AdType, Attr
from condor_soap.errors import CondorSoapError

log = logging.getLogger(__name__)
_UNPARSABLE = "Failed to parse the ClassAdStruct"


class CollectorCore:
    """``insertAd`` and the ``query*Ads`` family over a backend's collector. Thread-safe."""

    def __init__(self, backend: Backend, clock: Optional[Callable[[], float]] = None) -> None:
        self.backend = backend
        self.clock = clock or time.time

    def insert_ad(self, ad_type: AdType, ad: Optional[list[Attr]]) -> str:
        """Store an ad; returns the success message ("New ad inserted" / "Updated ad")."""
        classad = from_struct(ad)
        if len(classad) == 0:
            raise CondorSoapError(_UNPARSABLE)
        try:
            new = self.backend.advertise(ad_type, classad)
        except BackendError as exc:
            # The original gave the same text whether the ad was refused or unhashable.
            log.info("insertAd refused: %s", exc)
            raise CondorSoapError(_UNPARSABLE) from exc
        return "New ad inserted" if new else "Updated ad"

    def query_ads(self, ad_type: Optional[AdType], constraint: Optional[str]) -> list[list[Attr]]:
        """Ads of one type (None = any); errors give an empty list (no Status on the wire)."""
        try:
            ads = self.backend.query_ads(ad_type, constraint or None)
        except Exception:  # no Status on the wire: any failure is an empty answer (spec §4.4)
            log.warning("collector query failed", exc_info=True)
            return []
        now = int(self.clock())
        return [to_struct(ad, now) for ad in ads]
