"""Response shape (spec §0.2, §3.9, checklist §4.2) and error translation (spec §0.9).

Every response is checked on the raw XML: the wrapper in ``urn:condor``, every child
unqualified with no namespace declarations, and the wrapper valid against the *reference*
WSDL's schema (so no undeclared element, no undeclared enum literal, the declared order).
"""
from __future__ import annotations

import logging

import pytest

from condor_soap.core.records import Attr, AttrType, FileInfo, TxnRef
from condor_soap.errors import (AlreadyExists, CondorSoapError, Incomplete, InvalidTransaction,
                                UnknownJob)
from tests.soap.soap import SOAP_ENV, call, check_shape

TXN = "<transaction><id>42</id><duration>60</duration></transaction>"
AD = [Attr("MyType", AttrType.STRING, "Job"), Attr("ClusterId", AttrType.INTEGER, "3"),
      Attr("Requirements", AttrType.EXPRESSION, 'OpSys == "LINUX"')]


# (operation, request children, core method, core result or exception, expected (path, text) pairs;
#  text None = the element must be absent)
CASES = [
    pytest.param("getVersionString", "", "version", "$CondorVersion: 8.7.7 x $",
                 [("response/status/code", "SUCCESS"), ("response/status/message", None),
                  ("response/message", "$CondorVersion: 8.7.7 x $")], id="version-no-status-message"),
    pytest.param("getPlatformString", "", "platform", "$CondorPlatform: X86_64 $",
                 [("response/status/code", "SUCCESS"), ("response/status/message", None),
                  ("response/message", "$CondorPlatform: X86_64 $")], id="platform"),
    pytest.param("beginTransaction", "<duration>60</duration>", "begin_transaction", TxnRef(-751779840, 60),
                 [("response/status/code", "SUCCESS"), ("response/status/message", "Success"),
                  ("response/status/next", None), ("response/transaction/id", "-751779840"),
                  ("response/transaction/duration", "60")], id="begin"),
    pytest.param("beginTransaction", "<duration>0</duration>", "begin_transaction",
                 CondorSoapError("Could not extend transaction"),
                 [("response/status/code", "FAIL"), ("response/status/message", "Could not extend transaction"),
                  ("response/transaction/id", "0"), ("response/transaction/duration", "0")],
                 id="begin-failure-still-has-transaction"),
    pytest.param("extendTransaction", TXN + "<duration>30</duration>", "extend_transaction", InvalidTransaction(),
                 [("response/status/code", "INVALIDTRANSACTION"), ("response/status/message", "Invalid transaction"),
                  ("response/transaction/id", "0")], id="extend-invalid"),
    pytest.param("commitTransaction", TXN, "commit_transaction", None,
                 [("response/code", "SUCCESS"), ("response/message", "Success")], id="commit"),
    pytest.param("commitTransaction", TXN, "commit_transaction", Incomplete("File 'in.dat' is incomplete"),
                 [("response/code", "INCOMPLETE"), ("response/message", "File 'in.dat' is incomplete")],
                 id="commit-incomplete"),
    pytest.param("newCluster", TXN, "new_cluster", 12,
                 [("response/status/code", "SUCCESS"), ("response/integer", "12")], id="new-cluster"),
    pytest.param("newJob", TXN + "<clusterId>1</clusterId>", "new_job", CondorSoapError("Could not create new job"),
                 [("response/status/code", "FAIL"), ("response/status/message", "Could not create new job"),
                  ("response/integer", "0")], id="new-job-failure-still-has-integer"),
    pytest.param("submit", TXN + "<clusterId>1</clusterId><jobId>0</jobId>", "submit", None,
                 [("response/status/code", "SUCCESS"), ("response/requirements", None)], id="submit"),
    pytest.param("submit", TXN + "<clusterId>1</clusterId><jobId>9</jobId>", "submit",
                 UnknownJob("Unknown cluster or job"),
                 [("response/status/code", "UNKNOWNJOB"), ("response/status/message", "Unknown cluster or job")],
                 id="submit-unknown-job"),
    pytest.param("getJobAds", "", "get_job_ads", [AD, AD[:1]],
                 [("response/status/code", "SUCCESS"), ("response/classAdArray/item[1]/item[2]/name", "ClusterId"),
                  ("response/classAdArray/item[1]/item[2]/type", "INTEGER-ATTR"),
                  ("response/classAdArray/item[1]/item[3]/value", 'OpSys == "LINUX"'),
                  ("response/classAdArray/item[2]/item[1]/type", "STRING-ATTR")], id="job-ads"),
    pytest.param("getJobAds", "", "get_job_ads", [],
                 [("response/status/code", "SUCCESS"), ("response/classAdArray", "")],
                 id="job-ads-empty-array-emitted"),
    pytest.param("getJobAd", "<clusterId>1</clusterId><jobId>0</jobId>", "get_job_ad",
                 UnknownJob("Specified job is unknown"),
                 [("response/status/code", "UNKNOWNJOB"), ("response/status/message", "Specified job is unknown"),
                  ("response/classAd", None)], id="job-ad-unknown"),
    pytest.param("getJobAd", "<clusterId>1</clusterId><jobId>0</jobId>", "get_job_ad", AD,
                 [("response/classAd/item[1]/value", "Job")], id="job-ad"),
    pytest.param("declareFile", TXN + "<clusterId>1</clusterId><jobId>0</jobId><name>a</name><size>1</size>"
                 "<hashType>MD5HASH</hashType><hash>0cc175b9c0f1b6a831c399e269772661</hash>", "declare_file",
                 AlreadyExists("File 'a' already declared."),
                 [("response/code", "ALREADYEXISTS"), ("response/message", "File 'a' already declared.")],
                 id="declare-already-exists"),
    pytest.param("getFile", "<clusterId>1</clusterId><jobId>0</jobId><name>o</name><offset>0</offset>"
                 "<length>5</length>", "get_file", b"hello",
                 [("response/status/code", "SUCCESS"), ("response/data", "aGVsbG8=")], id="get-file"),
    pytest.param("getFile", "<clusterId>1</clusterId><jobId>0</jobId><name>o</name><offset>0</offset>"
                 "<length>-1</length>", "get_file", CondorSoapError("LENGTH must be >= 0"),
                 [("response/status/message", "LENGTH must be >= 0"), ("response/data", "")], id="get-file-fail"),
    pytest.param("getFile", "<clusterId>1</clusterId><jobId>0</jobId><name>o</name><offset>0</offset>"
                 "<length>0</length>", "get_file", b"",
                 [("response/status/code", "SUCCESS"), ("response/data", "")], id="get-file-empty"),
    pytest.param("listSpool", "<clusterId>1</clusterId><jobId>0</jobId>", "list_spool",
                 [FileInfo("in.dat", 3 * 2 ** 31), FileInfo("out", 0)],
                 [("response/info/item[1]/name", "in.dat"), ("response/info/item[1]/size", str(3 * 2 ** 31)),
                  ("response/info/item[2]/size", "0")], id="list-spool-long-size"),
    pytest.param("listSpool", "<clusterId>1</clusterId><jobId>0</jobId>", "list_spool", [],
                 [("response/status/code", "SUCCESS"), ("response/info", None)], id="list-spool-empty"),
    pytest.param("requestReschedule", "", "request_reschedule", None,
                 [("response/code", "SUCCESS"), ("response/message", "Success")], id="reschedule"),
    pytest.param("discoverJobRequirements", "<jobAd/>", "discover_job_requirements", ["in.dat", "/bin/sh"],
                 [("response/requirements/item[1]", "in.dat"), ("response/requirements/item[2]", "/bin/sh")],
                 id="discover"),
    pytest.param("createJobTemplate", "<clusterId>1</clusterId><jobId>0</jobId><type>VANILLA</type>"
                 "<args>'x</args>", "create_job_template",
                 CondorSoapError("Invalid arguments string.", result=AD),
                 [("response/status/code", "FAIL"), ("response/status/message", "Invalid arguments string."),
                  ("response/classAd/item[2]/name", "ClusterId")], id="template-fail-with-ad"),
    pytest.param("insertAd", "<type>STARTD-AD-TYPE</type><ad/>", "insert_ad", "New ad inserted",
                 [("status/code", "SUCCESS"), ("status/message", "New ad inserted")], id="insert-ad-status-child"),
    pytest.param("insertAd", "<type>STARTD-AD-TYPE</type><ad/>", "insert_ad",
                 CondorSoapError("Failed to parse the ClassAdStruct"),
                 [("status/code", "FAIL"), ("status/message", "Failed to parse the ClassAdStruct")],
                 id="insert-ad-fail"),
    pytest.param("queryStartdAds", "<constraint>true</constraint>", "query_ads", [AD],
                 [("result/item/item[1]/name", "MyType")], id="query-result-child"),
    pytest.param("queryAnyAds", "", "query_ads", RuntimeError("collector exploded"),
                 [("result", ""), ("result/item", None)], id="query-error-empty-result"),
]


@pytest.mark.parametrize("operation, children, core_method, outcome, expected", CASES)
def test_answers(fake, fake_url, reference_schema, operation, children, core_method, outcome, expected):
    if isinstance(outcome, BaseException):
        fake.raises[core_method] = outcome
    else:
        fake.returns[core_method] = outcome
    reply = call(fake_url, operation, children)
    check_shape(reply, operation, reference_schema)
    assert core_method in [name for name, _ in fake.calls]
    for path, text in expected:
        found = reply.answer.find(path)
        if text is None:
            assert found is None, f"{path} should be absent"
        else:
            assert found is not None, f"{path} missing in {reply.xml!r}"
            assert (found.text or "") == text


def test_unexpected_exception_is_fail_without_traceback(fake, fake_url, reference_schema, caplog):
    fake.raises["new_cluster"] = ZeroDivisionError("secret detail")
    with caplog.at_level(logging.ERROR, logger="condor_soap.soap.application"):
        reply = call(fake_url, "newCluster", TXN)
    check_shape(reply, "newCluster", reference_schema)
    assert reply.status == ("FAIL", "Internal error")
    assert reply.text("response/integer") == "0"
    assert b"Traceback" not in reply.xml and b"secret" not in reply.xml
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is ZeroDivisionError]
    assert logged, "the exception must be logged with its traceback"


def test_soap_11_envelope(fake, fake_url):
    fake.returns["request_reschedule"] = None
    reply = call(fake_url, "requestReschedule")
    assert reply.root.tag == f"{{{SOAP_ENV}}}Envelope"
