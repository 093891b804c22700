"""The one-pass conversion of many ads (core/classads.py StructConverter) against to_struct.

Ads are generated in families, as a queue holds them (the jobs of a cluster share their
attributes and differ in some values), with every kind of value ``printOld`` writes: strings
with quotes, backslashes, newlines, control and non-ASCII characters, integers, reals (tiny,
huge, inf, nan, -0), booleans, undefined, error, lists, nested ads and expressions (some that
print like literals), private and header attributes in any case. Every converted ad must equal
``to_struct`` of the same ad.
"""
from __future__ import annotations

from typing import Any

import classad2
from hypothesis import given, settings
from hypothesis import strategies as st

from condor_soap.core import classads
from condor_soap.core.classads import StructConverter, to_struct, to_structs
from condor_soap.core.records import ShapedStruct

NAMES = ["ClusterId", "ProcId", "Owner", "Cmd", "Args", "JobStatus", "Rank", "Requirements", "MyType", "mytype",
         "TargetType", "ServerTime", "ClaimId", "Capability", "CLAIMIDS", "X", "y", "Z_1", "Env", "Iwd"]
EXPRESSIONS = ["A + 1", '"a" + "b"', "-5", "- 5", "-(5)", '{ 1, "x" }', "[ a = 1; b = \"x\" ]",
               'strcat("a\\nb", X)', 'ifThenElse(x, 1.5, "s")', "1.5", "true", "undefined", "error",
               "X =?= false", 'regexp("a.*", Owner)', "2147483648 * 4", '"C:\\\\dir"', "real(\"INF\")"]
strings = st.text(st.one_of(st.sampled_from(['"', "\\", "\n", "\r", "\t", "\x01", "é", "😀", "%", "&", " "]),
                            st.characters(exclude_categories=("Cs",))), max_size=8)
values = st.one_of(
    strings,
    st.integers(min_value=-2**63, max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 0.1 + 0.2, 1e20, 1e-7, 5e-324, 123456789.123456789, 1234567890.1234565]),
    st.booleans(),
    st.sampled_from([classad2.Value.Undefined, classad2.Value.Error]),
    st.sampled_from(EXPRESSIONS).map(classad2.ExprTree),
    st.lists(st.integers(0, 9), max_size=3),
)


def make_ad(pairs: list[tuple[str, Any]]) -> classad2.ClassAd:
    ad = classad2.ClassAd()
    for name, value in pairs:
        ad[name] = value
    return ad


@st.composite
def families(draw: Any) -> list[classad2.ClassAd]:
    """A few base ads, each followed by copies with some values changed."""
    out = []
    for _ in range(draw(st.integers(1, 3))):
        base = draw(st.dictionaries(st.sampled_from(NAMES), values, max_size=12))
        for _ in range(draw(st.integers(1, 6))):
            changed = dict(base)
            for name in draw(st.lists(st.sampled_from(sorted(base) or ["X"]), max_size=3)):
                changed[name] = draw(values)
            out.append(make_ad(list(changed.items())))
    return out


@settings(max_examples=400, deadline=None)
@given(ads=families(), now=st.integers(0, 2**40))
def test_every_ad_converts_as_to_struct_does(ads, now):
    convert = StructConverter(now)
    for ad in ads:
        assert list(convert(ad)) == to_struct(ad, now)


def job(n: int) -> classad2.ClassAd:
    return make_ad([("MyType", "Job"), ("TargetType", "Machine"), ("ClusterId", 7), ("ProcId", n),
                    ("Owner", "alice"), ("Cmd", "/bin/sleep"), ("Args", f"{n}"), ("JobStatus", 1 + n % 5),
                    ("RemoteUserCpu", n * 0.1), ("LeaveJobInQueue", False), ("ServerTime", 99),
                    ("Requirements", classad2.ExprTree('OpSys == "LINUX" && Memory > 1024')),
                    ("Env", 'A="x y"'), ("ClaimId", f"<10.0.0.1:{n}>#secret")])


def test_a_cluster_converts_through_one_shape():
    convert = StructConverter(5)
    ads = [job(n) for n in range(50)]
    out = [convert(ad) for ad in ads]
    assert [list(o) for o in out] == [to_struct(ad, 5) for ad in ads]
    assert all(type(o) is ShapedStruct for o in out[1:])  # the first teaches the shape
    assert len({id(o.shape) for o in out[1:]}) == 1
    assert not any(a.name.casefold() == "claimid" for a in out[-1])


def test_ads_all_different_stop_teaching_shapes():
    convert = StructConverter(5)
    ads = [make_ad([("ProcId", n), ("Requirements", classad2.ExprTree(f"Memory > {n}"))]) for n in range(200)]
    assert [list(convert(ad)) for ad in ads] == [to_struct(ad, 5) for ad in ads]
    assert convert._learned <= classads.MAX_SHAPES + 1


def test_a_changed_type_is_not_taken_for_the_shape():
    convert = StructConverter(5)
    first, second = make_ad([("X", 1.5), ("Y", "a")]), make_ad([("X", 2), ("Y", "a")])
    convert(first)
    assert list(convert(first)) == to_struct(first, 5)
    assert list(convert(second)) == to_struct(second, 5)
    third = make_ad([("X", 1.5), ("Y", classad2.ExprTree("a"))])
    assert list(convert(third)) == to_struct(third, 5)


def test_to_structs_and_empty_ads():
    ads = [classad2.ClassAd(), job(1), job(2)]
    assert [list(s) for s in to_structs(ads, 3)] == [to_struct(ad, 3) for ad in ads]
