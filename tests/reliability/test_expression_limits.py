"""Client text that crashed or stalled the service, against the real service process on each
backend: every operation taking ClassAd text answers (FAIL naming the limit, or the
operation's empty answer) and the process stays alive and answering (docs/reliability.rst).

The texts are the shapes classad2 overflows its C stack on (measured on an 8 MiB stack):
parsing a chain of binary operators, selections or subscripts of ~175,000 levels (~87,000
for selections), printing one of ~31,000 levels. On ``main`` before the guard each of these
killed the process with SIGSEGV.
"""
from __future__ import annotations

import time

import pytest

from tests.functional.service_process import ServiceProcess
from tests.reliability.conftest import assert_alive, new_job, text, timed_call

DEEP_TEXTS = {
    # the report: a getJobAds constraint of 1.6 MB, a chain of "||"
    "reported-1.6MB-or-chain": " || ".join(["a"] * 320_000),
    # under max_expression_length, past the parser's stack (~175,000 levels)
    "parse-200k-levels": "a" + "||a" * 200_000,
    "select-100k-levels": "a" + ".b" * 100_000,
    "subscript-200k-levels": "a" + "[0]" * 200_000,
    # parses, but printing it (to store, show or send the ad) overflows (~31,000 levels)
    "print-40k-levels": "1" + "+1" * 40_000,
}
LIMIT = "(max_expression_"


def _item(name: str, value: str, kind: str = "EXPRESSION-ATTR") -> str:
    return f"<item><name>{name}</name><type>{kind}</type><value>{text(value)}</value></item>"


def _refused(reply, what: str) -> None:
    insert_ad = reply.answer.find("status")  # insertAd answers a bare Status named "status"
    code, message = (insert_ad.findtext("code"), insert_ad.findtext("message")) if insert_ad is not None \
        else reply.status
    assert code == "FAIL", reply.xml[:500]
    assert message.startswith(what) and LIMIT in message and ">" in message, message


@pytest.mark.parametrize("shape", sorted(DEEP_TEXTS))
def test_deep_constraints_are_refused(service, shape):
    constraint = DEEP_TEXTS[shape]
    reply, _ = timed_call(service.url, "getJobAds", f"<constraint>{text(constraint)}</constraint>")
    _refused(reply, "The constraint is too ")
    assert_alive(service)
    txn, _cluster, _proc = new_job(service.url)
    reply, _ = timed_call(service.url, "getJobAds", f"{txn}<constraint>{text(constraint)}</constraint>")
    _refused(reply, "The constraint is too ")
    timed_call(service.url, "abortTransaction", txn)
    for query in ("queryStartdAds", "queryScheddAds", "queryAnyAds"):
        reply, _ = timed_call(service.url, query, f"<constraint>{text(constraint)}</constraint>")
        # no Status on the wire: an empty answer, as for any failed collector query
        assert reply.http_status == 200 and not list(reply.answer.iter("item")), reply.xml[:300]
    assert_alive(service)


@pytest.mark.parametrize("shape", sorted(DEEP_TEXTS))
def test_deep_values_are_refused_by_every_operation(service, shape):
    value = DEEP_TEXTS[shape]
    txn, cluster, proc = new_job(service.url)
    ad = f"<jobAd>{_item('Cmd', '/bin/true', 'STRING-ATTR')}{_item('Deep', value)}</jobAd>"
    reply, _ = timed_call(service.url, "submit", f"{txn}<clusterId>{cluster}</clusterId><jobId>{proc}</jobId>{ad}")
    _refused(reply, "The value of Deep is too ")
    timed_call(service.url, "abortTransaction", txn)
    assert_alive(service)

    reply, _ = timed_call(service.url, "insertAd", f"<type>STARTD-AD-TYPE</type>"
                          f"<ad>{_item('Name', 'deep', 'STRING-ATTR')}{_item('Deep', value)}</ad>")
    _refused(reply, "The value of Deep is too ")
    reply, _ = timed_call(service.url, "createJobTemplate",
                          f"<clusterId>1</clusterId><jobId>0</jobId><owner>nobody</owner><type>VANILLA</type>"
                          f"<command>/bin/true</command><arguments></arguments>"
                          f"<requirements>{text(value)}</requirements>")
    _refused(reply, "The requirements expression is too ")
    reply, _ = timed_call(service.url, "discoverJobRequirements", f"<jobAd>{_item('Cmd', value)}</jobAd>")
    _refused(reply, "The value of Cmd is too ")
    assert_alive(service)


def test_limits_are_settings(make_service):
    """A lower max_expression_depth / max_expression_length is obeyed and named."""
    svc = make_service()
    svc.args = (*svc.args, "--max-expression-depth", "10", "--max-expression-length", "100")
    url = svc.start()
    reply, _ = timed_call(url, "getJobAds", f"<constraint>{text('a' + ' && a' * 11)}</constraint>")
    assert reply.status == ("FAIL", "The constraint is too deep: 11 levels > 10 (max_expression_depth)")
    reply, _ = timed_call(url, "getJobAds", f"<constraint>{text('a' + ' && a' * 9)}</constraint>")
    assert reply.status[0] == "SUCCESS"
    reply, _ = timed_call(url, "getJobAds", f"<constraint>{text('x' * 101)}</constraint>")
    assert reply.status == ("FAIL", "The constraint is too large: 101 characters > 100 (max_expression_length)")
    svc.stop()


# Evaluation holds the GIL and cannot be interrupted: each regexp below costs ~0.1 s (PCRE2's
# match limit) and every X<i> evaluates X<i-1> twice, so evaluating X30 takes ~3 years.
def _bomb(levels: int = 30) -> list[tuple[str, str]]:
    items = [("X0", 'regexp("(a+)+$", "' + "a" * 30 + '!")')]
    items += [(f"X{i}", f"X{i - 1} + X{i - 1}") for i in range(1, levels + 1)]
    return items


def test_client_expressions_are_not_evaluated_in_the_service(service, backend_name):
    """discoverJobRequirements, insertAd and a transaction's view of a job used to evaluate the
    client's expressions in the service process, freezing it for as long as they ran."""
    bomb = "".join(_item(name, value) for name, value in _bomb())
    reply, took = timed_call(service.url, "discoverJobRequirements",
                             f"<jobAd>{bomb}{_item('TransferInputFiles', 'X30')}{_item('Cmd', 'X30')}"
                             f"{_item('TransferExecutable', 'X30')}</jobAd>")
    assert reply.status[0] == "SUCCESS" and took < 10, (reply.xml[:300], took)
    if backend_name == "local":  # the htcondor backend forwards the ad: never a bomb to the shared collector
        reply, took = timed_call(service.url, "insertAd", f"<type>GENERIC-AD-TYPE</type><ad>"
                                 f"{_item('Name', 'bomb', 'STRING-ATTR')}{bomb}{_item('ClassAdLifetime', 'X30')}</ad>")
        assert took < 10, took
    txn, cluster, proc = new_job(service.url)
    ad = f"<jobAd>{_item('Cmd', '/bin/true', 'STRING-ATTR')}{bomb}{_item('JobStatus', 'X30')}</jobAd>"
    ids = f"<clusterId>{cluster}</clusterId><jobId>{proc}</jobId>"
    assert timed_call(service.url, "submit", f"{txn}{ids}{ad}")[0].status[0] == "SUCCESS"
    reply, took = timed_call(service.url, "holdJob", f"{txn}{ids}<reason>r</reason><email_user>false</email_user>"
                                                     "<email_admin>false</email_admin><system_hold>false</system_hold>")
    assert took < 10, took
    reply, took = timed_call(service.url, "getJobAd", f"{txn}{ids}")
    assert reply.status[0] == "SUCCESS" and took < 10, took
    timed_call(service.url, "abortTransaction", txn)
    assert_alive(service)


@pytest.mark.slow
def test_a_finished_job_whose_leave_expression_never_ends(tmp_path):
    """The local backend decides when a finished job leaves the queue by its LeaveJobInQueue
    (the htcondor backend leaves that to the schedd): judged in the constraint workers, a
    never-ending one keeps the job and the service serving."""
    svc = ServiceProcess(tmp_path / "state", "--backend", "local", "--constraint-time-limit", "2")
    try:
        url = svc.start()
        txn, cluster, proc = new_job(url)
        ids = f"<clusterId>{cluster}</clusterId><jobId>{proc}</jobId>"
        bomb = "".join(_item(name, value) for name, value in _bomb())
        ad = f"<jobAd>{_item('Cmd', '/bin/true', 'STRING-ATTR')}{bomb}{_item('LeaveJobInQueue', 'X30')}</jobAd>"
        assert timed_call(url, "submit", f"{txn}{ids}{ad}")[0].status[0] == "SUCCESS"
        assert timed_call(url, "commitTransaction", txn)[0].status[0] == "SUCCESS"
        deadline = time.monotonic() + 40
        slowest = 0.0
        while time.monotonic() < deadline and "stays in the queue" not in svc.log():
            slowest = max(slowest, timed_call(url, "getVersionString")[1])
            time.sleep(0.2)
        assert "stays in the queue" in svc.log(), svc.log()[-2000:]
        reply, took = timed_call(url, "getJobAd", ids)
        items = {i.findtext("name"): i.findtext("value") for i in reply.answer.iter("item")}
        assert items.get("JobStatus") == "4", items.get("JobStatus")  # completed, kept in the queue
        assert slowest < 5, f"a call took {slowest:.1f} s while the expression was judged"
        assert_alive(svc)
    finally:
        svc.kill()


def test_the_rest_face_is_guarded_too(service):
    """The REST face's constraints (queries, bulk actions) and JSON ads ("/Expr(...)/", which
    classad2's JSON reader parses) pass the same guard: 400 naming the limit."""
    import requests

    url = service.url + "v1/"
    deep = DEEP_TEXTS["print-40k-levels"]  # fits a query string (waitress caps headers at 256 KiB)
    answers = [requests.get(url + "jobs/DEFAULT", params={"constraint": deep}, timeout=30),
               requests.post(url + "jobs/DEFAULT/hold", json={"constraint": DEEP_TEXTS["parse-200k-levels"]},
                             timeout=30),
               requests.post(url + "jobs/DEFAULT", data='{"Cmd": "/bin/true", "Deep": "/Expr('
                             + DEEP_TEXTS["parse-200k-levels"] + ')/"}', timeout=30,
                             headers={"Content-Type": "application/json"})]
    for answer in answers:
        assert answer.status_code == 400 and LIMIT in answer.text, (answer.status_code, answer.text[:300])
    assert_alive(service)
