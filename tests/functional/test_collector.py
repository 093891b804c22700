"""The collector operations against the live service, on each backend."""
from __future__ import annotations

import uuid

import pytest

from tests.functional.conftest import collector_client

QUERIES = ["queryStartdAds", "queryScheddAds", "queryMasterAds", "querySubmittorAds",
           "queryLicenseAds", "queryStorageAds", "queryAnyAds"]


@pytest.fixture()
def collector(service):
    return collector_client(service.url)


def as_dict(ad) -> dict:
    return {i.name: (i.type, i.value) for i in ad.item}


def test_schedd_ad_advertises_soap(collector):
    ads = [as_dict(ad) for ad in collector.queryScheddAds("HasSOAPInterface =?= TRUE")]
    # the local backend's schedd ad says so; a real schedd without SOAP does not, so on a real
    # pool the same query is answered (empty) without error and the plain query finds the schedd
    plain = [as_dict(ad) for ad in collector.queryScheddAds(None)]
    assert plain, "the pool's schedd is visible"
    assert all(ad["MyType"] == ("STRING-ATTR", "Scheduler") for ad in plain)
    for ad in ads:
        assert ad["HasSOAPInterface"] == ("BOOLEAN-ATTR", "TRUE")


def test_every_query_answers(collector):
    for name in QUERIES:
        result = getattr(collector, name)(None)
        for ad in result or []:
            items = [i.name for i in ad.item]
            assert items[:3] == ["MyType", "TargetType", "ServerTime"], name


def test_startd_ads_are_machines(collector):
    ads = [as_dict(ad) for ad in collector.queryStartdAds(None)]
    assert ads and all(ad["MyType"][1] == "Machine" for ad in ads)
    # constraints are ClassAd expressions with case-insensitive names
    name = ads[0]["Name"][1]
    assert [as_dict(a)["Name"][1] for a in collector.queryStartdAds(f'name == "{name}"')] == [name]


def test_insert_then_query_then_update(collector):
    name = f"condor-soap-test-{uuid.uuid4().hex[:8]}"
    ad = {"item": [{"name": "MyType", "type": "STRING-ATTR", "value": "Generic"},
                   {"name": "Name", "type": "STRING-ATTR", "value": name},
                   {"name": "Answer", "type": "INTEGER-ATTR", "value": "42"}]}
    status = collector.insertAd("GENERIC-AD-TYPE", ad)
    assert (status.code, status.message) == ("SUCCESS", "New ad inserted")
    found = [as_dict(a) for a in collector.queryAnyAds(f'Name == "{name}"')]
    assert len(found) == 1 and found[0]["Answer"] == ("INTEGER-ATTR", "42")
    ad["item"][2]["value"] = "43"
    status = collector.insertAd("GENERIC-AD-TYPE", ad)
    assert (status.code, status.message) == ("SUCCESS", "Updated ad")
    found = [as_dict(a) for a in collector.queryAnyAds(f'Name == "{name}"')]
    assert len(found) == 1 and found[0]["Answer"] == ("INTEGER-ATTR", "43")


def test_insert_without_name_fails(collector):
    ad = {"item": [{"name": "Answer", "type": "INTEGER-ATTR", "value": "42"}]}
    status = collector.insertAd("GENERIC-AD-TYPE", ad)
    assert (status.code, status.message) == ("FAIL", "Failed to parse the ClassAdStruct")
