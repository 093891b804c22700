"""Plain records passed between the wire, the core and the backends (no Spyne, no htcondor)."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Iterator, Optional, Sequence, overload


class AttrType(enum.Enum):
    """``ClassAdAttrType``: the type tag of one ``ClassAdStructAttr`` item."""

    INTEGER = "INTEGER-ATTR"
    FLOAT = "FLOAT-ATTR"
    STRING = "STRING-ATTR"
    EXPRESSION = "EXPRESSION-ATTR"
    BOOLEAN = "BOOLEAN-ATTR"
    UNDEFINED = "UNDEFINED-ATTR"
    ERROR = "ERROR-ATTR"


class Universe(enum.IntEnum):
    """``UniverseType`` with HTCondor's ``JobUniverse`` numbers (spec §3.7, §3.8)."""

    STANDARD = 1
    PVM = 4  # 6.8.x literal PVMUNIVERSE; accepted on input only
    VANILLA = 5
    SCHEDULER = 7
    MPI = 8
    GRID = 9  # GLOBUS before 7.0
    JAVA = 10
    PARALLEL = 11
    LOCAL = 12  # LOCALUNIVESE before 7.5.5
    VM = 13


class HashType(enum.IntEnum):
    """``HashType`` of declareFile."""

    NOHASH = 0
    MD5HASH = 1


class AdType(enum.IntEnum):
    """The collector's ``ClassAdType`` (spec §3.7), C values of the original."""

    STARTD = 0
    QUILL = 1
    SCHEDD = 2
    SUBMITTOR = 3
    LICENSE = 4
    MASTER = 5
    CKPTSRVR = 6
    COLLECTOR = 7
    STORAGE = 8
    NEGOTIATOR = 9
    HAD = 10
    GENERIC = 11


@dataclass(frozen=True)
class Attr:
    """One ``ClassAdStructAttr``: the wire's (name, type, value) triple. ``value`` None = nil."""

    name: Optional[str]
    type: AttrType
    value: Optional[str]


@dataclass(frozen=True, eq=False)
class Shape:
    """What ads alike share in a :class:`ShapedStruct`: each item's name and type, and its
    value when it is the same for every ad of the shape (None: the ad's own value)."""

    items: tuple[tuple[str, AttrType, Optional[str]], ...]


class ShapedStruct(Sequence[Attr]):
    """One ClassAdStruct in columns: a :class:`Shape` and the values of its variable items,
    in order. Reads as the sequence of :class:`Attr` it stands for; a writer may use
    ``shape`` and ``values`` directly (one template per shape)."""

    __slots__ = ("shape", "values")

    def __init__(self, shape: Shape, values: Sequence[str]) -> None:
        self.shape = shape
        self.values = values

    def __len__(self) -> int:
        return len(self.shape.items)

    def __iter__(self) -> Iterator[Attr]:
        values = iter(self.values)
        for name, kind, constant in self.shape.items:
            yield Attr(name, kind, next(values) if constant is None else constant)

    @overload
    def __getitem__(self, index: int) -> Attr: ...

    @overload
    def __getitem__(self, index: slice) -> list[Attr]: ...

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        return list(self)[index]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"ShapedStruct({list(self)!r})"


@dataclass(frozen=True)
class TxnRef:
    """A ``Transaction`` as a client sent it. The wire passes ``None`` for no transaction
    (element omitted, ``xsi:nil``, or ``id`` 0, spec §4.1 step 1)."""

    id: int
    duration: Optional[int]


@dataclass(frozen=True)
class FileInfo:
    """One entry of ``listSpool``."""

    name: str
    size: int


class ActionKind(enum.Enum):
    """A state change on committed jobs, applied by the backend."""

    HOLD = "hold"
    RELEASE = "release"
    REMOVE = "remove"
    REMOVE_CLUSTER = "remove_cluster"
    CLOSE_SPOOL = "close_spool"


@dataclass(frozen=True)
class JobAction:
    """One action of a :class:`CommitBatch`. ``proc`` is None for REMOVE_CLUSTER."""

    kind: ActionKind
    cluster: int
    proc: Optional[int]
    reason: Optional[str] = None
    email_user: bool = False
    email_admin: bool = False
    system_hold: bool = False
    force: bool = False


@dataclass(frozen=True)
class NewJob:
    """A job created in a transaction, ready to be queued.

    ``ad`` is the job ClassAd in new-ClassAd text (``classad2.ClassAd`` ``str()``), fully
    formed by the core (ClusterId, ProcId, Iwd, TransferInputFiles, ...). ``files`` maps each
    declared file name to the absolute path of its verified staged copy; the backend moves or
    copies it into the job's spool directory.
    """

    cluster: int
    proc: int
    ad: str
    files: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CommitBatch:
    """Everything one commit applies, atomically and at most once.

    ``token`` identifies the commit: a backend that has already applied a batch with this
    token must do nothing the second time (a restarted service re-applies an interrupted
    commit, spec: "never applied twice"). ``jobs`` are queued first, then ``actions`` run in
    order.
    """

    token: str
    jobs: tuple[NewJob, ...] = ()
    actions: tuple[JobAction, ...] = ()
