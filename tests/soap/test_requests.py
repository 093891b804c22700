"""Request leniency (spec §2, client checklist §4.1): what reaches the core for each style of
request. Raw XML over HTTP to the wire application on a recording fake core."""
from __future__ import annotations

import base64

import pytest

from condor_soap.core.records import AdType, Attr, AttrType, HashType, TxnRef, Universe
from tests.soap.soap import TNS, call, envelope, post

TXN = "<transaction><id>42</id><duration>60</duration></transaction>"


@pytest.mark.parametrize("body", [
    pytest.param(f'<beginTransaction xmlns="{TNS}"><duration xmlns="">60</duration></beginTransaction>',
                 id="axis-default-ns-wrapper-unqualified-children"),
    pytest.param("<c:beginTransaction><duration>60</duration></c:beginTransaction>",
                 id="prefixed-wrapper-unqualified-children"),
    pytest.param("<c:beginTransaction><c:duration>60</c:duration></c:beginTransaction>",
                 id="prefixed-wrapper-qualified-children"),
    pytest.param(f'<beginTransaction xmlns="{TNS}"><duration>60</duration></beginTransaction>',
                 id="default-ns-wrapper-qualified-children"),
    pytest.param('<ns:beginTransaction xmlns:ns="urn:condor"><duration xsi:type="xsd:int">60</duration>'
                 '</ns:beginTransaction>', id="soap-lite-xsi-type"),
    pytest.param("<c:beginTransaction><bogus>1</bogus><duration>60</duration><c:other/></c:beginTransaction>",
                 id="unknown-children-ignored"),
])
def test_request_styles(fake, fake_url, body):
    fake.returns["begin_transaction"] = TxnRef(7, 60)
    encoding_style = ' soapenv:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"'
    reply = post(fake_url, envelope(body, encoding_style if "xsi:type" in body else ""))
    assert reply.http_status == 200
    assert fake.last("begin_transaction") == (60,)
    assert reply.text("response/transaction/id") == "7"


@pytest.mark.parametrize("transaction, expected", [
    pytest.param("", None, id="omitted"),
    pytest.param('<transaction xsi:nil="true"/>', None, id="nil"),
    pytest.param("<transaction/>", None, id="empty"),
    pytest.param("<transaction><id>0</id><duration>60</duration></transaction>", None, id="id-0"),
    pytest.param("<transaction><id>42</id></transaction>", TxnRef(42, None), id="no-duration"),
    pytest.param(TXN, TxnRef(42, 60), id="full"),
    pytest.param("<transaction><id>-5</id><duration>1</duration></transaction>", TxnRef(-5, 1), id="negative-id"),
    pytest.param("<c:transaction><c:id>42</c:id><c:duration>60</c:duration></c:transaction>", TxnRef(42, 60),
                 id="qualified"),
])
@pytest.mark.parametrize("operation", ["getJobAds", "newCluster"])  # optional / required transaction
def test_transaction_forms(fake, fake_url, operation, transaction, expected):
    fake.returns.update(get_job_ads=[], new_cluster=1)
    call(fake_url, operation, transaction)
    core_name = {"getJobAds": "get_job_ads", "newCluster": "new_cluster"}[operation]
    assert fake.last(core_name)[0] == expected


def test_missing_scalars_take_gsoap_defaults(fake, fake_url):
    """Missing booleans are false and ints 0; missing strings None (spec §2, checklist §4.1 item 4)."""
    reply = call(fake_url, "holdJob", "<clusterId>3</clusterId>")
    assert reply.status == ("SUCCESS", "Success")
    assert fake.last("hold_job") == (None, 3, 0, None, False, False, False)


@pytest.mark.parametrize("children, expected", [
    pytest.param("<clusterId/><jobId xsi:nil='true'/>", (0, 0), id="empty-and-nil-ints"),
    pytest.param("<clusterId> 12 </clusterId><jobId>-1</jobId>", (12, -1), id="whitespace"),
    pytest.param("<clusterId>2147483647</clusterId><jobId>-2147483648</jobId>", (2147483647, -2147483648),
                 id="int32-limits"),
])
def test_int_forms(fake, fake_url, children, expected):
    call(fake_url, "closeSpool", children)
    assert fake.last("close_spool")[1:] == expected


def test_hyphenated_booleans(fake, fake_url):
    call(fake_url, "holdJob", "<clusterId>1</clusterId><jobId>2</jobId><reason>r</reason>"
         "<email-user>true</email-user><email-admin>1</email-admin><system-hold>false</system-hold>")
    call(fake_url, "removeJob", "<clusterId>1</clusterId><jobId>2</jobId><force-removal>true</force-removal>")
    call(fake_url, "releaseJob", "<clusterId>1</clusterId><jobId>2</jobId><email-user>1</email-user>")
    assert fake.last("hold_job") == (None, 1, 2, "r", True, True, False)
    assert fake.last("remove_job") == (None, 1, 2, None, True)
    assert fake.last("release_job") == (None, 1, 2, None, True, False)


@pytest.mark.parametrize("literal, expected", [
    pytest.param("VANILLA", Universe.VANILLA, id="VANILLA"),
    pytest.param("5", Universe.VANILLA, id="numeric-5"),
    pytest.param("LOCAL", Universe.LOCAL, id="LOCAL"),
    pytest.param("LOCALUNIVESE", Universe.LOCAL, id="legacy-LOCALUNIVESE"),
    pytest.param("PVMUNIVERSE", Universe.PVM, id="legacy-PVMUNIVERSE"),
    pytest.param("4", Universe.PVM, id="numeric-4"),
    pytest.param("GLOBUS", Universe.GRID, id="legacy-GLOBUS"),
    pytest.param("13", Universe.VM, id="numeric-13"),
    pytest.param(None, Universe.VANILLA, id="missing"),
])
def test_universe_literals(fake, fake_url, literal, expected):
    fake.returns["create_job_template"] = []
    type_element = "" if literal is None else f"<type>{literal}</type>"
    call(fake_url, "createJobTemplate", f"<clusterId>1</clusterId><jobId>0</jobId>{type_element}")
    assert fake.last("create_job_template") == (1, 0, None, expected, None, None, None)


@pytest.mark.parametrize("literal, expected", [
    pytest.param("NOHASH", HashType.NOHASH, id="NOHASH"),
    pytest.param("MD5HASH", HashType.MD5HASH, id="MD5HASH"),
    pytest.param("MD5", HashType.MD5HASH, id="legacy-MD5"),
    pytest.param("1", HashType.MD5HASH, id="numeric-1"),
    pytest.param(None, HashType.NOHASH, id="missing"),
])
def test_hash_type_literals(fake, fake_url, literal, expected):
    hash_type = "" if literal is None else f"<hashType>{literal}</hashType>"
    call(fake_url, "declareFile", f"{TXN}<clusterId>1</clusterId><jobId>0</jobId><name>f</name>"
         f"<size>3</size>{hash_type}<hash>abc</hash>")
    assert fake.last("declare_file") == (TxnRef(42, 60), 1, 0, "f", 3, expected, "abc")


@pytest.mark.parametrize("literal, expected", [
    pytest.param("STRING-ATTR", AttrType.STRING, id="STRING-ATTR"),
    pytest.param("115", AttrType.STRING, id="numeric-115"),
    pytest.param("110", AttrType.INTEGER, id="numeric-110"),
    pytest.param("EXPRESSION-ATTR", AttrType.EXPRESSION, id="EXPRESSION-ATTR"),
    pytest.param(None, AttrType.EXPRESSION, id="missing"),
])
def test_attr_type_literals(fake, fake_url, literal, expected):
    type_element = "" if literal is None else f"<type>{literal}</type>"
    call(fake_url, "submit", f"{TXN}<clusterId>1</clusterId><jobId>0</jobId>"
         f"<jobAd><item><name>A</name>{type_element}<value>v</value></item></jobAd>")
    assert fake.last("submit") == (TxnRef(42, 60), 1, 0, [Attr("A", expected, "v")])


@pytest.mark.parametrize("literal, expected", [
    pytest.param("SCHEDD-AD-TYPE", AdType.SCHEDD, id="SCHEDD-AD-TYPE"),
    pytest.param("0", AdType.STARTD, id="numeric-0"),
    pytest.param("11", AdType.GENERIC, id="numeric-11"),
    pytest.param("QUILL-AD-TYPE", AdType.QUILL, id="QUILL-AD-TYPE"),
])
def test_ad_type_literals(fake, fake_url, literal, expected):
    fake.returns["insert_ad"] = "New ad inserted"
    call(fake_url, "insertAd", f"<type>{literal}</type><ad><item><name>Name</name><type>STRING-ATTR</type>"
         "<value>x</value></item></ad>")
    assert fake.last("insert_ad") == (expected, [Attr("Name", AttrType.STRING, "x")])


@pytest.mark.parametrize("job_ad, expected", [
    pytest.param("", None, id="omitted"),
    pytest.param('<jobAd xsi:nil="true"/>', None, id="nil"),
    pytest.param("<jobAd/>", [], id="empty"),
    pytest.param('<jobAd><item xsi:nil="true"/><item><name>A</name><type>INTEGER-ATTR</type><value>1</value>'
                 "</item></jobAd>", [Attr("A", AttrType.INTEGER, "1")], id="nil-item-dropped"),
])
def test_class_ad_forms(fake, fake_url, job_ad, expected):
    fake.returns["discover_job_requirements"] = []
    call(fake_url, "discoverJobRequirements", job_ad)
    assert fake.last("discover_job_requirements") == (expected,)


@pytest.mark.parametrize("data, expected", [
    pytest.param("<data>aGVsbG8=</data>", b"hello", id="base64"),
    pytest.param("<data>aGVs\n bG8=</data>", b"hello", id="base64-with-whitespace"),
    pytest.param("<data/>", b"", id="empty"),
    pytest.param("", None, id="omitted"),
])
def test_send_file_data(fake, fake_url, data, expected):
    call(fake_url, "sendFile", f"{TXN}<clusterId>1</clusterId><jobId>0</jobId><name>f</name><offset>5</offset>{data}")
    assert fake.last("send_file") == (TxnRef(42, 60), 1, 0, "f", 5, expected)


@pytest.mark.parametrize("path", ["/", "/soap", "/condorSchedd", "/any/where?x=1"])
def test_any_path_dispatches_both_services(fake, fake_url, path):
    fake.returns.update(query_ads=[], version="$CondorVersion: x $")
    url = fake_url.rstrip("/") + path
    assert call(url, "queryStartdAds").http_status == 200
    assert call(url, "getVersionString").text("response/message") == "$CondorVersion: x $"
    assert fake.last("query_ads") == (AdType.STARTD, None)


def test_whole_file_in_one_send_file(fake, fake_url):
    """Some clients send a whole file in one sendFile (checklist §4.1 item 1): past Spyne's
    2 MiB request default and libxml2's 10 MB text-node limit."""
    payload = bytes(range(256)) * (12 * 4096)  # 12 MiB, 16 MiB of base64
    call(fake_url, "sendFile", f"{TXN}<clusterId>1</clusterId><jobId>0</jobId><name>big</name><offset>0</offset>"
         f"<data>{base64.b64encode(payload).decode()}</data>")
    assert fake.last("send_file")[5] == payload
