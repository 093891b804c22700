"""ClassAd <-> ``ClassAdStruct`` (a ``list[Attr]``), as ``soap_helpers.cpp`` did (spec §4.5).

Server -> client (:func:`to_struct`): ``MyType`` (STRING), ``TargetType`` (STRING) and
``ServerTime`` (INTEGER, now) come first; then every attribute in the ad's iteration order,
each name once, skipping stored MyType/TargetType/ServerTime, private attributes and undefined
or error values. Each value is typed by what the ad holds::

    ad holds                          type              value text
    --------------------------------  ----------------  ------------------------------------
    string literal                    STRING-ATTR       raw contents (no quotes, no escapes)
    integer literal                   INTEGER-ATTR      "%d"
    real literal                      FLOAT-ATTR        "%f" (6 decimals: 0.000000)
    boolean literal                   BOOLEAN-ATTR      TRUE / FALSE
    undefined / error literal         (skipped)
    anything else: expressions,       EXPRESSION-ATTR   old ClassAd syntax (=?=, =!=, false),
    lists, nested ads                                   as ``ClassAd.printOld`` unparses it

Client -> server, collector style (:func:`from_struct`, insertAd and discoverJobRequirements):
a null name is skipped; a null value is UNDEFINED; ``MyType``/``TargetType`` set the ad's
types; STRING-ATTR is the exact string; every other type is raw expression text, whatever
its type tag says (spec §6 row 2); text that does not parse skips the attribute.

Submit style (:func:`submit_value`, spec §4.4): the same typing, but MyType/TargetType are the
caller's business and a bad name or value is an error, not a skip.

Expression text is parsed strictly: trailing garbage (``Queue=150``, ``1; y = 2``) is a parse
error, not a silently shortened expression. Attribute names are looked up case-insensitively
(classad2 does) and keep their case on output.
"""
from __future__ import annotations

import re
import secrets
from typing import Any, Iterable, Iterator, Optional, Sequence

import classad2

from condor_soap.core import expression_guard
from condor_soap.core.records import Attr, AttrType, Shape, ShapedStruct

#: ``ClassAdAttributeIsPrivate`` (compat_classad.cpp), compared case-insensitively.
PRIVATE_ATTRS = frozenset(n.casefold() for n in (
    "ClaimId", "PairedClaimId", "Capability", "ClaimIds", "TransferKey", "ChildClaimIds"))
_HEADER = frozenset(("mytype", "targettype", "servertime"))
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_RESERVED = frozenset(("true", "false", "undefined", "error", "is", "isnt"))
#: The probe's value and sentinel names, unguessable: client text ``1; __e = 1`` or
#: ``1; __v = 2`` redefining fixed names passed the strictness check, the trailing statement
#: silently dropped.
_VALUE = f"__v{secrets.token_hex(8)}"
_SENTINEL = f"__e{secrets.token_hex(8)}"


def is_valid_name(name: Optional[str]) -> bool:
    """True for a plain ClassAd attribute name (what the original's parser accepted)."""
    return bool(name) and _NAME.match(name) is not None and name.casefold() not in _RESERVED


def parse_expr(text: str, what: str = "The expression") -> Optional[classad2.ExprTree]:
    """Parse ClassAd expression text (old or new syntax); None if it is not exactly one
    expression. Text past the expression limits raises
    :class:`~condor_soap.core.expression_guard.ExpressionTooLarge` (``what`` names it)."""
    if not text.strip():
        return None
    expression_guard.check(text, what)
    # The new-syntax parse is the strictness check: a sentinel after the value catches
    # trailing garbage, which both classad2 parsers otherwise drop silently.
    try:
        probe = classad2.ClassAd(f"[{_VALUE} = {text}\n; {_SENTINEL} = 1]")
    except Exception:  # classad2 raises ClassAdException (and ValueError) on bad text
        return None
    if sorted(k.casefold() for k in probe.keys()) != sorted([_VALUE.casefold(), _SENTINEL.casefold()]):
        return None
    if "\n" in text or "\r" in text:
        return probe.lookup(_VALUE)
    # The value itself comes from the old-syntax parser, as the original's did: it keeps
    # backslashes in strings literal ("C:\dir"), where the new syntax treats them as escapes.
    try:
        old = classad2.parseNext(f"{_VALUE} = {text}\n", classad2.ParserType.Old)
    except Exception:
        old = None
    if old is None or _VALUE not in old:
        return probe.lookup(_VALUE)
    return old.lookup(_VALUE)


def unparse_old(expr: Any) -> str:
    """An expression (or value) as old-syntax ClassAd text, e.g. ``FilesRetrieved =?= false``."""
    scratch = classad2.ClassAd()
    scratch["X"] = expr
    return scratch.printOld()[len("X = "):].rstrip("\n")


def attr_of(name: str, ad: classad2.ClassAd) -> Optional[Attr]:
    """The ``Attr`` for one attribute of ``ad`` (typed as in the module table), or None when
    the attribute is not shown (undefined, error, empty unparse)."""
    value = ad[name]
    if isinstance(value, classad2.Value):  # undefined or error literal (spec §0.8); an int enum
        return None
    if isinstance(value, bool):
        return Attr(name, AttrType.BOOLEAN, "TRUE" if value else "FALSE")
    if isinstance(value, int):
        return Attr(name, AttrType.INTEGER, "%d" % value)
    if isinstance(value, float):
        return Attr(name, AttrType.FLOAT, "%f" % value)
    if isinstance(value, str):
        return Attr(name, AttrType.STRING, value)
    text = unparse_old(ad.lookup(name))
    return Attr(name, AttrType.EXPRESSION, text) if text else None


def _type_name(ad: classad2.ClassAd, name: str) -> str:
    value = ad.get(name)
    return value if isinstance(value, str) else ""


def to_struct(ad: classad2.ClassAd, now: int, order: Iterable[str] = ()) -> list[Attr]:
    """Convert ``ad`` for the wire. ``order`` lists names to emit first (then the rest in the
    ad's order); ``now`` is ServerTime."""
    if len(ad) == 0:
        return []
    out = [Attr("MyType", AttrType.STRING, _type_name(ad, "MyType")),
           Attr("TargetType", AttrType.STRING, _type_name(ad, "TargetType")),
           Attr("ServerTime", AttrType.INTEGER, "%d" % now)]
    seen = set(_HEADER) | PRIVATE_ATTRS
    stored = {name.casefold(): name for name in ad.keys()}  # the ad's own spelling
    for key in [*(n.casefold() for n in order), *stored]:
        if key in seen or key not in stored:
            continue
        name = stored[key]
        seen.add(key)
        attr = attr_of(name, ad)
        if attr is not None:
            out.append(attr)
    return out


# -- many ads: one pass each (to_structs) ---------------------------------------------------

#: Value syntax of ``printOld`` for the literals whose text can be taken as it stands (a string
#: with nothing escaped, an integer) or converted (a real), one line each.
_PLAIN_STRING = r'"([^"\\\n]*)"'
_INTEGER = r"(-?[0-9]+)"
_REAL = r"(-?[0-9]+\.[0-9]+(?:E[-+][0-9]+)?|-?[0-9]+E[-+][0-9]+)"
_PLAIN_STRING_RE = re.compile(_PLAIN_STRING + r"\Z")
_INTEGER_RE = re.compile(_INTEGER + r"\Z")
_REAL_RE = re.compile(_REAL + r"\Z")
MAX_SHAPES = 16


class _Mismatch(Exception):
    """An ad matched a shape's text but not its types (never expected): converted generically."""


class _Learned:
    """One shape: the regular expression its ads' ``printOld`` text matches line for line, the
    groups holding its variable values (in item order) and the reals among them."""

    def __init__(self, shape: Shape, regex: "re.Pattern[str]", groups: tuple[int, ...],
                 reals: tuple[tuple[int, str], ...]) -> None:
        self.shape, self.regex, self.groups, self.reals = shape, regex, groups, reals

    def convert(self, ad: classad2.ClassAd, text: str) -> Optional[ShapedStruct]:
        match = self.regex.fullmatch(text)
        if match is None:
            return None
        if not self.groups:
            return ShapedStruct(self.shape, ())
        values = match.group(*self.groups) if len(self.groups) > 1 else (match.group(self.groups[0]),)
        if self.reals:
            values = list(values)
            for index, name in self.reals:
                value = ad[name]
                if type(value) is not float:
                    raise _Mismatch(name)
                values[index] = "%f" % value
        return ShapedStruct(self.shape, values)


class StructConverter:
    """:func:`to_struct` for many ads, with ServerTime ``now``: the same lists, made in one pass.

    Ads alike (the jobs of a cluster, the slots of a machine) print alike: the first ad of a
    shape is converted by :func:`to_struct`, and its ``printOld`` text becomes a regular
    expression, one full line per attribute, where plain strings, integers and reals are
    groups and every other line is literal. Each later ad is printed once (``printOld``) and
    matched: a match gives its values in one call (reals are read from the ad itself, as
    ``to_struct`` formats them). An ad no shape matches is converted by :func:`to_struct` and
    teaches a new shape (at most :data:`MAX_SHAPES`, the least recently used forgotten).
    tests/core/test_structs.py proves the results equal to :func:`to_struct` on generated ads.
    """

    def __init__(self, now: int) -> None:
        self.now = now
        self._shapes: list[_Learned] = []
        self._matched = self._learned = 0

    def __call__(self, ad: classad2.ClassAd) -> Sequence[Attr]:
        if len(ad) == 0:
            return []
        text = ad.printOld()
        for position, learned in enumerate(self._shapes):
            try:
                found = learned.convert(ad, text)
            except _Mismatch:
                return to_struct(ad, self.now)
            if found is not None:
                if position:
                    self._shapes.insert(0, self._shapes.pop(position))
                self._matched += 1
                return found
        generic = to_struct(ad, self.now)
        # Ads that are all different (a value that varies is an expression) never pay back
        # what learning costs: past a few shapes, learn only while shapes are reused.
        if self._learned < MAX_SHAPES or self._matched >= 8 * self._learned:
            learned = self._learn(ad, text, generic)
            if learned is not None:
                self._learned += 1
                self._shapes.insert(0, learned)
                del self._shapes[MAX_SHAPES:]
        return generic

    def _learn(self, ad: classad2.ClassAd, text: str, generic: list[Attr]) -> Optional[_Learned]:
        keys = list(ad.keys())
        lines = text.split("\n")
        if lines[-1] != "" or len(lines) - 1 != len(keys):
            return None  # a value spans lines: no shape
        body = {attr.name: attr for attr in generic[3:]}
        pieces: list[str] = []
        group_of: dict[str, int] = {}  # item name -> its regex group
        reals: list[str] = []
        body_items: list[tuple[str, AttrType, Optional[str]]] = []
        header = {"mytype": (generic[0].value, "MyType"), "targettype": (generic[1].value, "TargetType")}
        for key, line in zip(keys, lines):
            prefix = key + " = "
            if not line.startswith(prefix):
                return None
            value, folded = line[len(prefix):], key.casefold()
            head = re.escape(prefix)
            if folded in header:
                if _PLAIN_STRING_RE.match(value) and value[1:-1] == header[folded][0]:
                    pieces.append(head + _PLAIN_STRING)
                    group_of[header[folded][1]] = len(group_of) + 1
                else:
                    pieces.append(re.escape(line))
            elif folded == "servertime" or folded in PRIVATE_ATTRS:
                plain = _PLAIN_STRING if _PLAIN_STRING_RE.match(value) else _INTEGER if _INTEGER_RE.match(value) else None
                pieces.append(head + plain.replace("(", "(?:", 1) if plain else re.escape(line))
            else:
                attr = body.get(key)
                kind = attr.type if attr is not None else None
                if kind is AttrType.STRING and _PLAIN_STRING_RE.match(value) and value[1:-1] == attr.value:
                    pieces.append(head + _PLAIN_STRING)
                elif kind is AttrType.INTEGER and _INTEGER_RE.match(value) and value == attr.value:
                    pieces.append(head + _INTEGER)
                elif kind is AttrType.FLOAT and _REAL_RE.match(value):
                    pieces.append(head + _REAL)
                    reals.append(key)
                else:
                    pieces.append(re.escape(line))
                    if attr is not None:
                        body_items.append((key, attr.type, attr.value))
                    continue
                group_of[key] = len(group_of) + 1
                body_items.append((key, kind, None))  # type: ignore[arg-type]
        items = [("MyType", AttrType.STRING, None if "MyType" in group_of else generic[0].value),
                 ("TargetType", AttrType.STRING, None if "TargetType" in group_of else generic[1].value),
                 ("ServerTime", AttrType.INTEGER, generic[2].value), *body_items]
        variable = [name for name, _, constant in items if constant is None]
        learned = _Learned(Shape(tuple(items)), re.compile("\n".join(pieces) + "\n"),
                           tuple(group_of[name] for name in variable),
                           tuple((variable.index(name), name) for name in reals))
        try:
            again = learned.convert(ad, text)
        except _Mismatch:
            return None
        return learned if again is not None and list(again) == generic else None


def to_structs(ads: Iterable[classad2.ClassAd], now: int) -> Iterator[Sequence[Attr]]:
    """``to_struct(ad, now)`` for each ad, through one :class:`StructConverter`."""
    convert = StructConverter(now)
    for ad in ads:
        yield convert(ad)


def value_of(item: Attr) -> Any:
    """The value to store for a client item: UNDEFINED for null, the exact string for
    STRING-ATTR, else the parsed expression. Raises ValueError if the text does not parse,
    ExpressionTooLarge past the expression limits."""
    if item.value is None:
        return classad2.Value.Undefined
    if item.type is AttrType.STRING:
        return item.value
    expr = parse_expr(item.value, f"The value of {item.name}")
    if expr is None:
        raise ValueError(f"cannot parse {item.value!r}")
    return expr


def from_struct(items: Optional[Iterable[Attr]]) -> classad2.ClassAd:
    """Build a ClassAd from client items, insertAd style: bad items are skipped (a value
    past the expression limits is not: ExpressionTooLarge)."""
    ad = classad2.ClassAd()
    for item in items or ():
        if item.name is None or not is_valid_name(item.name):
            continue
        if item.name.casefold() in ("mytype", "targettype"):
            # The original set the type name from the text, whatever the type tag said.
            if item.value is not None:
                ad[item.name] = item.value
            continue
        try:
            ad[item.name] = value_of(item)
        except ValueError:
            continue  # the original ignored parse errors (spec §4.5)
    return ad


def submit_value(item: Attr) -> Any:
    """The value ``submit`` stores for one item (spec §4.4). Raises ValueError for a bad name
    or value; the caller skips null names and MyType/TargetType."""
    if not is_valid_name(item.name):
        raise ValueError(f"invalid attribute name {item.name!r}")
    return value_of(item)


def literal(value: Any) -> Any:
    """The Python value of a literal (``ExprTree`` ``"x"`` -> ``"x"``), else the input."""
    if isinstance(value, classad2.ExprTree):
        scratch = classad2.ClassAd()
        scratch["X"] = value
        return scratch["X"]
    return value
