"""Collector.query and advertise against the live service, on both backends."""
from __future__ import annotations

import uuid

import pytest

from condor_soap.client import AdType, ClassAd


def test_query_by_type_constraint_and_projection(collector):
    startds = list(collector.query(AdType.Startd))
    assert startds and all(isinstance(ad, ClassAd) and ad["MyType"] == "Machine" for ad in startds)
    assert isinstance(startds[0]["ServerTime"], int)
    name = startds[0]["Name"]
    only = list(collector.query(AdType.Startd, f'name == "{name}"', ["Name", "state"]))
    assert [set(ad) for ad in only] == [{"Name", "State"}] and only[0]["name"] == name
    schedds = list(collector.query(AdType.Schedd))
    assert schedds and all(ad["MyType"] == "Scheduler" for ad in schedds)
    assert {ad["MyType"] for ad in collector.query(AdType.Any)} >= {"Machine", "Scheduler"}
    assert list(collector.query(AdType.Startd, "false")) == []
    for kind in AdType:  # every type has a query (the contract's own, or queryAnyAds by MyType)
        for ad in collector.query(kind):
            assert "MyType" in ad
    assert collector.version().startswith("$CondorVersion")


def test_advertise_then_query(collector):
    name = f"client-test-{uuid.uuid4().hex[:8]}"
    collector.advertise({"MyType": "Generic", "Name": name, "Answer": 42, "Ratio": 0.5, "Up": True})
    (ad,) = collector.query(AdType.Generic, f'Name == "{name}"')
    assert (ad["Answer"], ad["Ratio"], ad["Up"]) == (42, 0.5, True)
    collector.advertise([ClassAd(MyType="Generic", Name=name, Answer=43)], AdType.Generic)
    assert [a["Answer"] for a in collector.query(AdType.Any, f'Name == "{name}"')] == [43]


def test_bad_ad_is_refused(collector):
    from condor_soap.client import Failed

    with pytest.raises(Failed, match="Failed to parse the ClassAdStruct"):
        collector.advertise({"Answer": 42})
