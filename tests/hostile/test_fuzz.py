"""Fuzzing the SOAP face with hypothesis, bounded in time.

Envelopes are generated from the service's own operations (the Spyne models that also write
the WSDL): valid structure with random values (edge integers, hostile strings, real open
transactions), and the same envelopes mutated at the byte level (XML tokens inserted,
slices dropped or repeated, bytes flipped). Every answer must be HTTP 200 with the
operation's answer or HTTP 500 with a SOAP Fault, parse as XML, never carry a traceback,
come within the request timeout, and leave the service answering getVersionString. Nothing
may be logged as an unexpected exception (``Internal error``, waitress' "Exception while
serving"), so a crash in the core is a finding even when it is answered FAIL.

Volume: ``HOSTILE_FUZZ_EXAMPLES`` per test (default 3000, ~20 s each on 2 cores) and a
wall-clock budget ``HOSTILE_FUZZ_SECONDS`` per test (default 25): past it the remaining
examples return at once. The count reached is printed in the terminal summary.
"""
from __future__ import annotations

import base64
import functools
import logging
import os
import time
from typing import Any, Iterator

import pytest
import requests
from lxml import etree

from condor_soap import Config, create_app
from condor_soap.app import build_backend
from condor_soap.soap.application import CondorApplication, Cores
from tests.conftest import serve_in_thread
from tests.hostile.conftest import Service
from tests.soap.soap import SOAP_ENV, TNS, envelope

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from spyne.model.binary import ByteArray  # noqa: E402
from spyne.model.complex import ComplexModelBase  # noqa: E402
from spyne.model.enum import EnumBase  # noqa: E402
from spyne.model.primitive import Boolean, Integer, Unicode  # noqa: E402

EXAMPLES = int(os.environ.get("HOSTILE_FUZZ_EXAMPLES", "3000"))
BUDGET = float(os.environ.get("HOSTILE_FUZZ_SECONDS", "25"))
REQUEST_TIMEOUT = 20

# The operations, from the application the service runs (not from a hand-written list).
_APP = CondorApplication(Cores(schedd=None, collector=None))
OPERATIONS = {d.name: list(d.in_message._type_info.items())
              for descriptors in _APP.interface.service_method_map.values() for d in descriptors}
STATUS_ONLY = {n for n in OPERATIONS if n.startswith("query")}  # bare ClassAdStructArray answers
# These must never see a real transaction: committing a fuzzed job would run it.
NO_REAL_TXN = {"commitTransaction"}

HOSTILE_TEXT = ['x"; Injected = 1; y="', "\\", "]", "[", ";", "../../etc/passwd", "..", ".", "/", "a,..",
                " ..", "\uff0e\uff0e", "$(x)", "TRUE", "undefined", "1; __e = 1", "a\nb", "\r", "\t",
                "\u202e", "\U0001f600", "&amp;", "<x/>", "]]>", "%00", "0" * 32, "ClusterId == 1",
                "regexp(\"(a+)+$\", \"aaaaaaaaaaaaaaaaaaaa!\")", "(" * 300 + "1" + ")" * 300, "x" * 5000]
EDGE_INTS = [0, 1, -1, 2, 2**31 - 1, -(2**31), 2**31 - 2, 1 << 20, 100000]
# characters XML 1.0 can carry (as references for the controls it allows)
XML_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufffe\uffff",
                          max_codepoint=0x10FFFF).filter(lambda c: ord(c) >= 32 or c in "\t\n\r")


def _xml_text(text: str) -> str:
    return "".join(f"&#{ord(c)};" if ord(c) < 32 else c for c in
                   text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def _real_id(value: int) -> str:
    """A real id at a fixed width (leading zeros are valid xsd:int): the envelope's length,
    and so every later draw, must not depend on which transaction is live (hypothesis
    replays choices and calls a generator that depends on outside state flaky)."""
    return f"{value:010d}"


def _orig(cls: Any) -> Any:
    return getattr(cls, "__orig__", None) or cls


@st.composite
def value_xml(draw, cls: Any, real: dict, depth: int = 0) -> str:
    """Children text of one element of Spyne type ``cls``."""
    base = _orig(cls)
    if issubclass(base, ComplexModelBase):
        parts = []
        for name, child in base._type_info.items():
            if name == "id" and real.get("txn") is not None and draw(st.integers(0, 2)) > 0:
                parts.append(f"<id>{_real_id(real['txn'])}</id>")
                continue
            count = 1 if child.Attributes.max_occurs == 1 else draw(st.integers(0, 6))
            for _ in range(count):
                choice = draw(st.integers(0, 19))
                if choice == 0:
                    continue  # omitted
                if choice == 1:
                    parts.append(f'<{name} xsi:nil="true"/>')
                    continue
                parts.append(f"<{name}>{draw(value_xml(child, real, depth + 1))}</{name}>")
        return "".join(parts)
    unreadable = draw(st.integers(0, 39)) == 0  # now and then a value gSOAP could not read
    if issubclass(base, Boolean):
        return draw(st.sampled_from(["yes", "2", "tru"] if unreadable else ["true", "false", "1", "0", " true ", ""]))
    if issubclass(base, EnumBase):
        literals = sorted(base.decode) if hasattr(base, "decode") else ["x"]
        return draw(st.sampled_from(["99", "-1", "x", "NOHASH-"] if unreadable else literals + [""]))
    if issubclass(base, Integer):
        if unreadable:
            return draw(st.sampled_from([str(2**31), str(-(2**31) - 1), "1e3", "0x1", "abc", "1.0"]))
        ids = [_real_id(v) for v in (real.get("cluster"), real.get("proc"), real.get("txn")) if v is not None]
        return draw(st.one_of(st.sampled_from([str(v) for v in EDGE_INTS] + ids),
                              st.integers(-(2**31), 2**31 - 1).map(str)))
    if issubclass(base, ByteArray):
        if unreadable:
            return draw(st.sampled_from(["a!!", "====", "Y", "\u00e9"]))
        return draw(st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode()))
    if issubclass(base, Unicode):
        return _xml_text(draw(st.one_of(st.text(XML_CHARS, max_size=40), st.sampled_from(HOSTILE_TEXT),
                                        st.sampled_from(["Cmd", "Owner", "In", "Iwd", "f", "JobStatus"]))))
    return draw(st.text(XML_CHARS, max_size=10).map(_xml_text))


@st.composite
def operation_envelope(draw, real: dict) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(OPERATIONS)))
    context = dict(real) if name not in NO_REAL_TXN else {}
    children = "".join(f"<{arg}>{draw(value_xml(cls, context))}</{arg}>" for arg, cls in OPERATIONS[name]
                       if draw(st.integers(0, 9)) > 0)
    return name, envelope(f"<c:{name}>{children}</c:{name}>")


XML_TOKENS = [b"<", b">", b"</", b"/>", b"&", b"&amp;", b"&#0;", b"&#xD800;", b"<![CDATA[", b"]]>", b"<!--", b"-->",
              b'"', b"'", b" xmlns:x='urn:x'", b" xmlns=''", b"\x00", b"\xff", b"\xc3", b"<?xml version='1.0'?>",
              b"<!DOCTYPE x [<!ENTITY a 'bbbb'>]>", b"&a;", b" href='#x'", b" id='x'", b" xsi:nil='true'",
              b" xsi:type='xsd:int'", b"<soapenv:Body>", b"</soapenv:Body>", b"<c:getVersionString/>",
              b"<soapenv:Fault/>", b"\n", b" " * 100, b"<a>" * 120]


@st.composite
def mutated_envelope(draw, real: dict) -> tuple[str, bytes]:
    name, body = draw(operation_envelope(real))
    data = bytearray(body)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.integers(0, 4))
        at = draw(st.integers(0, len(data)))
        if kind == 0:
            data[at:at] = draw(st.sampled_from(XML_TOKENS))
        elif kind == 1:
            data[at:at + draw(st.integers(1, 40))] = b""
        elif kind == 2 and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif kind == 3:
            end = min(len(data), at + draw(st.integers(1, 60)))
            data[at:at] = data[at:end] * draw(st.integers(1, 3))
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
    return name, bytes(data)


class ErrorLog(logging.Handler):
    """Records unexpected exceptions logged anywhere in the process while fuzzing."""

    WATCHED = ("waitress", "condor_soap.soap.application", "condor_soap.soap.protocol")

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(self.WATCHED) and record.exc_info:
            self.records.append(f"{record.name}: {record.getMessage()}: {record.exc_info[1]!r}")


@pytest.fixture(scope="module")
def fuzz_service(tmp_path_factory) -> Iterator[tuple[Service, dict, ErrorLog]]:
    """A service of its own (fuzzing leaves transactions and ads behind), a real open
    transaction with one job for the generators, and the error log watcher."""
    state = str(tmp_path_factory.mktemp("fuzz") / "state")
    config = Config(state_dir=state)
    backend = build_backend(config)
    app = create_app(config, backend)
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    try:
        with serve_in_thread(app) as url:
            service = Service(url, backend, state)
            yield service, _new_job(service), errors
    finally:
        logging.getLogger().removeHandler(errors)
        app.close()


STATS: dict[str, dict[str, int]] = {}


def _check(service: Service, errors: ErrorLog, name: str, body: bytes, stats: dict[str, int]) -> None:
    started = time.monotonic()
    response = requests.post(service.url, data=body, timeout=REQUEST_TIMEOUT,
                             headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
    stats["examples"] = stats.get("examples", 0) + 1
    assert b"Traceback" not in response.content and b"generated by waitress" not in response.content, response.content
    root = etree.fromstring(response.content)  # the answer is XML, whatever the request
    assert root.tag == f"{{{SOAP_ENV}}}Envelope"
    answer = root.find(f"{{{SOAP_ENV}}}Body")[0]
    if response.status_code == 500:
        assert answer.tag == f"{{{SOAP_ENV}}}Fault"
        assert answer.findtext("faultcode") and answer.findtext("faultstring")
        stats["fault"] = stats.get("fault", 0) + 1
    else:
        assert response.status_code == 200, response.content[:300]
        assert answer.tag.startswith(f"{{{TNS}}}") and answer.tag.endswith("Response"), answer.tag
        if name not in STATUS_ONLY and answer.tag == f"{{{TNS}}}{name}Response":
            code = (answer.find("response/status/code") if answer.find("response/status") is not None
                    else answer.find("response/code"))
            if code is None:
                code = answer.find("status/code")  # insertAd
            assert code is not None and code.text, etree.tostring(answer)[:300]
            stats[code.text] = stats.get(code.text, 0) + 1
    assert time.monotonic() - started < REQUEST_TIMEOUT
    assert not errors.records, errors.records
    # still serving
    version = requests.post(service.url, data=envelope("<c:getVersionString/>"), timeout=REQUEST_TIMEOUT)
    assert version.status_code == 200 and b"<code>SUCCESS</code>" in version.content


def _renew(service: Service, real: dict) -> None:
    txn = f"<transaction><id>{real['txn']}</id><duration>300</duration></transaction>"
    if service.call("extendTransaction", f"{txn}<duration>300</duration>").status[0] != "SUCCESS":
        real.update(_new_job(service))


def _new_job(service: Service) -> dict:
    txn, cluster, proc = service.job()
    return {"txn": int(etree.fromstring(f"<t>{txn}</t>").findtext("transaction/id")), "cluster": cluster, "proc": proc}


def _fuzz(strategy_factory, label: str):
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def run(fuzz_service, data):
        service, real, errors = fuzz_service
        stats = STATS.setdefault(label, {})
        stats.setdefault("started", int(time.monotonic()))
        name, body = data.draw(strategy_factory(real), label="envelope")
        # Past the budget, examples return at once; never while hypothesis shrinks a failure
        # (skipping then would make the failure look flaky).
        if time.monotonic() - stats["started"] > BUDGET and not stats.get("failures"):
            stats["skipped (time budget)"] = stats.get("skipped (time budget)", 0) + 1
            return
        if stats.get("examples", 0) % 100 == 99:  # keep a live transaction for the generators
            _renew(service, real)
        try:
            _check(service, errors, name, body, stats)
        except BaseException:
            stats["failures"] = stats.get("failures", 0) + 1
            errors.records.clear()
            raise
    return run


test_fuzz_structured_envelopes = _fuzz(operation_envelope, "structured")
test_fuzz_mutated_envelopes = _fuzz(mutated_envelope, "mutated")


def test_every_operation_is_fuzzed():
    """The generator covers every operation of both WSDLs (31)."""
    assert len(OPERATIONS) == 31 and {"submit", "insertAd", "sendFile", "queryAnyAds"} <= set(OPERATIONS)


def _drawn(generator, real: dict) -> list[tuple[str, int]]:
    """(operation, length) of the envelopes a derandomized run draws with these live ids."""
    seen: list[tuple[str, int]] = []

    @settings(derandomize=True, database=None, max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def collect(data):
        name, body = data.draw(generator(real))
        seen.append((name, len(body)))

    collect()
    return seen


@pytest.mark.parametrize("generator", [operation_envelope, mutated_envelope], ids=["structured", "mutated"])
def test_what_is_drawn_does_not_depend_on_which_ids_are_live(generator):
    """The fuzz renews its transaction when a fuzzed call ends it; hypothesis replays recorded
    choices, so the same choices with other live ids must draw the same shapes (else it
    stops with FlakyStrategyDefinition, as CI once did)."""
    short = _drawn(generator, {"txn": 7, "cluster": 1, "proc": 0})
    long = _drawn(generator, {"txn": 1_234_567_890, "cluster": 100_000, "proc": 12})
    assert len(short) == 60 and short == long


def test_fixed_width_ids_reach_the_live_transaction(fuzz_service):
    """Zero-padded ids name the same transaction and job as plain ones (so the fuzz still
    reaches live state), and a padded wrong id does not."""
    service, real, _ = fuzz_service

    def calls(ident) -> list[tuple[str, str]]:
        txn = f"<transaction><id>{ident(real['txn'])}</id><duration>300</duration></transaction>"
        job = f"{txn}<clusterId>{ident(real['cluster'])}</clusterId><jobId>{ident(real['proc'])}</jobId>"
        return [service.call("extendTransaction", f"{txn}<duration>300</duration>").status,
                service.call("listSpool", job).status]

    plain = calls(str)
    assert plain[0][0] == "SUCCESS" and calls(_real_id) == plain
    assert calls(lambda v: _real_id(v + 1))[0][0] != "SUCCESS"


# Large and deep ClassAd text (docs/reliability.rst): megabytes, tens of thousands of levels,
# sent to every operation that reads ClassAd text, against the real service process on each
# backend (a crash there is a failed assertion, not the end of the test run).
BINARY_OPS = ["||", "&&", "==", "!=", "=?=", "=!=", " is ", " isnt ", "<", ">=", "+", "-", "*", "/", "%", "&", "|",
              "^", "<<", ">>>", "."]
LEVELS = [100, 1_000, 2_000, 2_001, 30_000, 100_000, 200_000]


def _build_large(kind: int, levels: int, leaf: str, ops: tuple, pair: tuple, extra: str) -> str:
    if kind == 0:  # a chain of one operator, or of a mix of them
        return leaf + "".join(ops[i % len(ops)] + leaf for i in range(levels))
    if kind == 1:  # nested brackets, calls, records
        return pair[0] * levels + leaf + pair[1] * levels
    if kind == 2:  # subscripts and unary operators
        return {"[": leaf + "[0]" * levels, "-": "-" * levels + "1"}.get(extra, "!" * levels + "a")
    if kind == 3:  # megabytes of one literal
        return '"' + "x" * ((1 << 20) if extra == "1" else (3 << 20)) + '"'
    if kind == 4:  # wide and shallow: a long list
        return "{" + ",".join([leaf] * levels) + "}"
    if kind == 5:  # deep groups chained: a chain whose every operand is nested
        return " || ".join(["((" + leaf + "))"] * levels)
    return extra * (levels // 10 + 1)


@st.composite
def large_text(draw):
    """A recipe for large or deep text (built only when the example runs: megabytes)."""
    return functools.partial(
        _build_large, draw(st.integers(0, 6)), draw(st.sampled_from(LEVELS)),
        draw(st.sampled_from(["a", "1", "ClusterId", '"s"', "true", "x.y"])),
        tuple(draw(st.lists(st.sampled_from(BINARY_OPS), min_size=1, max_size=8))),
        draw(st.sampled_from([("(", ")"), ("{", "}"), ("[a=", "]"), ("size(", ")"), ("{1,", "}")])),
        draw(st.one_of(st.sampled_from(["[", "-", "!", "1", "3"]), st.text(XML_CHARS, min_size=1, max_size=20))))


def _large_envelope(name: str, value: str, job: str = "") -> bytes:
    """``job``: ``<transaction>...<clusterId>..<jobId>..`` of a fresh job, for submit and holdJob."""
    v = _xml_text(value)
    expr = f"<item><name>Big</name><type>EXPRESSION-ATTR</type><value>{v}</value></item>"
    named = "<item><name>Name</name><type>STRING-ATTR</type><value>big</value></item>"
    bodies = {
        "getJobAds": f"<constraint>{v}</constraint>",
        "queryAnyAds": f"<constraint>{v}</constraint>",
        "queryStartdAds": f"<constraint>{v}</constraint>",
        "insertAd": f"<type>GENERIC-AD-TYPE</type><ad>{named}{expr}</ad>",
        "createJobTemplate": "<clusterId>1</clusterId><jobId>0</jobId><owner>nobody</owner><type>VANILLA</type>"
                             f"<command>/bin/true</command><arguments>a</arguments><requirements>{v}</requirements>",
        "discoverJobRequirements": f"<jobAd>{expr}<item><name>TransferInputFiles</name><type>EXPRESSION-ATTR</type>"
                                   f"<value>{v}</value></item></jobAd>",
        "submit": f"{job}<jobAd>{expr}</jobAd>",
        "holdJob": f"{job}<reason>&quot;{v}&quot;</reason><email_user>false</email_user>"
                   "<email_admin>false</email_admin><system_hold>false</system_hold>",
    }
    return envelope(f"<c:{name}>{bodies[name]}</c:{name}>")


@pytest.fixture(scope="module", params=["local", pytest.param("htcondor", marks=pytest.mark.real_pool)])
def large_text_service(request, tmp_path_factory):
    from tests.functional.service_process import ServiceProcess

    env, cleanup = {}, (lambda state: None)
    if request.param == "htcondor":
        pool = request.getfixturevalue("real_pool")
        env, cleanup = {"CONDOR_CONFIG": pool.condor_config}, pool.remove_jobs_under
    svc = ServiceProcess(tmp_path_factory.mktemp("large") / "state", "--backend", request.param, env=env)
    svc.start()
    yield svc
    svc.kill()
    cleanup(svc.state_dir)


# each example sends up to 3 MiB: ~600 fit the time budget on an idle machine
@settings(max_examples=min(EXAMPLES, 600), deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzz_large_and_deep_text(large_text_service, data):
    """Every answer comes in time, is the operation's answer (FAIL naming the limit when past
    it), and the process lives on."""
    svc = large_text_service
    stats = STATS.setdefault(f"large text ({svc.args[-1]})", {})
    stats.setdefault("started", int(time.monotonic()))
    name = data.draw(st.sampled_from(["getJobAds", "queryAnyAds", "queryStartdAds", "insertAd", "createJobTemplate",
                                      "discoverJobRequirements", "submit", "holdJob"]), label="operation")
    recipe = data.draw(large_text(), label="text")
    if time.monotonic() - stats["started"] > BUDGET and not stats.get("failures"):
        stats["skipped (time budget)"] = stats.get("skipped (time budget)", 0) + 1
        return
    value = recipe()
    try:
        job = ""
        if name in ("submit", "holdJob"):
            txn, cluster, proc = Service(svc.url, None, "").job()
            job = f"{txn}<clusterId>{cluster}</clusterId><jobId>{proc}</jobId>"
        response = requests.post(svc.url, data=_large_envelope(name, value, job), timeout=60,
                                 headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
        stats["examples"] = stats.get("examples", 0) + 1
        assert response.status_code == 200, response.content[:300]
        answer = etree.fromstring(response.content).find(f"{{{SOAP_ENV}}}Body")[0]
        assert answer.tag == f"{{{TNS}}}{name}Response", answer.tag
        message = answer.findtext(".//message") or ""
        assert "Internal error" not in message, message
        if "too large" in message or "too deep" in message:
            assert "(max_expression_" in message, message
            stats["refused"] = stats.get("refused", 0) + 1
        assert svc.proc.poll() is None, f"the service died:\n{svc.log()[-2000:]}"
        version = requests.post(svc.url, data=envelope("<c:getVersionString/>"), timeout=REQUEST_TIMEOUT)
        assert b"<code>SUCCESS</code>" in version.content
    except BaseException:
        stats["failures"] = stats.get("failures", 0) + 1
        raise
    assert "Traceback" not in svc.log(), svc.log()[-3000:]
