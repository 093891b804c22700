"""CollectorCore: insertAd and the query*Ads family (spec §4.4, "Collector")."""
from __future__ import annotations

import pytest

from condor_soap.core.collector import CollectorCore
from condor_soap.core.records import AdType, Attr, AttrType
from condor_soap.errors import CondorSoapError, StatusCode
from tests.core.helpers import S, X, attrs


@pytest.fixture
def collector(fake, clock):
    return CollectorCore(fake, clock=clock)


def test_insert_then_update(collector, fake):
    ad = [S("MyType", "Machine"), S("Name", "slot1@host"), X("Memory", "2048"), X("Bad", "Queue=150")]
    assert collector.insert_ad(AdType.STARTD, ad) == "New ad inserted"
    assert collector.insert_ad(AdType.STARTD, ad) == "Updated ad"
    stored = fake.collector[(AdType.STARTD, "slot1@host")]
    assert stored["Memory"] == 2048 and "Bad" not in stored and stored["MyType"] == "Machine"


@pytest.mark.parametrize("ad", [None, [], [X("Memory", "1")], [Attr(None, AttrType.STRING, "x")]],
                         ids=["null", "empty", "no-name", "nameless-item"])
def test_insert_refused(collector, ad):
    with pytest.raises(CondorSoapError) as info:
        collector.insert_ad(AdType.GENERIC, ad)
    assert (info.value.code, info.value.message) == (StatusCode.FAIL, "Failed to parse the ClassAdStruct")


def test_query(collector, clock):
    collector.insert_ad(AdType.STARTD, [S("MyType", "Machine"), S("TargetType", "Job"), S("Name", "a"),
                                        S("ClaimId", "secret")])
    collector.insert_ad(AdType.SCHEDD, [S("MyType", "Scheduler"), S("Name", "b")])
    (startd,) = list(collector.query_ads(AdType.STARTD, None))
    assert startd[:3] == [S("MyType", "Machine"), S("TargetType", "Job"),
                          Attr("ServerTime", AttrType.INTEGER, str(int(clock())))]
    assert "claimid" not in attrs(startd)
    assert len(list(collector.query_ads(None, ""))) == 2
    assert list(collector.query_ads(None, 'Name == "b"'))[0][0].value == "Scheduler"
    assert list(collector.query_ads(None, "((garbage")) == []


def test_query_errors_give_empty_list(collector, fake):
    fake.query_ads = lambda *a: (_ for _ in ()).throw(RuntimeError("collector down"))
    assert list(collector.query_ads(AdType.STARTD, None)) == []
