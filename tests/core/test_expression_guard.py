"""The expression guard (core/expression_guard.py): its depth bound is never below the depth
of the tree classad2 builds, and stays close to it for the shapes real clients send."""
from __future__ import annotations

import pytest

from condor_soap.core import expression_guard as guard
from condor_soap.core.classads import parse_expr

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

BINARY = ["||", "&&", "==", "!=", "=?=", "=!=", "is", "isnt", "<", "<=", ">", ">=", "+", "-", "*", "/", "%",
          "&", "|", "^", "<<", ">>", ">>>"]


@pytest.mark.parametrize("op", BINARY)
def test_a_chain_of_n_operators_is_n_deep(op):
    for n in (1, 10, 1000):
        assert guard.depth_bound(f" {op} ".join(["a"] * (n + 1))) >= n


@pytest.mark.parametrize("text, depth", [
    ("a" + ".b" * 500, 500),                    # selections
    ("a" + "[0]" * 500, 500),                   # subscripts
    ("-" * 100 + "1", 100), ("!" * 100 + "a", 100), ("~" * 100 + "1", 100),
    ("(" * 150 + "1" + ")" * 150, 150),
    ("{" * 150 + "}" * 150, 150),
    ("[a = " * 100 + "1" + "]" * 100, 100),
    ("size(" * 100 + "a" + ")" * 100, 100),
    ("true ? " * 100 + "1" + " : 0" * 100, 100),
    ("a.b[0].c[1] + f(g(x.y)) * -z", 7),
])
def test_every_way_of_nesting_counts(text, depth):
    assert guard.depth_bound(text) >= depth


@pytest.mark.parametrize("text", [
    # brackets, commas and quotes inside literals must not hide a chain from the count
    '{")", ' + "a || " * 3000 + "a}",
    'f(")", ' + ", ".join(["a || a"] * 10) + ") || " + " || ".join(["a"] * 3000),
    "'x)' || " * 3000 + "a",
    '"a\\" || b" || ' * 3000 + "a",           # a backslash: literals are not trusted
    '"C:\\dir\\" || ' * 3000 + "a",
    "a ) || " * 3000 + "a",                    # unbalanced: counted flat
])
def test_literals_cannot_hide_operators(text):
    assert guard.depth_bound(text) >= 3000


@pytest.mark.parametrize("text, most", [
    ("member(ClusterId, {" + ",".join(str(i) for i in range(100_000)) + "})", 2),
    ("{" + ",".join(f"-{i}" for i in range(10_000)) + "}", 3),
    ("{" + ",".join(f'"node{i}.example.com"' for i in range(10_000)) + "}", 2),
    ('(TARGET.Arch == "X86_64") && (TARGET.OpSys == "LINUX") && (TARGET.Disk >= RequestDisk) && '
     '(TARGET.Memory >= RequestMemory) && (TARGET.HasFileTransfer)', 12),
])
def test_wide_but_shallow_text_passes(text, most):
    assert guard.depth_bound(text) <= most
    guard.check(text, "The constraint")


def _balanced(levels: int) -> str:
    return "ClusterId == 1" if levels == 0 else f"({_balanced(levels - 1)} || {_balanced(levels - 1)})"


def test_a_balanced_tree_is_as_deep_as_it_is():
    """4096 clauses, 12 levels of "||": accepted (a flat chain of them is not)."""
    assert guard.depth_bound(_balanced(12)) <= 3 * 13
    assert guard.depth_bound(" || ".join(["ClusterId == 1"] * 4096)) >= 4095


def test_check_names_the_figure_the_limit_and_the_setting():
    with pytest.raises(guard.ExpressionTooLarge, match=r"^The constraint is too large: \d+ characters > "
                                                       r"1048576 \(max_expression_length\)$"):
        guard.check("x" * ((1 << 20) + 1), "The constraint")
    with pytest.raises(guard.ExpressionTooLarge, match=r"^The value of X is too deep: 2001 levels > 2000 "
                                                       r"\(max_expression_depth\)$"):
        guard.check("a" + " + a" * 2001, "The value of X")
    guard.check("a" + " + a" * 2000, "The value of X")


def test_parse_expr_applies_the_guard():
    with pytest.raises(guard.ExpressionTooLarge, match="The requirements"):
        parse_expr("a" + "||a" * 5000, "The requirements")


# Random expressions whose tree depth is known by construction: the bound is never below it.
LEAF = st.sampled_from(["a", "ClusterId", "1", "2.5", '"s"', '"x)]}"', "'q,('", "true", "undefined"])


@st.composite
def expression(draw, depth: int = 0) -> tuple[str, int]:
    """(text, a lower bound of the depth of the tree classad2 builds for it)."""
    if depth > 4 or draw(st.integers(0, 3)) == 0:
        return draw(LEAF), 0
    kind = draw(st.integers(0, 5))
    parts = [draw(expression(depth + 1)) for _ in range(draw(st.integers(1, 4)))]
    deepest = max(d for _t, d in parts)
    if kind == 0:  # a chain of one operator, each part in parentheses: (p1) op (p2) op ...
        op = draw(st.sampled_from(BINARY))
        return f" {op} ".join(f"({t})" for t, _d in parts), len(parts) - 1 + deepest
    if kind == 1:
        return "{" + ", ".join(t for t, _d in parts) + "}", 1 + deepest
    if kind == 2:
        return "f(" + ", ".join(t for t, _d in parts) + ")", 1 + deepest
    if kind == 3:
        return f"({parts[0][0]})" + "".join(f"[{t}]" for t, _d in parts[1:]), len(parts) - 1 + parts[0][1]
    if kind == 4:
        return "-" * len(parts) + f"({parts[0][0]})", len(parts) + parts[0][1]
    return f"({parts[0][0]})" + ".x" * len(parts), len(parts) + parts[0][1]


@settings(max_examples=500, deadline=None)
@given(expression())
def test_the_bound_is_never_below_the_depth(case):
    text, depth = case
    assert guard.depth_bound(text) >= depth
