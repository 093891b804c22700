"""The collector operations, independent of SOAP (spec §4.4, "Collector")."""
from __future__ import annotations

from typing import Optional

from condor_soap.backends.base import Backend
from condor_soap.core.records import AdType, Attr


class CollectorCore:
    def __init__(self, backend: Backend) -> None:
        raise NotImplementedError

    def insert_ad(self, ad_type: AdType, ad: Optional[list[Attr]]) -> str:
        """Store an ad; returns the success message ("New ad inserted" / "Updated ad")."""

    def query_ads(self, ad_type: Optional[AdType], constraint: Optional[str]) -> list[list[Attr]]:
        """Ads of one type (None = any); errors give an empty list (no Status on the wire)."""
