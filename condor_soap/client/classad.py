"""ClassAds as the client hands them out: case-insensitive mappings of Python values.

The wire types a ``ClassAdStruct`` item as ``INTEGER-ATTR``, ``FLOAT-ATTR``, ``BOOLEAN-ATTR``,
``STRING-ATTR`` or ``EXPRESSION-ATTR`` (``UNDEFINED-ATTR`` and ``ERROR-ATTR`` exist in the
WSDL, but no server sends them); the client reads them as ``int``, ``float``, ``bool``,
``str`` and :class:`Expression`, ``None`` and ``Expression("error")``.

:class:`ClassAd` is the client's own mapping rather than ``classad2.ClassAd``: building 10,000
job ads of 70 attributes as ``classad2.ClassAd`` costs about as much as reading them off the
wire (docs/client.rst, "Performance"), and most callers read a few attributes of each.
:meth:`ClassAd.to_classad` converts when the ClassAd language itself is needed.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Iterator, Mapping, MutableMapping, Optional, Union


class Expression:
    """A ClassAd expression the service sent as text (``RequestMemory``, ``Requirements``...),
    or one to send (``{"Rank": Expression("Memory * 2")}``)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expression) and other.text == self.text

    def __hash__(self) -> int:
        return hash(("Expression", self.text))

    def to_exprtree(self) -> Any:
        """This expression as a ``classad2.ExprTree``."""
        import classad2

        return classad2.ExprTree(self.text)

    def eval(self, scope: Optional[Mapping[str, Any]] = None) -> Any:
        """Evaluate with classad2, attribute references resolved in ``scope`` (e.g. the job ad)."""
        if scope is None:
            return self.to_exprtree().eval()
        return self.to_exprtree().eval(scope.to_classad() if isinstance(scope, ClassAd) else _classad(scope))


class ClassAd(MutableMapping[str, Any]):
    """A dict-like ClassAd: names are case-insensitive (``ad["jobstatus"]`` finds
    ``JobStatus``) and keep the spelling they arrived with; values are Python values or
    :class:`Expression`. ``dict(ad)`` and ``json.dumps(dict(ad), default=str)`` work."""

    __slots__ = ("_data", "_folded")

    def __init__(self, values: Union[Mapping[str, Any], Iterable[tuple[str, Any]]] = (), **kw: Any) -> None:
        self._data: dict[str, Any] = {}
        self._folded: Optional[dict[str, str]] = None
        self.update(values, **kw)

    @classmethod
    def _of(cls, data: dict[str, Any]) -> "ClassAd":
        """Wrap ``data`` as it is (the parser's fast path: no copy, no per-name work)."""
        ad = cls.__new__(cls)
        ad._data = data
        ad._folded = None
        return ad

    def _name(self, key: str) -> str:
        """The stored spelling of ``key``; KeyError if absent."""
        if key in self._data:
            return key
        if self._folded is None:  # built on the first lookup that needs it
            self._folded = {name.casefold(): name for name in self._data}
        return self._folded[key.casefold()]

    def __getitem__(self, key: str) -> Any:
        try:
            return self._data[key]
        except KeyError:
            return self._data[self._name(key)]

    def __setitem__(self, key: str, value: Any) -> None:
        try:
            key = self._name(key)
        except KeyError:
            if self._folded is not None:
                self._folded[key.casefold()] = key
        self._data[key] = value

    def __delitem__(self, key: str) -> None:
        name = self._name(key)
        del self._data[name]
        if self._folded is not None:
            del self._folded[name.casefold()]

    def __contains__(self, key: object) -> bool:
        if key in self._data:
            return True
        try:
            self._name(key)  # type: ignore[arg-type]
        except (KeyError, AttributeError):
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"ClassAd({self._data!r})"

    def eval(self, name: str) -> Any:
        """The value of ``name``, evaluating an :class:`Expression` in this ad (classad2)."""
        value = self[name]
        return self.to_classad().eval(name) if isinstance(value, Expression) else value

    def to_classad(self) -> Any:
        """This ad as a ``classad2.ClassAd`` (expressions parsed)."""
        return _classad(self)

    def printJson(self) -> str:  # noqa: N802 - classad2's name
        """JSON the way HTCondor writes ads (``condor_q -json``): expressions as
        ``"/Expr(text)/"``."""
        import json

        return json.dumps({k: f"/Expr({v.text})/" if isinstance(v, Expression) else v for k, v in self.items()},
                          indent=2)


def _classad(values: Mapping[str, Any]) -> Any:
    import classad2

    ad = classad2.ClassAd()
    for name, value in values.items():
        if isinstance(value, Expression):
            value = classad2.ExprTree(value.text)
        elif value is None:
            value = classad2.Value.Undefined
        ad[name] = value
    return ad


def _boolean(text: str) -> bool:
    return text.strip().upper() == "TRUE"


def _undefined(text: str) -> None:
    return None


def _error(text: str) -> Expression:
    return Expression("error")


#: ``ClassAdAttrType`` literal -> reader of the value text.
READERS: dict[str, Callable[[str], Any]] = {
    "INTEGER-ATTR": int, "FLOAT-ATTR": float, "BOOLEAN-ATTR": _boolean, "STRING-ATTR": str,
    "EXPRESSION-ATTR": Expression, "UNDEFINED-ATTR": _undefined, "ERROR-ATTR": _error,
}


def _read(type_name: Optional[str], text: Optional[str]) -> Any:
    reader = READERS.get(type_name or "", Expression)
    try:
        return reader(text or "")
    except ValueError:  # a number that is not one: keep what was sent, as an expression
        return Expression(text or "")


def from_wire(names: list[Optional[str]], types: list[Optional[str]], values: list[Optional[str]]) -> ClassAd:
    """A :class:`ClassAd` from a ``ClassAdStruct``'s item columns (items without a name are
    skipped; an unknown type is read as an expression)."""
    ad = dict(zip(names, map(_read, types, values)))
    ad.pop(None, None)  # type: ignore[call-overload]
    return ClassAd._of(ad)


def to_wire(values: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """``(name, type literal, value text)`` for each attribute, typed from its Python value:
    bool, int, float, str, :class:`Expression` (or a ``classad2.ExprTree``), None (undefined)."""
    for name, value in values.items():
        if isinstance(value, bool):
            yield name, "BOOLEAN-ATTR", "TRUE" if value else "FALSE"
        elif isinstance(value, int):
            yield name, "INTEGER-ATTR", str(value)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError(f"{name} = {value}: a ClassAd real must be finite")
            yield name, "FLOAT-ATTR", repr(value)
        elif isinstance(value, str):
            yield name, "STRING-ATTR", value
        elif value is None:
            yield name, "UNDEFINED-ATTR", "undefined"
        elif isinstance(value, Expression) or type(value).__name__ == "ExprTree":
            yield name, "EXPRESSION-ATTR", str(value)
        else:
            raise TypeError(f"{name}: cannot send a {type(value).__name__} as a ClassAd value")
