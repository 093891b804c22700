"""Hostile file names, offsets, lengths and sizes in declareFile, sendFile and getFile: a FAIL
with a clear message, nothing written or read outside the job's own directory, no huge
allocation, and the service still serving (conftest)."""
from __future__ import annotations

import base64
import os
import resource
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from tests.hostile.conftest import b64

# Names a client can send (XML cannot carry NUL or most C0 controls: see test_nul_in_name).
BAD_NAMES = [
    pytest.param("../escape", id="dot-dot-slash"),
    pytest.param("../../../../../../tmp/escape", id="deep-dot-dot"),
    pytest.param("/tmp/escape-absolute", id="absolute"),
    pytest.param("sub/file", id="separator"),
    pytest.param("..", id="parent"),
    pytest.param(".", id="self"),
    pytest.param("", id="empty"),
    pytest.param("a\\b", id="backslash"),
    pytest.param("..\\..\\escape", id="windows-dot-dot"),
    pytest.param("C:\\escape", id="windows-drive"),
    pytest.param("\uff0e\uff0e", id="fullwidth-dot-dot"),
    pytest.param("\ufe52\ufe52", id="small-full-stop-dot-dot"),
    pytest.param("\uff0e", id="fullwidth-dot"),
    pytest.param("a\uff0fb", id="fullwidth-solidus"),
    pytest.param("a\uff3cb", id="fullwidth-backslash"),
    pytest.param("\u2024\u2024", id="one-dot-leader-twice"),
    pytest.param("x,y", id="comma-list-separator"),
    pytest.param("x,..", id="comma-dot-dot"),
    pytest.param(" ..", id="space-dot-dot"),
    pytest.param(".. ", id="dot-dot-space"),
    pytest.param(" lead", id="leading-space"),
    pytest.param("trail ", id="trailing-space"),
    pytest.param("a\nb", id="newline"),
    pytest.param("a\rb", id="carriage-return"),
    pytest.param("a\tb", id="tab"),
    pytest.param("a\x7fb", id="delete-char"),
    pytest.param("a\x85b", id="c1-next-line"),
    pytest.param("a\u2028b", id="line-separator"),
    pytest.param("\u202etxt.exe", id="right-to-left-override"),
    pytest.param("a\u200bb", id="zero-width-space"),
    pytest.param("x" * 256, id="too-long-256"),
    pytest.param("\u00e9" * 128, id="too-long-256-bytes-utf8"),
]


def _text(name: str) -> str:
    """``name`` as XML text, control characters as character references."""
    return "".join(f"&#{ord(c)};" if ord(c) < 32 else c for c in escape(name))


def declare(service, txn, cluster, proc, name, size=4, hash_type="NOHASH", hash_=""):
    return service.call("declareFile", f"{txn}<clusterId>{cluster}</clusterId><jobId>{proc}</jobId>"
                                       f"<name>{_text(name)}</name><size>{size}</size>"
                                       f"<hashType>{hash_type}</hashType><hash>{hash_}</hash>")


def send(service, txn, cluster, proc, name, offset, data: bytes):
    return service.call("sendFile", f"{txn}<clusterId>{cluster}</clusterId><jobId>{proc}</jobId>"
                                    f"<name>{_text(name)}</name><offset>{offset}</offset><data>{b64(data)}</data>")


def get(service, txn, cluster, proc, name, offset=0, length=100):
    return service.call("getFile", f"{txn}<clusterId>{cluster}</clusterId><jobId>{proc}</jobId>"
                                   f"<name>{_text(name)}</name><offset>{offset}</offset><length>{length}</length>")


def _all_files(root: str) -> set[str]:
    return {os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files}


def _escapes(service) -> list[str]:
    """Files named like an escape anywhere near the service's state directory or in /tmp."""
    roots = [Path(service.state_dir).parent.parent, Path("/tmp")]
    # os.walk, not glob: other processes create and delete directories in /tmp meanwhile
    return [os.path.join(d, f) for root in roots for d, dirs, files in os.walk(root)
            for f in files + dirs if f.startswith("escape") and "hostile" not in f]


@pytest.fixture
def job(service):
    txn, cluster, proc = service.job()
    yield txn, cluster, proc
    service.call("abortTransaction", txn)


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_name_is_refused_everywhere(service, job, name):
    txn, cluster, proc = job
    staged_before = _all_files(service.state_dir)
    code, message = declare(service, txn, cluster, proc, name).status
    assert code == "FAIL" and message.startswith("Invalid file name"), (code, message)
    code, message = send(service, txn, cluster, proc, name, 0, b"evil").status
    assert code == "FAIL", message
    for transaction in (txn, ""):  # inside the transaction (its own job) and outside it
        code, message = get(service, transaction, cluster, proc, name).status
        assert code == "FAIL" and message.startswith("Invalid file name"), (code, message)
    assert _all_files(service.state_dir) == staged_before
    assert _escapes(service) == []


@pytest.mark.parametrize("name", ["my file.txt", "\u00fcn\u00efc\u00f6d\u00e9.txt", "...", "..a", "a..", ".hidden",
                                  "x" * 255, "-rf", "$(touch escape)", "`id`", "*", "~root", "a'b\"c", "%2e%2e"])
def test_unusual_plain_name_stays_in_the_job_directory(service, job, name):
    txn, cluster, proc = job
    assert declare(service, txn, cluster, proc, name).status == ("SUCCESS", "Success") or \
        declare(service, txn, cluster, proc, name).status[0] == "ALREADYEXISTS"
    assert send(service, txn, cluster, proc, name, 0, b"data").status[0] == "SUCCESS"
    staged = [p for p in _all_files(os.path.join(service.state_dir, "staging")) if p.endswith(name)]
    assert len(staged) == 1 and staged[0].split(os.sep)[2:] == [name], staged
    reply = get(service, txn, cluster, proc, name)
    assert reply.status[0] == "SUCCESS" and base64.b64decode(reply.text("response/data")) == b"data"
    assert _escapes(service) == []


def test_nul_in_name_cannot_even_be_sent(service, job):
    """XML 1.0 has no NUL: the request is unreadable, a Fault."""
    txn, cluster, proc = job
    reply = service.raw(f'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/" xmlns:c="urn:condor">'
                        f'<e:Body><c:declareFile>{txn}<clusterId>{cluster}</clusterId><jobId>{proc}</jobId>'
                        f'<name>a&#0;b</name><size>1</size></c:declareFile></e:Body></e:Envelope>'.encode())
    assert reply.status_code == 500 and b"Fault" in reply.content


def test_traversal_names_never_read_outside_the_spool(service):
    """getFile of a committed job with traversal names never returns another file's bytes."""
    secret = Path(service.state_dir).parent / "secret-outside.txt"
    secret.write_text("OUTSIDE-SECRET")
    txn, cluster, proc = service.job()
    assert service.call("submit", f"{txn}<clusterId>{cluster}</clusterId><jobId>{proc}</jobId><jobAd>"
                                  "<item><name>Cmd</name><type>STRING-ATTR</type><value>/bin/true</value></item>"
                                  "<item><name>JobStatus</name><type>INTEGER-ATTR</type><value>5</value></item>"
                                  "</jobAd>").status[0] == "SUCCESS"
    assert service.call("commitTransaction", txn).status[0] == "SUCCESS"
    for name in ["../" * i + "secret-outside.txt" for i in range(1, 10)] + [
            str(secret), "/etc/passwd", "../../../../../../../../etc/passwd", "..", "."]:
        reply = get(service, "", cluster, proc, name, 0, 1 << 20)
        assert reply.status[0] == "FAIL", name
        assert b"OUTSIDE-SECRET" not in reply.xml and b"root:" not in reply.xml
    service.call("removeJob", f"<clusterId>{cluster}</clusterId><jobId>{proc}</jobId><reason>t</reason>"
                              "<forceRemoval>true</forceRemoval>")


def _peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def test_offsets_and_lengths(service, job):
    txn, cluster, proc = job
    assert declare(service, txn, cluster, proc, "f", size=10).status[0] == "SUCCESS"
    staged = [os.path.join(service.state_dir, "staging", p) for p in _all_files(os.path.join(service.state_dir, "staging"))
              if p.endswith(f"{cluster}.{proc}{os.sep}f")]
    assert len(staged) == 1
    # past the declared size: refused, nothing written (no sparse 2 GiB file)
    for offset in (2**31 - 1, 2**31 - 4, 10, 7):
        code, message = send(service, txn, cluster, proc, "f", offset, b"abcd").status
        assert code == "FAIL" and "declared size" in message, (offset, message)
    for offset in (-1, -(2**31)):
        code, message = send(service, txn, cluster, proc, "f", offset, b"abcd").status
        assert code == "FAIL" and "lseek" in message, (offset, message)
    assert os.stat(staged[0]).st_size == 0
    assert send(service, txn, cluster, proc, "f", 0, b"0123456789").status[0] == "SUCCESS"
    # out of xsd:int: unreadable, a Fault
    for field in ("<offset>2147483648</offset>", "<offset>-2147483649</offset>", "<offset>1e9</offset>",
                  "<offset>0x10</offset>"):
        reply = service.call("sendFile", f"{txn}<clusterId>{cluster}</clusterId><jobId>{proc}</jobId><name>f</name>"
                                         f"{field}<data>{b64(b'x')}</data>")
        assert reply.http_status == 500 and reply.fault[0].endswith("Client.ValidationError"), field
    # getFile: huge length reads only what exists, without a huge allocation
    before = _peak_kib()
    for offset, length, expected in ((0, 2**31 - 1, b"0123456789"), (5, 2**31 - 1, b"56789"),
                                     (2**31 - 1, 2**31 - 1, b""), (10, 1, b"")):
        reply = get(service, txn, cluster, proc, "f", offset, length)
        assert reply.status[0] == "SUCCESS", (offset, length, reply.status)
        assert base64.b64decode(reply.text("response/data") or "") == expected
    assert _peak_kib() - before < 200 * 1024, "getFile allocated its whole length"
    assert get(service, txn, cluster, proc, "f", 0, 0).status == ("SUCCESS", "Success")  # length 0: empty data
    for offset, length, words in ((0, -1, "LENGTH"), (-(2**31), -1, "LENGTH"), (-1, 10, "lseek"),
                                  (-(2**31), 1, "lseek")):
        code, message = get(service, txn, cluster, proc, "f", offset, length).status
        assert code == "FAIL" and words in message, (offset, length, message)


def test_huge_declared_sizes(service, job):
    txn, cluster, proc = job
    for size, name in ((2**31 - 1, "big31"), (2**31 - 2, "big31b")):
        code, message = declare(service, txn, cluster, proc, name, size=size).status
        assert code in ("SUCCESS", "FAIL"), message
        if code == "FAIL":
            assert "size" in message.lower() or "limit" in message.lower(), message
            continue
        # the last byte of a huge file: a sparse write, no memory or disk blowup
        assert send(service, txn, cluster, proc, name, size - 1, b"z").status[0] == "SUCCESS"
    for size, words in ((-1, "size"), (-(2**31), "size")):
        code, message = declare(service, txn, cluster, proc, f"neg{size}", size=size).status
        assert code == "FAIL" and words in message.lower(), message
    for size in (2**31, 2**63, -(2**31) - 1):  # the WSDL's size is an xsd:int: unreadable
        reply = declare(service, txn, cluster, proc, "over", size=size)
        assert reply.http_status == 500 and reply.fault[0].endswith("Client.ValidationError")
    staging = os.path.join(service.state_dir, "staging")
    used = sum(os.stat(os.path.join(staging, p)).st_blocks * 512 for p in _all_files(staging))
    assert used < 64 << 20
    # commit of a job with an incomplete huge file: INCOMPLETE, the transaction stays usable
    service.call("submit", f"{txn}<clusterId>{cluster}</clusterId><jobId>{proc}</jobId><jobAd/>")
    code, message = service.call("commitTransaction", txn).status
    assert code in ("INCOMPLETE", "FAIL"), message


def test_bad_md5_hash_values(service, job):
    txn, cluster, proc = job
    for i, value in enumerate(["", "zz" * 16, "0" * 31, "0" * 33, "../../etc/passwd", "0" * 31 + "\u0660"]):
        code, message = declare(service, txn, cluster, proc, f"h{i}", 4, "MD5HASH", escape(value)).status
        assert code == "FAIL" and "MD5" in message, (value, message)


def _vm_peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmPeak:"):
            return int(line.split()[1])
    raise AssertionError("no VmPeak")


@pytest.mark.parametrize("where", [
    pytest.param("committed", id="committed-spool"),
    pytest.param("transaction", id="staged-in-transaction"),
])
def test_get_file_huge_length_reserves_no_memory(tmp_path, where):
    """getFile length 2**31-1 on a 10-byte file must not reserve 2 GiB: measured on a service
    process of its own (VmPeak), where an RLIMIT_AS or strict overcommit would turn it into
    MemoryError."""
    from tests.functional.service_process import ServiceProcess
    from tests.hostile.conftest import Service

    process = ServiceProcess(tmp_path / "state")
    url = process.start()
    try:
        service = Service(url, None, str(tmp_path / "state"))
        txn, cluster, proc = service.job()
        assert declare(service, txn, cluster, proc, "f", size=10).status[0] == "SUCCESS"
        assert send(service, txn, cluster, proc, "f", 0, b"0123456789").status[0] == "SUCCESS"
        if where == "committed":
            assert service.call("submit", f"{txn}<clusterId>{cluster}</clusterId><jobId>{proc}</jobId><jobAd>"
                                          "<item><name>JobStatus</name><type>INTEGER-ATTR</type><value>5</value>"
                                          "</item></jobAd>").status[0] == "SUCCESS"
            assert service.call("commitTransaction", txn).status[0] == "SUCCESS"
            txn = ""
        before = _vm_peak_kib(process.proc.pid)
        reply = get(service, txn, cluster, proc, "f", 0, 2**31 - 1)
        assert reply.status[0] == "SUCCESS" and base64.b64decode(reply.text("response/data")) == b"0123456789"
        assert _vm_peak_kib(process.proc.pid) - before < 512 * 1024
    finally:
        process.stop()
