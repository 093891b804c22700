"""ClassAd <-> ClassAdStruct (spec §4.5)."""
from __future__ import annotations

import classad2
import pytest

from condor_soap.core.classads import from_struct, parse_expr, submit_value, to_struct, unparse_old
from condor_soap.core.records import Attr, AttrType

T = AttrType

# (new-ClassAd text of the value, expected wire type, expected wire text); None = not shown
TYPING = [
    pytest.param('"hello world"', T.STRING, "hello world", id="string-raw"),
    pytest.param(r'"say \"hi\""', T.STRING, 'say "hi"', id="string-unescaped"),
    pytest.param("42", T.INTEGER, "42", id="int"),
    pytest.param("-7", T.INTEGER, "-7", id="negative-int"),
    pytest.param("0.0", T.FLOAT, "0.000000", id="float-%f"),
    pytest.param("2.5", T.FLOAT, "2.500000", id="float"),
    pytest.param("true", T.BOOLEAN, "TRUE", id="true"),
    pytest.param("false", T.BOOLEAN, "FALSE", id="false"),
    pytest.param("undefined", None, None, id="undefined-skipped"),
    pytest.param("error", None, None, id="error-skipped"),
    pytest.param("time()", T.EXPRESSION, "time()", id="call"),
    pytest.param("FilesRetrieved =?= false", T.EXPRESSION, "FilesRetrieved =?= false", id="old-syntax-is"),
    pytest.param('Owner =!= "x"', T.EXPRESSION, 'Owner =!= "x"', id="old-syntax-isnt"),
    pytest.param("{ 1, 2 }", T.EXPRESSION, "{ 1,2 }", id="list"),
    pytest.param("[ a = 1 ]", T.EXPRESSION, "[ a = 1 ]", id="nested-ad"),
    pytest.param("(1)", T.EXPRESSION, "(1)", id="parenthesised"),
]


@pytest.mark.parametrize("text, wire_type, wire_value", TYPING)
def test_value_typing(text, wire_type, wire_value):
    items = to_struct(classad2.ClassAd(f"[MyType = \"Job\"; Value = {text}]"), now=123)
    shown = {a.name: a for a in items}
    if wire_type is None:
        assert "Value" not in shown
    else:
        assert shown["Value"] == Attr("Value", wire_type, wire_value)


def test_header_first_then_attributes_once():
    ad = classad2.ClassAd('[A = 1; TargetType = "Machine"; ServerTime = 5; MyType = "Job"; B = "b"]')
    items = to_struct(ad, now=1000)
    assert items[:3] == [Attr("MyType", T.STRING, "Job"), Attr("TargetType", T.STRING, "Machine"),
                         Attr("ServerTime", T.INTEGER, "1000")]
    assert sorted(a.name for a in items[3:]) == ["A", "B"]


def test_missing_types_are_empty_strings_and_empty_ad_is_empty():
    assert to_struct(classad2.ClassAd("[A = 1]"), 1)[:2] == [Attr("MyType", T.STRING, ""),
                                                            Attr("TargetType", T.STRING, "")]
    assert to_struct(classad2.ClassAd(), 1) == []


@pytest.mark.parametrize("name", ["ClaimId", "claimid", "PairedClaimId", "Capability", "ClaimIds",
                                  "TransferKey", "CHILDCLAIMIDS"])
def test_private_attributes_hidden(name):
    ad = classad2.ClassAd()
    ad[name] = "secret"
    ad["Visible"] = 1
    assert [a.name for a in to_struct(ad, 1)[3:]] == ["Visible"]


def test_case_is_preserved_and_order_hint_wins():
    ad = classad2.ClassAd('[zEta = 1; ALPHA = 2; miXed = 3]')
    items = to_struct(ad, 1, order=["mixed", "Alpha"])
    assert [a.name for a in items[3:]] == ["miXed", "ALPHA", "zEta"]


def test_unparse_is_old_syntax():
    assert unparse_old(parse_expr("a is b && c isnt d")) == "a =?= b && c =!= d"


# client -> server, insertAd style
def test_from_struct_rules():
    ad = from_struct([
        Attr(None, T.STRING, "nameless"),
        Attr("MyType", T.STRING, "Machine"),
        Attr("TargetType", T.EXPRESSION, "Job"),  # a type name, not a reference to Job
        Attr("S", T.STRING, 'a "quoted" C:\\dir'),
        Attr("Null", T.INTEGER, None),
        Attr("F", T.FLOAT, '"ON_EXIT"'),  # GeoFEST: type tag ignored, raw expression text
        Attr("B", T.INTEGER, "TRUE"),
        Attr("E", T.EXPRESSION, "Memory > 1024"),
        Attr("Bad", T.EXPRESSION, "Queue=150"),
        Attr("Also bad", T.INTEGER, "1"),
        Attr("U", T.UNDEFINED, "UNDEFINED"),
    ])
    assert ad["MyType"] == "Machine" and ad["TargetType"] == "Job"
    assert ad["S"] == 'a "quoted" C:\\dir'
    assert ad["Null"] is classad2.Value.Undefined
    assert ad["F"] == "ON_EXIT"
    assert ad["B"] is True
    assert str(ad.lookup("E")) == "Memory > 1024"
    assert "Bad" not in ad and "Also bad" not in ad
    assert ad["U"] is classad2.Value.Undefined
    assert ad["s"] == ad["S"]  # case-insensitive lookup


@pytest.mark.parametrize("text", ["Queue=150", "1; y = 2", "1 ]", "foo bar", "(", '"open', ""])
def test_parse_expr_refuses_garbage(text):
    assert parse_expr(text) is None


def test_parse_expr_keeps_old_syntax_backslashes():
    ad = classad2.ClassAd()
    ad["P"] = parse_expr('"C:\\dir\\x.exe"')
    assert ad["P"] == "C:\\dir\\x.exe"


def test_submit_value_rules():
    assert submit_value(Attr("S", T.STRING, 'x"y')) == 'x"y'
    assert submit_value(Attr("N", T.STRING, None)) is classad2.Value.Undefined
    assert str(submit_value(Attr("R", T.BOOLEAN, "Arch == \"X86_64\""))) == 'Arch == "X86_64"'
    for bad in (Attr("Bad", T.INTEGER, "1 +"), Attr("bad name", T.INTEGER, "1"), Attr("true", T.INTEGER, "1")):
        with pytest.raises(ValueError):
            submit_value(bad)
