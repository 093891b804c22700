"""The fast path for ClassAd answers (soap/ads_xml.py) against Spyne's generic serializer.

Two applications over the same recording core, one writing ClassAd answers itself, one
through Spyne (``Cores(fast_answers=False)``), answer the same calls: the bytes must be
identical for every operation that returns ads, over generated ads (escaping, control and
invalid-XML characters, non-ASCII, empty and nil values, every attribute type, empty ads
and arrays, columnar :class:`ShapedStruct` records), and valid against the reference schema.
Long answers are streamed in chunks; an error before the first byte is the usual answer,
one after it breaks the connection off.
"""
from __future__ import annotations

import copy
import http.client
import io
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from condor_soap.core.records import Attr, AttrType, Shape, ShapedStruct
from condor_soap.errors import CondorSoapError
from condor_soap.http.app import HttpService
from condor_soap.soap import ads_xml
from condor_soap.soap.application import CondorApplication, Cores
from condor_soap.soap.wsgi import SoapFace
from tests.conftest import serve_in_thread
from tests.soap.conftest import RecordingCore
from tests.soap.soap import SOAP_ENV, envelope, op

QUERIES = ["queryStartdAds", "queryScheddAds", "queryMasterAds", "querySubmittorAds", "queryLicenseAds",
           "queryStorageAds", "queryAnyAds"]
# operation -> (core method, whether it answers a list of ads)
OPERATIONS = {"getJobAds": ("get_job_ads", True), "getJobAd": ("get_job_ad", False),
              "createJobTemplate": ("create_job_template", False),
              **{name: ("query_ads", True) for name in QUERIES}}
TRICKY = ["&", "<", ">", "\r", "\n", "\t", "\r\n", "\x00", "\x01", "\x1f", "\x7f", "\x85", "\u2028", "\ufffe",
          "\uffff", "\ud800", "\udfff", "é", "€", "😀", "%", "%s", "%%", "]]>", '"', "'", "&amp;", " ", ""]
texts = st.lists(st.one_of(st.sampled_from(TRICKY), st.text(st.characters(exclude_categories=()), max_size=6)),
                 max_size=4).map("".join)
attrs = st.builds(Attr, st.one_of(st.none(), texts), st.sampled_from(list(AttrType)), st.one_of(st.none(), texts))


@st.composite
def shaped(draw: Any) -> ShapedStruct:
    """A columnar record: some items constant, the others filled per ad."""
    items = draw(st.lists(st.tuples(texts, st.sampled_from(list(AttrType)), st.one_of(st.none(), texts)),
                          max_size=6))
    values = [draw(texts) for _, _, constant in items if constant is None]
    return ShapedStruct(Shape(tuple(items)), values)


ads = st.one_of(st.lists(attrs, max_size=6), shaped())


class App:
    """One application (fast or generic) over ``core``, called as WSGI."""

    def __init__(self, core: RecordingCore, fast: bool) -> None:
        self.face = SoapFace(CondorApplication(Cores(schedd=core, collector=core, fast_answers=fast)))

    def __call__(self, operation: str, children: str = "") -> tuple[str, dict, bytes]:
        body = envelope(op(operation, children))
        environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": "text/xml; charset=utf-8",
                   "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body), "PATH_INFO": "/",
                   "QUERY_STRING": "", "SERVER_NAME": "localhost", "SERVER_PORT": "80", "wsgi.url_scheme": "http"}
        started: dict = {}

        def start_response(status: str, headers: list, exc_info: Any = None) -> None:
            started.update(status=status, headers=dict(headers))

        data = b"".join(self.face(environ, start_response))
        return started["status"], started["headers"], data


@pytest.fixture(scope="module")
def apps() -> tuple[RecordingCore, App, App]:
    core = RecordingCore()
    return core, App(core, fast=True), App(core, fast=False)


def answer_both(apps: tuple, operation: str, result: Any) -> tuple[bytes, bytes]:
    core, fast, generic = apps
    core.reset()
    core.returns[OPERATIONS[operation][0]] = result
    fast_answer, generic_answer = fast(operation), generic(operation)
    assert fast_answer[0] == generic_answer[0] == "200 OK"
    assert fast_answer[1]["Content-Type"] == generic_answer[1]["Content-Type"]
    return fast_answer[2], generic_answer[2]


def validate(data: bytes, operation: str, schema: etree.XMLSchema) -> etree._Element:
    wrapper = etree.fromstring(data).find(f"{{{SOAP_ENV}}}Body")[0]
    assert wrapper.tag == f"{{urn:condor}}{operation}Response"
    schema.assertValid(etree.ElementTree(copy.deepcopy(wrapper)))
    return wrapper


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(operation=st.sampled_from(sorted(OPERATIONS)), many=st.lists(ads, max_size=5))
def test_fast_answers_are_spynes_bytes(apps, reference_schema, operation, many):
    result = many if OPERATIONS[operation][1] else (many[0] if many else [])
    fast, generic = answer_both(apps, operation, result)
    assert fast == generic
    if not any(a.name is None or a.value is None for ad in many for a in ad):
        validate(fast, operation, reference_schema)  # (the reference schema has no nil name or value)


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_every_operation_with_every_type(apps, reference_schema, operation):
    ad = [Attr(f"A{kind.name}", kind, f"v <{kind.name}> & \r\x01 é") for kind in AttrType]
    ad.append(Attr("Empty", AttrType.STRING, ""))
    result = [ad, [], ShapedStruct(Shape(tuple((a.name, a.type, None) for a in ad)), [a.value for a in ad])]
    fast, generic = answer_both(apps, operation, result if OPERATIONS[operation][1] else ad)
    assert fast == generic
    wrapper = validate(fast, operation, reference_schema)
    assert "\ufffd" in etree.tostring(wrapper, encoding="unicode")  # \x01 is not XML: U+FFFD, in both
    nils = [Attr(None, AttrType.STRING, "nameless"), Attr("Nil", AttrType.EXPRESSION, None)]
    fast, generic = answer_both(apps, operation, [nils] if OPERATIONS[operation][1] else nils)
    assert fast == generic and b'xsi:nil="true"' in fast


@pytest.mark.parametrize("operation", ["getJobAds", "queryStartdAds"])
def test_empty_arrays(apps, operation):
    fast, generic = answer_both(apps, operation, [])
    assert fast == generic
    assert b"/>" in fast


def test_long_answers_stream_in_chunks_and_stay_identical(apps, reference_schema, monkeypatch):
    monkeypatch.setattr(ads_xml, "HEAD", 300)
    monkeypatch.setattr(ads_xml, "CHUNK", 200)
    core, fast, generic = apps
    many = [[Attr("Name", AttrType.STRING, f"job {n} <&>"), Attr("ProcId", AttrType.INTEGER, str(n))]
            for n in range(100)]
    core.reset()
    core.returns["get_job_ads"] = iter(many)
    answer = fast.face.__call__
    body = envelope(op("getJobAds"))
    environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": "text/xml", "CONTENT_LENGTH": str(len(body)),
               "wsgi.input": io.BytesIO(body), "PATH_INFO": "/", "QUERY_STRING": "", "SERVER_NAME": "x",
               "SERVER_PORT": "80", "wsgi.url_scheme": "http"}
    headers: dict = {}
    chunks = list(answer(environ, lambda status, h, exc=None: headers.update(h)))
    assert "Content-Length" not in headers  # chunked by the server
    assert len(chunks) > 10 and max(map(len, chunks)) < 2000
    core.returns["get_job_ads"] = many
    _, _, expected = generic("getJobAds")
    assert b"".join(chunks) == expected
    validate(expected, "getJobAds", reference_schema)


def test_a_nil_after_the_head_is_declared_locally(apps, monkeypatch):
    monkeypatch.setattr(ads_xml, "HEAD", 100)
    core, fast, _ = apps
    many = [[Attr("Name", AttrType.STRING, "x" * 50)] for _ in range(5)] + [[Attr("Late", AttrType.STRING, None)]]
    core.reset()
    core.returns["get_job_ads"] = many
    _, _, data = fast("getJobAds")
    assert b'<soap11env:Envelope xmlns:soap11env' in data  # no nil in the head: not declared there
    wrapper = etree.fromstring(data).find(f"{{{SOAP_ENV}}}Body")[0]
    late = wrapper.find("response/classAdArray")[-1].find("item/value")
    assert late.get(f"{{{ads_xml.XSI}}}nil") == "true"


def test_an_error_before_the_first_byte_is_a_fail_status(apps):
    core, fast, generic = apps

    def failing():
        raise CondorSoapError("Query matched too much")
        yield  # a generator, like the core's

    for app in (fast, generic):
        core.reset()
        core.returns["get_job_ads"] = failing()
        _, _, data = app("getJobAds")
        assert b"<code>FAIL</code><message>Query matched too much</message>" in data


class _Later:
    """Stands in for ScheddCore.get_job_ads: many ads, then a failure."""

    def __init__(self, count: int) -> None:
        self.count = count

    def __call__(self, *args: Any) -> Any:
        for n in range(self.count):
            yield [Attr("Padding", AttrType.STRING, "p" * 1000), Attr("N", AttrType.INTEGER, str(n))]
        raise CondorSoapError("the schedd went away")


def test_an_error_after_the_first_byte_breaks_the_connection_off(caplog):
    core = RecordingCore()
    core.get_job_ads = _Later(2000)  # ~2 MB: far past the head
    app = HttpService([SoapFace(CondorApplication(Cores(schedd=core, collector=core)))])
    with serve_in_thread(app) as url:
        host, port = url.split("//")[1].rstrip("/").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request("POST", "/", envelope(op("getJobAds")), {"Content-Type": "text/xml"})
        response = conn.getresponse()
        assert response.status == 200 and response.getheader("Transfer-Encoding") == "chunked"
        with pytest.raises(http.client.IncompleteRead) as broken:
            response.read()
        assert b"<code>SUCCESS</code>" in broken.value.partial
        assert b"</soap11env:Envelope>" not in broken.value.partial
        conn.close()
    assert any("broke off" in r.getMessage() for r in caplog.records)


def test_streamed_answer_over_http_is_whole(tmp_path):
    core = RecordingCore()
    many = [[Attr("N", AttrType.INTEGER, str(n)), Attr("S", AttrType.STRING, "é" * 200)] for n in range(3000)]
    core.returns["get_job_ads"] = many
    app = HttpService([SoapFace(CondorApplication(Cores(schedd=core, collector=core)))])
    generic = App(core, fast=False)
    with serve_in_thread(app) as url:
        host, port = url.split("//")[1].rstrip("/").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        for _ in range(2):  # the connection stays usable after a chunked answer
            conn.request("POST", "/", envelope(op("getJobAds")), {"Content-Type": "text/xml"})
            response = conn.getresponse()
            data = response.read()
            assert response.getheader("Transfer-Encoding") == "chunked"
            assert data == generic("getJobAds")[2]
        conn.close()


@pytest.mark.real_pool
def test_real_pool_ads_are_spynes_bytes(real_pool, tmp_path, reference_schema):
    # ads as the schedd and the collector give them (jobs held, never run, with values of
    # every kind): both paths over one core (fixed clock) answer getJobAds, getJobAd and
    # queryAnyAds alike
    import uuid

    import classad2
    import htcondor2

    from condor_soap.backends.htcondor import HTCondorBackend
    from condor_soap.config import Config
    from condor_soap.core.collector import CollectorCore
    from condor_soap.core.schedd import ScheddCore

    marker = f"ads-xml-{uuid.uuid4().hex}"
    constraint = f'AdsXmlTest == "{marker}"'
    backend = HTCondorBackend(Config(state_dir=str(tmp_path / "state"), backend="htcondor"))
    schedd_core = ScheddCore(Config(state_dir=str(tmp_path / "state")), backend, clock=lambda: 1000.0,
                             reap_interval=None)
    schedd = htcondor2.Schedd(htcondor2.Collector().locate(htcondor2.DaemonType.Schedd,
                                                           htcondor2.param.get("SCHEDD_HOST")))
    try:
        description = htcondor2.Submit({
            "executable": "/bin/true", "hold": "true", "requirements": "false",
            "MY.AdsXmlTest": f'"{marker}"', "MY.Text": '"a <b> & \\"c\\" é"', "MY.Real": "$(Process) * 0.1 + 1e20",
            "MY.Expr": "ifThenElse(JobStatus == 5, \"held\", 7)", "MY.List": '{ 1, "x" }'})
        schedd.submit(description, count=30)
        # the queue and the collector change under a test: both paths answer from one snapshot
        jobs, collected = backend.jobs(constraint), backend.query_ads(None, 'MyType == "Scheduler"')
        assert len(jobs) == 30 and collected
        copies = lambda ads: [classad2.ClassAd(repr(ad)) for ad in ads]  # noqa: E731
        backend.stream_jobs = lambda c: copies(jobs)
        backend.query_ads = lambda t, c: copies(collected)
        backend.job = lambda c, p: copies(jobs[:1])[0]
        apps = []
        for fast in (True, False):
            cores = Cores(schedd=schedd_core, collector=CollectorCore(backend), fast_answers=fast)
            apps.append(App.__new__(App))
            apps[-1].face = SoapFace(CondorApplication(cores))
        for operation, children in (("getJobAds", f"<constraint>{constraint}</constraint>"),
                                    ("queryAnyAds", "<constraint>MyType == \"Scheduler\"</constraint>")):
            fast_answer, generic_answer = (app(operation, children)[2] for app in apps)
            assert fast_answer == generic_answer
            validate(fast_answer, operation, reference_schema)
        assert fast_answer.count(b"<name>MyType</name>") >= 1
        ids = f"<clusterId>{jobs[0]['ClusterId']}</clusterId><jobId>{jobs[0]['ProcId']}</jobId>"
        fast_answer, generic_answer = (app("getJobAd", ids)[2] for app in apps)
        assert fast_answer == generic_answer and b"&lt;b&gt; &amp;" in fast_answer
    finally:
        for action in (htcondor2.JobAction.Remove, htcondor2.JobAction.RemoveX):
            schedd.act(action, constraint, ("test teardown", None))
        schedd_core.close()
        backend.close()
