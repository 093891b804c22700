"""Model <-> core record conversions: the only place the two shapes meet."""
from __future__ import annotations

from typing import Any, Callable, Iterable, Optional, Sequence

from condor_soap.core.records import Attr, FileInfo as FileRecord, TxnRef
from condor_soap.errors import StatusCode
from condor_soap.soap import models as m

SUCCESS_MESSAGE = "Success"


# -- requests -------------------------------------------------------------------------------

def txn_ref(txn: Optional[m.Transaction]) -> Optional[TxnRef]:
    """A request's Transaction; omitted, nil, empty or id 0 all mean none (spec §4.1 step 1)."""
    if txn is None or not txn.id:
        return None
    return TxnRef(id=txn.id, duration=txn.duration)


def attrs(ad: Optional[m.ClassAdStruct]) -> Optional[list[Attr]]:
    """A request's ClassAdStruct; nil items are dropped."""
    if ad is None:
        return None
    return [Attr(item.name, item.type, item.value) for item in ad.item or () if item is not None]


def data(value: Optional[Sequence[bytes]]) -> Optional[bytes]:
    """A request's base64Binary (Spyne hands over a sequence of chunks)."""
    return None if value is None else b"".join(value)


# -- responses ------------------------------------------------------------------------------

def status(code: StatusCode = StatusCode.SUCCESS, message: Optional[str] = SUCCESS_MESSAGE) -> m.Status:
    """A ``Status``; the success ones are shared (answers are serialised, never modified)."""
    if code is StatusCode.SUCCESS:
        shared = _SUCCESS.get(message)
        if shared is not None:
            return shared
    return m.Status(code=code, message=message)


_SUCCESS = {SUCCESS_MESSAGE: m.Status(code=StatusCode.SUCCESS, message=SUCCESS_MESSAGE),
            None: m.Status(code=StatusCode.SUCCESS)}


def class_ad(ad: Iterable[Attr]) -> m.ClassAdStruct:
    return m.ClassAdStruct(item=[m.ClassAdStructAttr(name=a.name, type=a.type, value=a.value) for a in ad])


def class_ads(ads: Iterable[Iterable[Attr]]) -> m.ClassAdStructArray:
    return m.ClassAdStructArray(item=[class_ad(ad) for ad in ads])


def transaction(txn: TxnRef) -> m.Transaction:
    return m.Transaction(id=txn.id, duration=txn.duration)


def requirements(names: Iterable[str]) -> m.Requirements:
    return m.Requirements(item=list(names))


def file_infos(files: Iterable[FileRecord]) -> Optional[m.FileInfoArray]:
    """An empty spool gives no ``info`` element, as the original (spec §3.9)."""
    found = [m.FileInfo(name=f.name, size=f.size) for f in files]
    return m.FileInfoArray(item=found) if found else None


def base64(value: bytes) -> Sequence[bytes]:
    return (value,)


# Converters for the payload member of each ``<X>AndStatus``, used for a failure that still
# carries a partial answer (``CondorSoapError.result``, e.g. createJobTemplate's ad).
PAYLOAD: dict[Any, Callable[[Any], Any]] = {
    m.ClassAdStruct: class_ad,
    m.ClassAdStructArray: class_ads,
    m.Transaction: transaction,
    m.Requirements: requirements,
    m.FileInfoArray: file_infos,
}
