"""The fast ClassAd -> RESTD JSON path equals the generic one (RESTD's own:
``deep_lcasekeys(json.loads(ad.printJson()))``) over generated ads."""
from __future__ import annotations

import json

import classad2
from hypothesis import given, settings
from hypothesis import strategies as st

from condor_soap.rest.classad_json import ad_json, ad_value

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True).filter(
    lambda n: n.casefold() not in ("true", "false", "undefined", "error", "is", "isnt", "parent"))
text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
scalars = st.one_of(st.integers(-2**62, 2**62), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
                    text, st.sampled_from(['"a":', '\\', '"\n"', 'X": 1,\n  "Y', '/Expr(1)/']))


def values(depth: int = 2):
    inner = scalars if depth == 0 else values(depth - 1)
    return st.one_of(scalars, st.lists(inner, max_size=4),
                     st.dictionaries(names, inner, max_size=4).map(classad2.ClassAd))


@st.composite
def ads(draw):
    ad = classad2.ClassAd()
    for name, value in draw(st.dictionaries(names, values(), max_size=12)).items():
        ad[name] = value
    for name in draw(st.lists(names, max_size=3)):  # expressions, undefined and error
        ad[name] = draw(st.sampled_from([classad2.ExprTree("Foo + 1"), classad2.ExprTree('Bar == "X"'),
                                         classad2.Value.Undefined, classad2.Value.Error]))
    return ad


@settings(max_examples=400, deadline=None)
@given(ads())
def test_fast_path_equals_generic(ad):
    line = ad_json(ad, one_line=True)
    assert json.loads(ad_json(ad)) == json.loads(line) == ad_value(ad) and "\n" not in line


def test_keys_lower_values_kept():
    ad = classad2.ClassAd({"Cmd": "/Bin/X", "Nested": classad2.ClassAd({"InnerKey": "KeepMe"}),
                           "L": [classad2.ClassAd({"Deep": "V"}), "A\"B:"]})
    ad["Req"] = classad2.ExprTree('TARGET.Arch == "X86_64"')
    assert json.loads(ad_json(ad)) == {"cmd": "/Bin/X", "nested": {"innerkey": "KeepMe"},
                                       "l": [{"deep": "V"}, 'A"B:'], "req": '/Expr(TARGET.Arch == "X86_64")/'}
