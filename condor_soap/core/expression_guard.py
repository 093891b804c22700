"""The one check client text passes before it becomes a ClassAd expression.

classad2's parser, unparser and reference walker recurse once per level of the expression
tree, on the C stack: a constraint ``a || a || ... || a`` of 1.6 MB (~175,000 levels) ends the
process with a segmentation fault while parsing, and printing one of ~31,000 levels (an ad is
printed to be stored or sent) does the same, on an 8 MiB stack (docs/reliability.rst has the
measurements). Nested brackets are bounded by the parser itself (about 165 levels); chains of
binary operators, selections ``a.b.c`` and subscripts ``a[0][0]`` are not. Evaluation stops by
itself past about 400 levels, so deeper text can never be a working expression anyway.

:func:`check` measures the text without parsing it, in time linear in its length:

* its length, against ``max_expression_length`` (characters);
* an upper bound of its tree depth, against ``max_expression_depth``. Every node of the tree
  below a leaf owns at least one token of the text (an operator, ``is``/``isnt``, ``?``,
  ``:``, ``.``, or an opening bracket), so along any path the depth is at most the number of
  such tokens in the same bracketed element (between ``,``/``;``), plus the depth of one
  bracketed group inside it. String literals and quoted names are skipped when the text has
  no backslash; with one (old and new ClassAd syntax escape differently) every token counts.

Past a limit the client gets FAIL naming what was too large, the figure, the limit and the
setting that raises it. The limits are process-wide (:func:`configure`), like the constraint
time limit.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from condor_soap.errors import CondorSoapError

_OPERATOR = (r"=\?=|=!=|==|!=|<=|>=|>>>|<<|>>|&&|\|\||[-+*/%!~&|^<>?:.]"
             r"|(?<![A-Za-z_])[iI][sS](?:[nN][tT])?(?![A-Za-z0-9_])")
_OPERATORS = re.compile(_OPERATOR)
_TOKENS = re.compile(rf"{_OPERATOR}|[\[({{\])}},;]")
_LITERALS = re.compile(r"\"[^\"]*\"|'[^']*'")
_CLOSING = {")": "(", "]": "[", "}": "{"}


@dataclass(frozen=True)
class ExpressionLimits:
    """``max_expression_length`` (characters) and ``max_expression_depth`` (tree levels)."""

    max_length: int = 1 << 20
    max_depth: int = 2000


class ExpressionTooLarge(CondorSoapError):
    """Client text past :class:`ExpressionLimits`: answered FAIL with what and why."""


_limits = ExpressionLimits()


def configure(limits: ExpressionLimits) -> None:
    """Set the process-wide limits (``max_expression_length``, ``max_expression_depth``)."""
    global _limits
    _limits = limits


def limits() -> ExpressionLimits:
    return _limits


def _count_all(text: str) -> int:
    """Operators and opening brackets anywhere in ``text``: a bound whatever its structure."""
    return len(_OPERATORS.findall(text)) + text.count("(") + text.count("[") + text.count("{")


def depth_bound(text: str) -> int:
    """An upper bound of the depth of the tree ``text`` parses to (if it parses): the
    operator levels on its deepest path."""
    return _structured_bound(text, _count_all(text))


def _structured_bound(text: str, total: int) -> int:
    if total <= 1 or "\\" in text:
        return total
    code = _LITERALS.sub(" ", text)
    if '"' in code or "'" in code:  # an unterminated literal: the text does not parse
        return total
    # per open group: [tokens in the current element, deepest group in it, deepest element]
    frames = [[0, 0, 0]]
    opened: list[str] = []
    for token in _TOKENS.findall(code):
        if token in "([{":
            frames[-1][0] += 1
            frames.append([0, 0, 0])
            opened.append(token)
        elif token in ")]}":
            if not opened or opened.pop() != _CLOSING[token]:
                return total  # unbalanced: the text does not parse
            run, inner, best = frames.pop()  # the group's own node is its bracket, counted above
            frames[-1][1] = max(frames[-1][1], best, run + inner)
        elif token in ",;":
            frame = frames[-1]
            frame[2] = max(frame[2], frame[0] + frame[1])
            frame[0] = frame[1] = 0
        else:
            frames[-1][0] += 1
    if opened:
        return total
    run, inner, best = frames[0]
    return min(total, max(best, run + inner))


def check(text: str, what: str) -> None:
    """Raise :class:`ExpressionTooLarge` if ``text`` (``what``, e.g. "The constraint") is past
    the limits."""
    limit = _limits
    if len(text) > limit.max_length:
        raise ExpressionTooLarge(f"{what} is too large: {len(text)} characters > {limit.max_length} "
                                 "(max_expression_length)")
    depth = _count_all(text)
    if depth > limit.max_depth:  # most text is far below the limit on this count alone
        depth = _structured_bound(text, depth)
    if depth > limit.max_depth:
        raise ExpressionTooLarge(f"{what} is too deep: {depth} levels > {limit.max_depth} "
                                 "(max_expression_depth)")
