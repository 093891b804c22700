"""The client's ClassAd: a case-insensitive mapping whose classad2 conversion is classad2's own
reading of the same ad."""
from __future__ import annotations

import json

import classad2
import pytest

from condor_soap.client import ClassAd, Expression


def test_names_are_case_insensitive_and_keep_their_spelling():
    ad = ClassAd({"JobStatus": 2, "Owner": "alice"})
    assert ad["jobstatus"] == ad["JOBSTATUS"] == 2 and "owner" in ad and "nope" not in ad and 3 not in ad
    ad["jobSTATUS"] = 4
    assert list(ad) == ["JobStatus", "Owner"] and ad["JobStatus"] == 4
    del ad["OWNER"]
    assert dict(ad) == {"JobStatus": 4} and ad.get("owner") is None
    with pytest.raises(KeyError):
        ad["Owner"]
    ad["New"] = 1
    assert ad["new"] == 1 and len(ad) == 2
    assert ClassAd(a=1) == {"a": 1} and repr(ClassAd(a=1)) == "ClassAd({'a': 1})"


def test_to_classad_is_classad2s_reading():
    ad = ClassAd(Int=3, Real=0.25, Yes=True, Text='say "hi"\\n', Undef=None,
                 Expr=Expression('Int * 2 + (Text =!= undefined ? 1 : 0)'), List=Expression('{1, "a"}'))
    theirs = classad2.ClassAd(r'[Int = 3; Real = 0.25; Yes = true; Text = "say \"hi\"\\n"; Undef = undefined; '
                              r'Expr = Int * 2 + (Text =!= undefined ? 1 : 0); List = {1, "a"}]')
    mine = ad.to_classad()
    assert sorted(mine.keys()) == sorted(theirs.keys())
    for name in theirs.keys():
        assert str(mine.lookup(name)) == str(theirs.lookup(name)), name
        assert mine.eval(name) == theirs.eval(name), name
    assert ad.eval("Expr") == 7 and ad.eval("Int") == 3
    assert Expression("Int + 1").eval(ad) == 4 and Expression("1 + 1").eval() == 2
    assert str(Expression("x")) == "x" and Expression("x") != "x" and len({Expression("x"), Expression("x")}) == 1


def test_json_as_htcondor_writes_it():
    ad = ClassAd(A=1, B=Expression("A + 1"), C="c", D=None, E=False)
    assert json.loads(ad.printJson()) == {"A": 1, "B": "/Expr(A + 1)/", "C": "c", "D": None, "E": False}
