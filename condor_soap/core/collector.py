"""The collector operations, independent of SOAP (spec §4.4, "Collector")."""
from __future__ import annotations

import logging
import time
from typing import Callable, Iterable, Optional, Sequence

import classad2

from condor_soap.core import expression_guard
from condor_soap.core.ports import Backend, BackendError
from condor_soap.core.classads import from_struct, to_structs
from condor_soap.core.constraints import check as check_constraint
from condor_soap.core.policy import SECRET_KNOB
from condor_soap.core.records import AdType, Attr
from condor_soap.errors import CondorSoapError, PoolError
from condor_soap.metrics import Metrics

#: condor_status's query types (RESTD's ``query``): a collector ad type, or ads of any type
#: with this MyType where the port has no type of its own.
STATUS_TYPES: dict[str, tuple[Optional[AdType], Optional[str]]] = {
    "any": (None, None), "accounting": (None, "Accounting"), "collector": (AdType.COLLECTOR, None),
    "credd": (None, "CredD"), "defrag": (None, "Defrag"), "generic": (AdType.GENERIC, None),
    "grid": (None, "Grid"), "had": (AdType.HAD, None), "license": (AdType.LICENSE, None),
    "master": (AdType.MASTER, None), "negotiator": (AdType.NEGOTIATOR, None),
    "schedd": (AdType.SCHEDD, None), "startd": (AdType.STARTD, None),
    "submitter": (AdType.SUBMITTOR, None)}
#: The daemons whose running configuration may be asked for.
DAEMONS = ("collector", "master", "negotiator", "schedd", "startd")

log = logging.getLogger(__name__)
_UNPARSABLE = "Failed to parse the ClassAdStruct"


class CollectorCore:
    """``insertAd`` and the ``query*Ads`` family over a backend's collector. Thread-safe."""

    def __init__(self, backend: Backend, clock: Optional[Callable[[], float]] = None,
                 metrics: Optional[Metrics] = None) -> None:
        self.backend = backend
        self.clock = clock or time.time
        self.metrics = metrics or Metrics()

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
            self.metrics.backend_error()
            raise CondorSoapError(_UNPARSABLE) from exc
        return "New ad inserted" if new else "Updated ad"

    def query_ads(self, ad_type: Optional[AdType], constraint: Optional[str]) -> Iterable[Sequence[Attr]]:
        """Ads of one type (None = any), converted as they are iterated; errors give an empty
        list (no Status on the wire)."""
        try:
            if constraint:  # before any backend parses it, or forwards it to a collector
                expression_guard.check(constraint, "The constraint")
        except expression_guard.ExpressionTooLarge as exc:
            log.info("collector query refused: %s", exc)
            return []
        try:
            ads = self.backend.query_ads(ad_type, constraint or None)
        except BackendError as exc:  # no Status on the wire: a failure is an empty answer (spec §4.4)
            log.warning("collector query failed: %s", exc)
            self.metrics.backend_error()
            return []
        except CondorSoapError as exc:  # the client's constraint (too costly to judge)
            log.warning("collector query refused: %s", exc.message)
            return []
        except Exception:
            log.exception("collector query failed")
            return []
        return to_structs(ads, int(self.clock()))

    def query(self, kind: str, constraint: Optional[str], projection: Sequence[str] = ()) -> list[classad2.ClassAd]:
        """Ads of one of :data:`STATUS_TYPES` matching ``constraint``, cut down to
        ``projection`` (plus Name and MyType). A constraint that does not parse is
        :class:`InvalidConstraint`; a collector that fails is :class:`PoolError`."""
        check_constraint(constraint)
        ad_type, my_type = STATUS_TYPES[kind]
        if constraint is not None and not constraint.strip():
            constraint = None
        if my_type is not None:
            typed = f"MyType == {classad2.quote(my_type)}"
            constraint = f"{typed} && ({constraint})" if constraint else typed
        try:
            ads = self.backend.query_ads(ad_type, constraint)
        except BackendError as exc:
            raise PoolError(f"Error querying collector: {exc}") from exc
        if not projection:
            return ads
        keep = ("Name", "MyType", *projection)
        return [classad2.ClassAd({name: ad.lookup(name) for name in keep if name in ad}) for ad in ads]

    def configuration(self, daemon: Optional[str] = None) -> dict[str, str]:
        """The pool's configuration (or a running daemon's of :data:`DAEMONS`) without the
        knobs that name secrets."""
        try:
            table = self.backend.configuration(daemon)
        except BackendError as exc:
            raise PoolError(f"Error querying {daemon or 'the configuration'}: {exc}") from exc
        return {name: value for name, value in table.items() if not SECRET_KNOB.search(name)}
