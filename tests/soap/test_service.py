"""The wire rules end to end: raw XML over HTTP to the real application (local backend), with
the spec's exact codes and messages (§4.1, §4.4), every answer valid against the reference."""
from __future__ import annotations

import pytest

from tests.soap.soap import Reply, call, check_shape


def checked(url: str, schema, operation: str, children: str = "") -> Reply:
    reply = call(url, operation, children)
    check_shape(reply, operation, schema)
    return reply


def begin(url: str, schema, duration: int = 60) -> str:
    """A new transaction's ``<id>`` text."""
    reply = checked(url, schema, "beginTransaction", f"<duration>{duration}</duration>")
    assert reply.status == ("SUCCESS", "Success")
    return reply.text("response/transaction/id")


def test_version_has_no_status_message(service_url, reference_schema):
    reply = checked(service_url, reference_schema, "getVersionString")
    assert reply.status == ("SUCCESS", None)
    assert reply.text("response/message").startswith("$CondorVersion: ")


@pytest.mark.parametrize("transaction", [
    pytest.param("", id="omitted"),
    pytest.param('<transaction xsi:nil="true"/>', id="nil"),
    pytest.param("<transaction/>", id="empty"),
    pytest.param("<transaction><id>0</id><duration>60</duration></transaction>", id="id-0"),
    pytest.param("<transaction><id>123456</id><duration>60</duration></transaction>", id="unknown-id"),
])
def test_required_transaction_missing(service_url, reference_schema, transaction):
    reply = checked(service_url, reference_schema, "newCluster", transaction)
    assert reply.status == ("INVALIDTRANSACTION", "Invalid transaction")
    assert reply.text("response/integer") == "0"


@pytest.mark.parametrize("transaction, expected", [
    pytest.param('<transaction xsi:nil="true"/>', "SUCCESS", id="nil-is-none"),
    pytest.param("<transaction><id>0</id></transaction>", "SUCCESS", id="id-0-is-none"),
    pytest.param("<transaction><id>123456</id><duration>60</duration></transaction>", "INVALIDTRANSACTION",
                 id="unknown-id-is-checked"),
])
def test_optional_transaction(service_url, reference_schema, transaction, expected):
    reply = checked(service_url, reference_schema, "getJobAds", transaction)
    assert reply.status[0] == expected
    assert (reply.answer.find("response/classAdArray") is not None) == (expected == "SUCCESS")


def test_failed_extend_still_emits_transaction(service_url, reference_schema):
    reply = checked(service_url, reference_schema, "extendTransaction",
                    "<transaction><id>123456</id><duration>5</duration></transaction><duration>5</duration>")
    assert reply.status == ("INVALIDTRANSACTION", "Invalid transaction")
    assert (reply.text("response/transaction/id"), reply.text("response/transaction/duration")) == ("0", "0")


def test_transaction_without_duration_reuses_the_lease(service_url, reference_schema):
    txn = begin(service_url, reference_schema)
    reply = checked(service_url, reference_schema, "newCluster", f"<transaction><id>{txn}</id></transaction>")
    assert reply.status == ("SUCCESS", "Success")
    assert int(reply.text("response/integer")) > 0
    assert checked(service_url, reference_schema, "abortTransaction",
                   f"<transaction><id>{txn}</id></transaction>").status[0] == "SUCCESS"


@pytest.mark.parametrize("operation, children, status", [
    pytest.param("getJobAd", "<clusterId>999999</clusterId><jobId>0</jobId>",
                 ("UNKNOWNJOB", "Specified job is unknown"), id="getJobAd-unknown"),
    pytest.param("getFile", "<clusterId>1</clusterId><jobId>0</jobId><name>x</name><offset>0</offset>"
                 "<length>-1</length>", ("FAIL", "LENGTH must be >= 0"), id="getFile-negative-length"),
    pytest.param("requestReschedule", "", ("SUCCESS", "Success"), id="requestReschedule"),
])
def test_exact_status(service_url, reference_schema, operation, children, status):
    assert checked(service_url, reference_schema, operation, children).status == status


@pytest.mark.parametrize("operation, children, status", [
    pytest.param("submit", "<clusterId>{c}</clusterId><jobId>7</jobId>", ("UNKNOWNJOB", "Unknown cluster or job"),
                 id="submit-unknown-job"),
    pytest.param("declareFile", "<clusterId>{c}</clusterId><jobId>7</jobId><name>f</name><size>1</size>"
                 "<hashType>NOHASH</hashType>", ("UNKNOWNJOB", "Unknown job"), id="declareFile-unknown-job"),
    pytest.param("sendFile", "<clusterId>{c}</clusterId><jobId>7</jobId><name>f</name><offset>0</offset>"
                 "<data>eA==</data>", ("UNKNOWNJOB", "Unknown job"), id="sendFile-unknown-job"),
])
def test_exact_status_in_transaction(service_url, reference_schema, operation, children, status):
    txn = f"<transaction><id>{begin(service_url, reference_schema)}</id><duration>60</duration></transaction>"
    cluster = checked(service_url, reference_schema, "newCluster", txn).text("response/integer")
    reply = checked(service_url, reference_schema, operation, txn + children.format(c=cluster))
    assert reply.status == status
    checked(service_url, reference_schema, "abortTransaction", txn)


def test_template_fail_still_returns_the_ad(service_url, reference_schema):
    reply = checked(service_url, reference_schema, "createJobTemplate",
                    "<clusterId>5</clusterId><jobId>1</jobId><type>VANILLA</type><cmd>/bin/echo</cmd>"
                    "<args>'unterminated</args>")
    assert reply.status == ("FAIL", "Invalid arguments string.")
    ad = {i.findtext("name"): i.findtext("value") for i in reply.answer.findall("response/classAd/item")}
    assert ad["ClusterId"] == "5" and ad["ProcId"] == "1"


@pytest.mark.parametrize("literal, universe", [
    pytest.param("VANILLA", "5", id="VANILLA"),
    pytest.param("5", "5", id="numeric-5"),
    pytest.param("LOCALUNIVESE", "12", id="legacy-LOCALUNIVESE"),
    pytest.param("GLOBUS", "9", id="legacy-GLOBUS"),
    pytest.param("7", "7", id="numeric-7"),
])
def test_universe_literals_end_to_end(service_url, reference_schema, literal, universe):
    reply = checked(service_url, reference_schema, "createJobTemplate",
                    f"<clusterId>1</clusterId><jobId>0</jobId><type>{literal}</type><cmd>/bin/true</cmd>")
    assert reply.status[0] == "SUCCESS"
    ad = {i.findtext("name"): i.findtext("value") for i in reply.answer.findall("response/classAd/item")}
    assert ad["JobUniverse"] == universe


@pytest.mark.parametrize("ad_type, query", [
    pytest.param("2", "queryScheddAds", id="numeric-2-is-schedd"),
    pytest.param("MASTER-AD-TYPE", "queryMasterAds", id="master"),
])
def test_insert_and_query(service_url, reference_schema, ad_type, query):
    name = f"wire-test-{ad_type}"
    inserted = checked(service_url, reference_schema, "insertAd",
                       f"<type>{ad_type}</type><ad><item><name>Name</name><type>115</type>"
                       f"<value>{name}</value></item></ad>")
    assert inserted.answer.findtext("status/code") == "SUCCESS"
    found = checked(service_url, reference_schema, query, f'<constraint>Name == "{name}"</constraint>')
    names = [i.findtext("value") for i in found.answer.findall("result/item/item") if i.findtext("name") == "Name"]
    assert names == [name]


def test_bad_constraint_gives_empty_result(service_url, reference_schema):
    reply = checked(service_url, reference_schema, "queryAnyAds", "<constraint>((( not an expression</constraint>")
    result = reply.answer.find("result")
    assert result is not None and len(result) == 0
