"""The ``urn:condor`` types as Spyne models: the single source of truth for the WSDL.

Names, member order, occurrence and nillability follow the gSOAP reference WSDLs (spec §3.6,
§3.7). Every member is an *unqualified* child (``sub_ns=""``, spec §0.2). A member's
``default`` is what a request gets when the element is missing, nil or empty (gSOAP's lenient
parser gives 0/false, spec §2), and what a response emits when the value is unset.

Enumerations carry the core enum member as their Python value: :mod:`.protocol` reads a
literal, a legacy literal (``LOCALUNIVESE``, ``GLOBUS``, ``MD5``, ...) or the C number ("5")
into the core member and writes a core member back as its 8.x literal. ``__values__`` (the
literals listed in the WSDL) holds only the 8.x literals.
"""
from __future__ import annotations

import enum
from typing import Any, Optional, Sequence

from spyne import ComplexModel, SelfReference
from spyne.model.binary import ByteArray
from spyne.model.enum import Enum
from spyne.model.primitive import Boolean, Integer32, Long, Unicode

from condor_soap import errors
from condor_soap.core import records

TNS = "urn:condor"
UNBOUNDED = "unbounded"


def element(cls: Any, min_occurs: int = 1, max_occurs: Any = 1, nillable: bool = False,
            default: Any = None) -> Any:
    """``cls`` as an unqualified child element with the given occurrence."""
    return cls.customize(min_occurs=min_occurs, max_occurs=max_occurs, nillable=nillable,
                         default=default, sub_ns="")


def optional(cls: Any, nillable: bool = True) -> Any:
    """A ``[0..1]`` element, nillable unless told otherwise."""
    return element(cls, 0, 1, nillable)


def items(cls: Any) -> Any:
    """The ``item`` member of an array type: ``[0..unbounded]``, nillable."""
    return element(cls, 0, UNBOUNDED, True)


def _enum(type_name: str, literals: Sequence[tuple[str, enum.Enum, int]],
          legacy: Sequence[tuple[str, enum.Enum, Optional[int]]] = ()) -> Any:
    """A WSDL enumeration of ``(literal, core member, C value)``; ``legacy`` literals (and
    their C values) are accepted on input only."""
    cls = Enum(*[lit for lit, _, _ in literals], type_name=type_name)
    cls.__namespace__ = TNS
    cls.c_values = {lit: number for lit, _, number in literals}
    cls.decode = {}
    for lit, member, number in (*literals, *legacy):
        cls.decode[lit] = member
        if number is not None:
            cls.decode[str(number)] = member
    cls.encode = {member: lit for lit, member, _ in literals}
    return cls


StatusCode = _enum("StatusCode", [(c.name, c, c.value) for c in errors.StatusCode])

ClassAdAttrType = _enum("ClassAdAttrType", [
    ("INTEGER-ATTR", records.AttrType.INTEGER, ord("n")),
    ("FLOAT-ATTR", records.AttrType.FLOAT, ord("f")),
    ("STRING-ATTR", records.AttrType.STRING, ord("s")),
    ("EXPRESSION-ATTR", records.AttrType.EXPRESSION, ord("x")),
    ("BOOLEAN-ATTR", records.AttrType.BOOLEAN, ord("b")),
    ("UNDEFINED-ATTR", records.AttrType.UNDEFINED, ord("u")),
    ("ERROR-ATTR", records.AttrType.ERROR, ord("e")),
])

HashType = _enum("HashType", [("NOHASH", records.HashType.NOHASH, 0), ("MD5HASH", records.HashType.MD5HASH, 1)],
                 legacy=[("MD5", records.HashType.MD5HASH, None)])  # 6.7.6-6.7.9 (spec §3.8)

UniverseType = _enum("UniverseType", [
    ("STANDARD", records.Universe.STANDARD, 1),
    ("VANILLA", records.Universe.VANILLA, 5),
    ("SCHEDULER", records.Universe.SCHEDULER, 7),
    ("MPI", records.Universe.MPI, 8),
    ("GRID", records.Universe.GRID, 9),
    ("JAVA", records.Universe.JAVA, 10),
    ("PARALLEL", records.Universe.PARALLEL, 11),
    ("LOCAL", records.Universe.LOCAL, 12),
    ("VM", records.Universe.VM, 13),
], legacy=[  # older WSDLs (spec §3.8)
    ("LOCALUNIVESE", records.Universe.LOCAL, None),
    ("PVMUNIVERSE", records.Universe.PVM, 4),
    ("GLOBUS", records.Universe.GRID, None),
])

ClassAdType = _enum("ClassAdType", [
    (f"{t.name}-AD-TYPE", t, t.value) for t in records.AdType
])


class Requirement(Unicode):
    """A named restriction of ``xsd:string`` without facets."""

    __type_name__ = "Requirement"
    __namespace__ = TNS


class Status(ComplexModel):
    __namespace__ = TNS
    _type_info = [
        ("code", element(StatusCode)),
        ("message", optional(Unicode)),
        ("next", optional(SelfReference)),  # never filled (spec §0.8)
    ]


class ClassAdStructAttr(ComplexModel):
    __namespace__ = TNS
    _type_info = [
        ("name", element(Unicode)),
        # a missing type is neither STRING nor anything else: inserted as expression text (§4.4)
        ("type", element(ClassAdAttrType, default=records.AttrType.EXPRESSION)),
        ("value", element(Unicode)),
    ]


class ClassAdStruct(ComplexModel):
    __namespace__ = TNS
    _type_info = [("item", items(ClassAdStructAttr))]


class ClassAdStructArray(ComplexModel):
    __namespace__ = TNS
    _type_info = [("item", items(ClassAdStruct))]


class ClassAdStructAndStatus(ComplexModel):
    __namespace__ = TNS
    _type_info = [("status", element(Status)), ("classAd", optional(ClassAdStruct))]


class ClassAdStructArrayAndStatus(ComplexModel):
    __namespace__ = TNS
    _type_info = [("status", element(Status)), ("classAdArray", optional(ClassAdStructArray))]


class StringAndStatus(ComplexModel):
    __namespace__ = TNS
    _type_info = [("status", element(Status)), ("message", optional(Unicode))]


class Transaction(ComplexModel):
    __namespace__ = TNS
    _type_info = [
        ("id", optional(Integer32, nillable=False)),
        ("duration", optional(Integer32, nillable=False)),  # None when omitted (core reuses its own)
    ]


class Requirements(ComplexModel):
    __namespace__ = TNS
    _type_info = [("item", items(Requirement))]


class RequirementsAndStatus(ComplexModel):
    __namespace__ = TNS
    _type_info = [("status", element(Status)), ("requirements", optional(Requirements))]


class TransactionAndStatus(ComplexModel):
    __namespace__ = TNS
    # always emitted, {0, 0} on failure: clients dereference it (spec §3.9)
    _type_info = [("status", element(Status)),
                  ("transaction", element(Transaction, 0, 1, False, default=Transaction(id=0, duration=0)))]


class IntAndStatus(ComplexModel):
    __namespace__ = TNS
    _type_info = [("status", element(Status)), ("integer", element(Integer32, 0, 1, False, default=0))]


class Base64DataAndStatus(ComplexModel):
    __namespace__ = TNS
    _type_info = [("status", element(Status)), ("data", optional(ByteArray))]


class FileInfo(ComplexModel):
    __namespace__ = TNS
    _type_info = [("name", element(Unicode)), ("size", element(Long))]


class FileInfoArray(ComplexModel):
    __namespace__ = TNS
    _type_info = [("item", items(FileInfo))]


class FileInfoArrayAndStatus(ComplexModel):
    __namespace__ = TNS
    _type_info = [("status", element(Status)), ("info", optional(FileInfoArray))]


# Named types in gSOAP's schema order (simple types first, then complex, declaration order):
# the WSDL writer lists the ones a service uses in this order.
SCHEMA_ORDER: tuple[Any, ...] = (
    Requirement, StatusCode, ClassAdAttrType, HashType, UniverseType, ClassAdType,
    Status, ClassAdStructAttr, ClassAdStruct, ClassAdStructArray, ClassAdStructAndStatus,
    ClassAdStructArrayAndStatus, StringAndStatus, Transaction, Requirements, RequirementsAndStatus,
    TransactionAndStatus, IntAndStatus, Base64DataAndStatus, FileInfo, FileInfoArray,
    FileInfoArrayAndStatus,
)

# Request arguments. Missing ints, booleans and enums take gSOAP's zero default (spec §2);
# a missing universe takes VANILLA, HTCondor's default universe (gSOAP's 0 is no universe).
IntArg = element(Integer32, default=0)
BoolArg = element(Boolean, default=False)
StringArg = optional(Unicode)
DataArg = optional(ByteArray)
TxnArg = element(Transaction)
OptionalTxnArg = optional(Transaction)
AdArg = optional(ClassAdStruct)
HashTypeArg = element(HashType, default=records.HashType.NOHASH)
UniverseArg = element(UniverseType, default=records.Universe.VANILLA)
AdTypeArg = element(ClassAdType, default=records.AdType.STARTD)
