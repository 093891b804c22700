"""condor-soap q|submit|rm|hold|release|fetch|status as a user runs them: output like HTCondor's
tools, exit codes a script can use, errors in one line; on both backends."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from condor_soap.auth import credentials as cred
from tests.functional.service_process import ServiceProcess
from tests.polling import wait_for

pytestmark = pytest.mark.slow


def cli(*args: str, env: dict | None = None, cwd: Path | None = None, stdin: str | None = None):
    return subprocess.run([sys.executable, "-m", "condor_soap", *args], capture_output=True, text=True, timeout=180,
                          env={**os.environ, **(env or {})}, cwd=cwd, input=stdin)


@pytest.fixture()
def as_user(service, monkeypatch):
    """The environment a user sets once: the service URL and the jobs' owner."""
    monkeypatch.setenv("CONDOR_SOAP_URL", service.url)
    monkeypatch.setenv("CONDOR_SOAP_OWNER", service.owner)


def cluster_of(submitted: str) -> int:
    assert submitted.startswith("Submitting job(s).\n"), submitted
    return int(submitted.strip().rsplit(" ", 1)[1].rstrip("."))


def test_submit_watch_fetch_in_three_commands(as_user, tmp_path):
    (tmp_path / "hello.sh").write_text('#!/bin/sh\necho "hello $1" > greeting.txt\nwc -c < data.txt\n')
    (tmp_path / "data.txt").write_text("twelve bytes")
    (tmp_path / "job.sub").write_text("executable = hello.sh\narguments = world\n"
                                      "transfer_input_files = data.txt\noutput = out.txt\nqueue\n")
    submitted = cli("submit", str(tmp_path / "job.sub"), cwd=Path("/"))  # files are found beside job.sub
    assert submitted.returncode == 0, submitted.stderr
    cluster = cluster_of(submitted.stdout)
    assert submitted.stdout.endswith(f"1 job(s) submitted to cluster {cluster}.\n")

    table = cli("q", str(cluster))
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[1].startswith("-- Schedd: ") and lines[2].split() == \
        ["ID", "OWNER", "SUBMITTED", "RUN_TIME", "ST", "PRI", "SIZE", "CMD"]
    row = lines[3].split()
    assert row[0] == f"{cluster}.0" and row[-2:] == ["hello.sh", "world"]
    assert lines[-2:] == [lines[-2], ""] and lines[-2].startswith("Total for query: 1 jobs; ")

    wait_for(lambda: cli("q", str(cluster), "-af", "JobStatus").stdout.strip() == "4", 240, 1, "job completed")
    fetched = cli("fetch", f"{cluster}.0", str(tmp_path / "out"))
    assert fetched.returncode == 0, fetched.stderr
    names = sorted(Path(p).name for p in fetched.stdout.split())
    assert "greeting.txt" in names and "out.txt" in names and "data.txt" not in names
    assert (tmp_path / "out" / "greeting.txt").read_text() == "hello world\n"
    assert (tmp_path / "out" / "out.txt").read_text().strip() == "12"
    assert cli("fetch", f"{cluster}.0", str(tmp_path / "again"), "--file", "out.txt", "--close").returncode == 0


def test_q_formats(as_user, tmp_path):
    (tmp_path / "held.sub").write_text("executable = /bin/sleep\ntransfer_executable = false\narguments = 600\n"
                                       "hold = true\n+Flavour = \"mint\"\nqueue 2\n")
    cluster = cluster_of(cli("submit", str(tmp_path / "held.sub")).stdout)
    af = cli("q", str(cluster), "-af", "ProcId", "Flavour", "JobStatus", "NoSuchAttr")
    assert af.returncode == 0 and sorted(af.stdout.splitlines()) == ["0 mint 5 undefined", "1 mint 5 undefined"]
    as_json = json.loads(cli("q", f"{cluster}.1", "-json").stdout)
    assert len(as_json) == 1 and as_json[0]["ProcId"] == 1 and as_json[0]["Flavour"] == "mint"
    assert as_json[0]["WantRemoteIO"] is True and as_json[0]["LeaveJobInQueue"].startswith("/Expr(")
    long = cli("q", f"{cluster}.0", "-long").stdout
    assert f"ClusterId = {cluster}\n" in long and 'Flavour = "mint"\n' in long
    held = cli("q", "-constraint", f"ClusterId == {cluster} && ProcId == 1").stdout
    assert f"{cluster}.1" in held and f"{cluster}.0 " not in held
    assert "Total for query: 2 jobs; 0 completed, 0 removed, 0 idle, 0 running, 2 held, 0 suspended" in \
        cli("q", str(cluster)).stdout
    mine = cli("q", os.environ["CONDOR_SOAP_OWNER"], "-af", "ClusterId")
    assert mine.returncode == 0 and str(cluster) in mine.stdout.split(), (mine.stderr, mine.stdout[-2000:])
    assert "Total for query: 0 jobs" in cli("q", "-constraint", "false").stdout
    cli("rm", str(cluster))


def test_hold_release_rm(as_user, tmp_path):
    (tmp_path / "sleep.sub").write_text("executable = /bin/sleep\ntransfer_executable = false\narguments = 600\n"
                                        "hold = true\nqueue 3\n")
    cluster = cluster_of(cli("submit", str(tmp_path / "sleep.sub")).stdout)
    released = cli("release", f"{cluster}.0", f"{cluster}.1", "-reason", "go")
    assert released.returncode == 0 and released.stdout.splitlines() == [f"Job {cluster}.0 released",
                                                                         f"Job {cluster}.1 released"]
    wait_for(lambda: cli("q", f"{cluster}.0", "-af", "JobStatus").stdout.strip() in ("1", "2"), 60, 0.5, "released")
    held = cli("hold", "-constraint", f"ClusterId == {cluster} && ProcId == 0")
    assert held.returncode == 0 and held.stdout == f"Job {cluster}.0 held\n"
    again = cli("hold", f"{cluster}.2")  # already held: the service refuses, one line, exit 1
    assert again.returncode == 1 and again.stderr.count("\n") == 1
    assert again.stderr.startswith(f"condor-soap hold: job {cluster}.2: FAIL: ")
    removed = cli("rm", str(cluster))
    assert removed.returncode == 0 and removed.stdout == f"All jobs in cluster {cluster} have been marked for removal\n"
    wait_for(lambda: set(cli("q", str(cluster), "-af", "JobStatus").stdout.split()) <= {"3"}, 60, 0.5, "removed")
    assert cli("rm", "-forcex", str(cluster) + ".1").returncode == 0
    nothing = cli("rm", "-constraint", "ClusterId == -1")
    assert nothing.returncode == 1 and "no jobs match" in nothing.stderr
    usage = cli("rm")
    assert usage.returncode == 2 and usage.stderr.count("\n") == 1


def test_status(as_user):
    table = cli("status")
    assert table.returncode == 0, table.stderr
    assert table.stdout.split("\n", 1)[0].split()[:4] == ["Name", "OpSys", "Arch", "State"]
    assert "Total" in table.stdout
    names = cli("status", "-af", "Name").stdout.split()
    assert names and all("@" in n or n for n in names)
    schedds = json.loads(cli("status", "-schedd", "-json").stdout)
    assert schedds and all(ad["MyType"] == "Scheduler" for ad in schedds)


def test_bad_input_and_unreachable_service(as_user, tmp_path):
    (tmp_path / "bad.sub").write_text("executable = missing.sh\nqueue\n")
    bad = cli("submit", str(tmp_path / "bad.sub"))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "missing.sh" in bad.stderr
    assert cli("submit", str(tmp_path / "nope.sub")).returncode == 2
    (tmp_path / "warn.sub").write_text("executable = /bin/true\ntransfer_executable = false\nhold = true\n"
                                       "getenv = true\nqueue\n")
    warned = cli("submit", str(tmp_path / "warn.sub"))
    assert warned.returncode == 0 and "warning: submit command 'getenv'" in warned.stderr
    cli("rm", str(cluster_of(warned.stdout)))
    down = cli("q", "--url", "http://127.0.0.1:9/")
    assert down.returncode == 3 and down.stdout == "" and down.stderr.count("\n") == 1
    assert down.stderr.startswith("condor-soap q: getJobAds: ")
    unknown = cli("fetch", "999999.0", str(tmp_path))
    assert unknown.returncode == 1 and unknown.stderr.startswith("condor-soap fetch: FAIL: listSpool 999999.0: ")


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-guarded")
    cred.set_entry(str(root / "passwd"), "alice", cred.hash_password("alice-pw"))
    token = cred.new_token()
    cred.set_entry(str(root / "tokens"), "carol", cred.hash_token(token))
    proc = ServiceProcess(root / "state", "--allow-anonymous", "false", "--password-file", str(root / "passwd"),
                          "--token-file", str(root / "tokens"))
    yield proc.start(), token
    proc.kill()


def test_credentials_from_options_environment_and_config(guarded, tmp_path):
    url, token = guarded
    assert cli("q", "--url", url).returncode == 4  # 401, one line
    ok = cli("q", "--url", url, "--user", "alice", env={"CONDOR_SOAP_PASSWORD": "alice-pw"})
    assert ok.returncode == 0, ok.stderr
    wrong = cli("q", "--url", url, env={"CONDOR_SOAP_USER": "alice", "CONDOR_SOAP_PASSWORD": "nope"})
    assert wrong.returncode == 4 and "HTTP 401" in wrong.stderr and wrong.stderr.count("\n") == 1
    (tmp_path / "token").write_text(token + "\n")
    assert cli("q", "--url", url, "--token-file", str(tmp_path / "token")).returncode == 0
    assert cli("q", env={"CONDOR_SOAP_URL": url, "CONDOR_SOAP_TOKEN": token}).returncode == 0
    conf = tmp_path / "client.conf"
    conf.write_text(f"[client]\nurl = {url}\nuser = alice\npassword = alice-pw\n")
    conf.chmod(0o644)
    exposed = cli("q", "--config", str(conf))
    assert exposed.returncode == 2 and "chmod 600" in exposed.stderr
    conf.chmod(0o600)
    assert cli("q", "--config", str(conf)).returncode == 0
    assert cli("q", env={"CONDOR_SOAP_CONFIG": str(conf)}).returncode == 0
    # an option wins over the file: the wrong URL fails fast
    assert cli("q", "--config", str(conf), "--url", "http://127.0.0.1:9/").returncode == 3
