"""examples/rest against the real service on both backends: the curl + jq script, and the
plain-JavaScript page in headless Chromium (Debian's chromium, installed by the fixture),
served from another origin allowed by cors_origins."""
from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from lxml import html

from tests.functional.service_process import ServiceProcess
from tests.rest.conftest import Rest

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "rest"


def apt_install(*packages: str) -> None:
    """Install Debian packages the tests need (root only: otherwise skip, naming them)."""
    missing = [p for p in packages if shutil.which(p) is None]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(f"needs {', '.join(missing)} (apt-get install as root)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True, timeout=600, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, capture_output=True, timeout=1200, env=env)


@pytest.fixture(scope="session")
def chromium() -> str:
    apt_install("chromium")
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def curl_jq() -> None:
    apt_install("curl", "jq")


@pytest.fixture(scope="module")
def page_origin() -> Iterator[str]:
    """examples/rest served over HTTP from its own origin (as a portal would)."""
    handler = functools.partial(QuietHandler, directory=str(EXAMPLES))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
        pass


@pytest.fixture(scope="module")
def cors_service(tmp_path_factory, service_settings, page_origin) -> Iterator[ServiceProcess]:
    args, env, owner, cleanup = service_settings
    proc = ServiceProcess(tmp_path_factory.mktemp("cors") / "state", *args, "--cors-origins", page_origin,
                          env=env, owner=owner)
    proc.start()
    yield proc
    proc.kill()
    cleanup(proc.state_dir)


def test_curl_jq_script(curl_jq, service):
    run = subprocess.run(["sh", str(EXAMPLES / "condor_rest.sh"), service.url], capture_output=True, text=True,
                         timeout=400)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "hello from curl" in out and "out.txt\t16 bytes" in out
    assert '"jobstatus":4' in out.replace(" ", "")  # the job in the history
    slots = out.split("== slots")[1].split("==")[0].strip().splitlines()[1:]
    assert slots and all(len(line.split("\t")) == 4 for line in slots)


def test_browser_page_lists_jobs_and_slots(chromium, cors_service, page_origin, tmp_path):
    rest = Rest(cors_service.url)
    tag = uuid.uuid4().hex
    made = rest.post("jobs/DEFAULT", json={"cmd": "/bin/sleep", "arguments": "600", "RestTag": tag, "hold": True})
    assert made.status_code == 201, made.text
    jobid = made.json()["jobids"][0]
    try:
        run = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=20000", "--dump-dom",
             f"{page_origin}/condor_status.html?service={cors_service.url}"],
            capture_output=True, text=True, timeout=180)
        assert run.returncode == 0, run.stderr[-2000:]
        page = html.fromstring(run.stdout)
        assert page.get_element_by_id("error").text_content() == ""
        jobs = {row[0].text_content(): [td.text_content() for td in row] for row in page.xpath('//table[@id="jobs"]/tbody/tr')}
        assert jobid in jobs and jobs[jobid][4].endswith("sleep")  # a real schedd keeps the name it spooled
        slots = [row[0].text_content() for row in page.xpath('//table[@id="slots"]/tbody/tr')]
        expected = [ad["name"] for ad in rest.json("status", params={"query": "startd"})]
        assert slots and sorted(slots) == sorted(expected)
    finally:
        rest.delete(f"jobs/DEFAULT/{jobid.replace('.', '/')}")
