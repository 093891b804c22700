"""declareFile / sendFile / getFile / listSpool, staging and the MD5 blob cache."""
from __future__ import annotations

import hashlib
import os
import random

import pytest

from condor_soap.core.journal import merge_range
from condor_soap.core.records import FileInfo, HashType
from condor_soap.core.staging import BlobCache
from condor_soap.errors import CondorSoapError, StatusCode
from tests.core.helpers import JOB

NO, MD5 = HashType.NOHASH, HashType.MD5HASH


@pytest.fixture
def job(core):
    """(txn, cluster, proc) of a fresh job in an open transaction."""
    txn = core.begin_transaction(60)
    c = core.new_cluster(txn)
    return txn, c, core.new_job(txn, c)


def code_and_message(call) -> tuple[StatusCode, str]:
    with pytest.raises(CondorSoapError) as info:
        call()
    return info.value.code, info.value.message


def test_chunks_at_arbitrary_offsets(core, fake, job):
    txn, c, p = job
    data = random.Random(7).randbytes(300_001)
    core.declare_file(txn, c, p, "blob.bin", len(data), NO, None)
    pieces = [(o, data[o:o + 65_536]) for o in range(0, len(data), 65_536)]
    random.Random(1).shuffle(pieces)
    for offset, chunk in pieces + pieces[:2]:  # out of order, with resends
        core.send_file(txn, c, p, "blob.bin", offset, chunk)
    assert core.list_spool(txn, c, p) == [FileInfo("blob.bin", len(data))]
    assert core.get_file(txn, c, p, "blob.bin", 299_990, 100) == data[299_990:]
    core.submit(txn, c, p, JOB)
    core.commit_transaction(txn)
    assert fake.read_spool(c, p, "blob.bin", 0, 10**6) == data
    assert core.get_file(None, c, p, "blob.bin", 5, 10) == data[5:15]
    assert core.list_spool(None, c, p) == [FileInfo("blob.bin", len(data))]


@pytest.mark.parametrize("name", ["", ".", "..", "../x", "a/b", "/etc/passwd", "a\\b", "..\\x", "nul\0l", None])
def test_traversal_and_bad_names_refused(core, job, name):
    txn, c, p = job
    code, message = code_and_message(lambda: core.declare_file(txn, c, p, name, 1, NO, None))
    assert code is StatusCode.FAIL and message.startswith("Invalid file name")
    assert code_and_message(lambda: core.get_file(None, c, p, name, 0, 1))[0] is StatusCode.FAIL
    assert os.listdir(core.staging.job_dir(txn.id, c, p)) == []


def test_send_file_errors(core, job):
    txn, c, p = job
    core.declare_file(txn, c, p, "f", 10, NO, None)
    assert code_and_message(lambda: core.send_file(txn, c, p, "f", -1, b"x")) == (
        StatusCode.FAIL, "Failed to lseek in file 'f', reason: Invalid argument")
    assert code_and_message(lambda: core.send_file(txn, c, p, "g", 0, b"x")) == (
        StatusCode.FAIL, "File 'g' has not been declared.")
    code, message = code_and_message(lambda: core.send_file(txn, c, p, "f", 8, b"xyz"))
    assert code is StatusCode.FAIL and "declared size of 10 bytes" in message
    assert core.list_spool(txn, c, p) == [FileInfo("f", 0)]  # nothing written
    core.send_file(txn, c, p, "f", 0, None)  # no data: success, nothing written


def test_unknown_job_for_files(core, job):
    txn, c, p = job
    assert code_and_message(lambda: core.declare_file(txn, c, p + 5, "f", 1, NO, None)) == (
        StatusCode.UNKNOWNJOB, "Unknown job")
    assert code_and_message(lambda: core.send_file(txn, c + 99, p, "f", 0, b"x")) == (
        StatusCode.UNKNOWNJOB, "Unknown job")


@pytest.mark.parametrize("sent, received", [(b"12345", 5), (b"", 0)], ids=["truncated", "nothing"])
def test_incomplete_upload_names_the_file(core, fake, job, sent, received):
    txn, c, p = job
    core.declare_file(txn, c, p, "part.dat", 10, NO, None)
    if sent:
        core.send_file(txn, c, p, "part.dat", 0, sent)
    core.submit(txn, c, p, JOB)
    code, message = code_and_message(lambda: core.commit_transaction(txn))
    assert code is StatusCode.INCOMPLETE and "'part.dat'" in message and f"{received} of 10" in message
    assert fake.batches == []
    core.send_file(txn, c, p, "part.dat", received, b"x" * (10 - received))  # still open: resend
    core.commit_transaction(txn)
    assert len(fake.read_spool(c, p, "part.dat", 0, 100)) == 10


def test_hole_in_upload_is_incomplete(core, job):
    txn, c, p = job
    core.declare_file(txn, c, p, "holes", 6, NO, None)
    core.send_file(txn, c, p, "holes", 0, b"ab")
    core.send_file(txn, c, p, "holes", 4, b"ef")  # the file is 6 bytes long, bytes 2-3 never came
    core.submit(txn, c, p, JOB)
    code, message = code_and_message(lambda: core.commit_transaction(txn))
    assert code is StatusCode.INCOMPLETE and "4 of 6" in message


def test_oversized_file_on_disk_is_incomplete(core, job):
    txn, c, p = job
    core.declare_file(txn, c, p, "grown", 3, NO, None)
    core.send_file(txn, c, p, "grown", 0, b"abc")
    with open(core.journal.file(txn.id, c, p, "grown").path, "ab") as f:
        f.write(b"more")  # the staged copy no longer has the declared size
    core.submit(txn, c, p, JOB)
    code, message = code_and_message(lambda: core.commit_transaction(txn))
    assert code is StatusCode.INCOMPLETE and "'grown'" in message and "7 bytes on disk" in message


def test_zero_byte_file_without_send_is_complete(core, fake, job):
    txn, c, p = job
    core.declare_file(txn, c, p, "empty.txt", 0, NO, None)
    core.submit(txn, c, p, JOB)
    core.commit_transaction(txn)
    assert fake.list_spool(c, p) == [FileInfo("empty.txt", 0)]
    assert fake.job(c, p)["TransferInputFiles"] == "empty.txt"


def test_wrong_md5_fails_and_stays_open(core, fake, job):
    txn, c, p = job
    data = b"the real content"
    core.declare_file(txn, c, p, "x.dat", len(data), MD5, hashlib.md5(b"other").hexdigest())
    core.send_file(txn, c, p, "x.dat", 0, data)
    core.submit(txn, c, p, JOB)
    code, message = code_and_message(lambda: core.commit_transaction(txn))
    assert code is StatusCode.FAIL and "'x.dat'" in message and "MD5" in message
    assert core.journal.txn(txn.id).state == "open" and fake.batches == []


def test_invalid_md5_declaration(core, job):
    txn, c, p = job
    for bad in (None, "xyz", "g" * 32):
        code, message = code_and_message(lambda: core.declare_file(txn, c, p, "x", 1, MD5, bad))
        assert code is StatusCode.FAIL and "MD5" in message


def test_md5_dedup_answers_already_exists_and_job_gets_the_bytes(core, fake):
    data = os.urandom(5000)
    digest = hashlib.md5(data).hexdigest()
    first = core.begin_transaction(60)
    c1 = core.new_cluster(first)
    p1 = core.new_job(first, c1)
    core.declare_file(first, c1, p1, "lib.so", len(data), MD5, digest.upper())
    core.send_file(first, c1, p1, "lib.so", 0, data)
    core.submit(first, c1, p1, JOB)
    core.commit_transaction(first)

    second = core.begin_transaction(60)
    c2 = core.new_cluster(second)
    p2 = core.new_job(second, c2)
    code, message = code_and_message(lambda: core.declare_file(second, c2, p2, "copy.so", len(data), MD5, digest))
    assert code is StatusCode.ALREADYEXISTS and "copy.so" in message
    # NOHASH never deduplicates: the client is expected to send (spec §6 row 4)
    core.declare_file(second, c2, p2, "plain.so", len(data), NO, None)
    core.send_file(second, c2, p2, "plain.so", 0, data)
    core.submit(second, c2, p2, JOB)
    core.commit_transaction(second)
    assert fake.read_spool(c2, p2, "copy.so", 0, 10**6) == data
    assert fake.job(c2, p2)["TransferInputFiles"] == "copy.so,plain.so"


def test_duplicate_declaration(core, job):
    txn, c, p = job
    core.declare_file(txn, c, p, "dup", 4, NO, None)
    core.send_file(txn, c, p, "dup", 0, b"abcd")
    assert code_and_message(lambda: core.declare_file(txn, c, p, "dup", 9, NO, None)) == (
        StatusCode.ALREADYEXISTS, "File 'dup' already declared.")
    assert core.journal.file(txn.id, c, p, "dup").size == 4  # the first declaration stays
    assert core.get_file(txn, c, p, "dup", 0, 10) == b"abcd"


def test_get_file_errors(core, fake, job):
    txn, c, p = job
    assert code_and_message(lambda: core.get_file(txn, c, p, "x", 0, -1)) == (StatusCode.FAIL, "LENGTH must be >= 0")
    code, message = code_and_message(lambda: core.get_file(txn, c, p, "x", 0, 0))  # length 0: still opened
    assert code is StatusCode.FAIL and message.startswith("Failed to open file 'x', reason:")
    code, message = code_and_message(lambda: core.get_file(None, 999, 0, "out.txt", 0, 10))
    assert code is StatusCode.FAIL and message.startswith("Failed to open file 'out.txt', reason:")
    assert "999.0" in message
    code, message = code_and_message(lambda: core.get_file(txn, c, p, "missing", 0, 10))
    assert code is StatusCode.FAIL and message.startswith("Failed to open file 'missing', reason:")
    code, message = code_and_message(lambda: core.list_spool(None, 999, 0))
    assert code is StatusCode.FAIL and "999.0" in message


def test_get_file_past_the_end_returns_real_bytes(core, fake, job):
    txn, c, p = job
    core.declare_file(txn, c, p, "out", 3, NO, None)
    core.send_file(txn, c, p, "out", 0, b"abc")
    core.submit(txn, c, p, JOB)
    core.commit_transaction(txn)
    assert core.get_file(None, c, p, "out", 1, 100) == b"bc"  # spec §6 row 9: no padding
    assert core.get_file(None, c, p, "out", 10, 5) == b""
    assert code_and_message(lambda: core.get_file(None, c, p, "nope", 0, 5))[1] == (
        "Failed to open file 'nope', reason: No such file or directory")


# units
def test_merge_range():
    r = merge_range((), 10, 20)
    r = merge_range(r, 0, 5)
    assert r == ((0, 5), (10, 20))
    assert merge_range(r, 5, 10) == ((0, 20),)
    assert merge_range(((0, 20),), 3, 7) == ((0, 20),)


def test_blob_cache_is_bounded_and_evicts_oldest(tmp_path):
    cache = BlobCache(str(tmp_path / "blobs"), max_bytes=10)
    src = tmp_path / "src"
    for n, content in enumerate((b"aaaa", b"bbbb", b"cccc")):
        src.write_bytes(content)
        cache.store(hashlib.md5(content).hexdigest(), 4, str(src))
        os.utime(os.path.join(cache.root, f"{hashlib.md5(content).hexdigest()}.4"), (n, n))
        cache._evict()
    names = os.listdir(cache.root)
    assert len(names) == 2 and f"{hashlib.md5(b'aaaa').hexdigest()}.4" not in names
    dest = tmp_path / "dest"
    assert cache.fetch(hashlib.md5(b"cccc").hexdigest(), 4, str(dest)) and dest.read_bytes() == b"cccc"
    assert not cache.fetch(hashlib.md5(b"aaaa").hexdigest(), 4, str(dest))
    off = BlobCache(str(tmp_path / "off"), max_bytes=0)
    off.store(hashlib.md5(b"cccc").hexdigest(), 4, str(src))
    assert not off.fetch(hashlib.md5(b"cccc").hexdigest(), 4, str(dest))
