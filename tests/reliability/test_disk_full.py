"""The state directory's disk full, on a small filesystem made for the test (tmpfs, 16 MiB):
uploads and commits answer FAIL naming the cause, the journal stays consistent, the service
keeps serving, and the same transaction commits once space is freed (docs/reliability.rst)."""
from __future__ import annotations

import base64
import os
import sqlite3
import subprocess
import time

import pytest

from bench.workload import CallFailed, Client, Stats, job_ads
from tests.reliability.conftest import FIGURES, assert_alive, new_job

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def backend_name() -> str:
    return "local"  # the journal and staging are the core's, whatever the backend


@pytest.fixture()
def small_fs(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        for _ in range(50):  # processes of the stopped service may still be closing files
            if subprocess.run(["umount", str(mount)], capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        else:
            subprocess.run(["umount", "-l", str(mount)], check=True)


def _fill(path) -> int:
    """Write until the filesystem is full; returns the bytes written."""
    written = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            written += os.write(fd, b"\0" * 65536)
    except OSError:
        pass
    finally:
        os.close(fd)
    return written


def _stage(client: Client, size: int) -> tuple[str, str]:
    txn, cluster, proc = new_job(client.url())
    ids = f"<clusterId>{cluster}</clusterId><jobId>{proc}</jobId>"
    data = os.urandom(size)
    client.call("declareFile", f"{txn}{ids}<name>in.dat</name><size>{size}</size><hashType>NOHASH</hashType>")
    client.call("sendFile", f"{txn}{ids}<name>in.dat</name><offset>0</offset>"
                            f"<data>{base64.b64encode(data).decode()}</data>")
    ad = "<item><name>Cmd</name><type>STRING-ATTR</type><value>/bin/true</value></item>" \
         "<item><name>LeaveJobInQueue</name><type>BOOLEAN-ATTR</type><value>TRUE</value></item>"
    client.call("submit", f"{txn}{ids}<jobAd>{ad}</jobAd>")
    return txn, cluster


def test_disk_full(make_service, small_fs):
    svc = make_service()
    svc.state_dir = small_fs / "state"
    url = svc.start()
    client = Client(lambda: url, Stats())
    ready, ready_cluster = _stage(client, 100_000)  # staged before the disk fills
    txn, cluster, proc = new_job(url)  # and one with a declared file still to send
    ids = f"<clusterId>{cluster}</clusterId><jobId>{proc}</jobId>"
    client.call("declareFile", f"{txn}{ids}<name>big</name><size>{1 << 20}</size><hashType>NOHASH</hashType>")
    filler = small_fs / "filler"
    _fill(filler)
    answers = {}

    def attempt(name: str, body: str):
        try:
            response = client.call(name, body)
            answers[name] = "SUCCESS"
            return response
        except CallFailed as exc:
            answers[name] = str(exc)
            return None

    attempt("beginTransaction", "<duration>300</duration>")
    attempt("declareFile", f"{txn}{ids}<name>more</name><size>10</size><hashType>NOHASH</hashType>")
    attempt("sendFile", f"{txn}{ids}<name>big</name><offset>0</offset>"
                        f"<data>{base64.b64encode(os.urandom(1 << 20)).decode()}</data>")
    try:
        client.call("commitTransaction", ready)
        answers["commitTransaction"] = "SUCCESS"
    except CallFailed as exc:
        answers["commitTransaction"] = str(exc)
    failed = {k: v for k, v in answers.items() if v != "SUCCESS"}
    assert set(failed) == {"beginTransaction", "declareFile", "sendFile", "commitTransaction"}, answers
    for name, message in failed.items():
        assert "No space left" in message and "Internal error" not in message, (name, message)
    assert_alive(svc)
    db = sqlite3.connect(f"file:{svc.state_dir / 'journal.sqlite3'}?mode=ro", uri=True)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("SELECT state FROM txn WHERE id = ?", (int(ready.split("<id>")[1].split("<")[0]),)).fetchone() \
        == ("open",), "the refused commit left its transaction open"
    db.close()

    filler.unlink()  # space again: the same transaction commits, once
    client.call("commitTransaction", ready)
    jobs = job_ads(client.call("getJobAds", f"<constraint>ClusterId == {ready_cluster}</constraint>"))
    assert len(jobs) == 1
    txn, _ = _stage(client, 1000)
    client.call("commitTransaction", txn)
    FIGURES["disk full"] = {name: message.split(": ", 1)[-1].split(" in /")[0] for name, message in answers.items()}
    svc.stop()
