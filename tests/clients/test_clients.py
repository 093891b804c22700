"""Every client toolchain x (original WSDLs, served WSDLs): generate, compile, run the workflow.

The programs are the examples (examples/) and tests/clients/<toolchain>/; each one runs the
whole workflow against one condor-soap on the local backend and prints "OK" last.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.clients.matrix import RESULTS
from tests.clients.toolchains import REPO, TOOLCHAINS, WSDL_KINDS, Toolchain

pytestmark = [pytest.mark.clients, pytest.mark.slow]

REFERENCE = REPO / "tests" / "reference"


class StepFailed(AssertionError):
    """A generate/build/run step exited non-zero (or the program did not end with OK)."""


class ToolchainHang(AssertionError):
    """A step did not finish within its timeout."""


EXCEPTIONS = {"ToolchainHang": ToolchainHang, "StepFailed": StepFailed}


def run_step(command: str, work: Path, env: dict, timeout: float) -> subprocess.CompletedProcess:
    """``bash -eu -o pipefail -c command`` in its own process group, killed whole on timeout."""
    proc = subprocess.Popen(["bash", "-euo", "pipefail", "-c", command], cwd=work, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise ToolchainHang(f"did not finish in {timeout:.0f} s: {command}\n{tail(out)}\n{tail(err)}") from None
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def wsdl_locations(kind: str, url: str, work: Path) -> dict:
    """The WSDLs a client is built from: as given to generators, as local files, as URLs."""
    locations = {}
    for service in ("schedd", "collector"):
        name = f"condor{service.capitalize()}.wsdl"
        if kind == "reference":
            path = REFERENCE / name
            assert path.is_file(), f"reference WSDL missing: {path}"
            locations.update({service: str(path), f"{service}_file": str(path), f"{service}_url": path.as_uri()})
        else:
            path = work / "wsdl" / name
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(urllib.request.urlopen(url + name, timeout=30).read())
            locations.update({service: url + name, f"{service}_file": str(path), f"{service}_url": url + name})
    return locations


def params():
    for toolchain in TOOLCHAINS:
        for kind in WSDL_KINDS:
            marks = []
            if kind in toolchain.expected_failures:
                reason, raises = toolchain.expected_failures[kind]
                marks.append(pytest.mark.xfail(strict=True, raises=EXCEPTIONS[raises], reason=reason))
            yield pytest.param(toolchain.id, kind, id=f"{toolchain.id}-{kind}", marks=marks)


@pytest.mark.parametrize("toolchain,wsdl", list(params()))
def test_client(toolchain: str, wsdl: str, toolchains, condor_service, owner, no_leftover_jobs, tmp_path):
    chain: Toolchain = next(t for t in TOOLCHAINS if t.id == toolchain)
    work = tmp_path / "work"
    work.mkdir()
    fmt = dict(repo=REPO, work=work, url=condor_service.url, venv=toolchains.venv,
               node=toolchains.node, java="/usr/share/java", **wsdl_locations(wsdl, condor_service.url, work))
    user, password = condor_service.credentials
    env = dict(os.environ, CONDOR_SOAP_OWNER=owner, CONDOR_SOAP_USER=user, CONDOR_SOAP_PASSWORD=password)
    timings = RESULTS.setdefault((toolchain, wsdl), {"timings": {}})["timings"]
    for step in chain.steps:
        command = step.command.format(**fmt)
        start = time.monotonic()
        try:
            done = run_step(command, work, env, step.timeout)
        except ToolchainHang as hang:
            log = work / "gen.log"
            if chain.hang_evidence and chain.hang_evidence not in (log.read_text(errors="replace") if log.exists() else ""):
                raise StepFailed(f"{step.phase} hung without logging {chain.hang_evidence!r}: {hang}") from None
            raise
        finally:
            timings[step.phase] = timings.get(step.phase, 0.0) + time.monotonic() - start
        if done.returncode != 0:
            raise StepFailed(f"{step.phase} exited {done.returncode}: {last_line(done)}\n"
                             f"$ {command}\n--- stdout\n{tail(done.stdout)}\n--- stderr\n{tail(done.stderr)}")
        if step.phase == "run":
            lines = [line for line in done.stdout.splitlines() if line.strip()]
            if not lines or lines[-1].strip() != "OK":
                raise StepFailed(f"run did not end with OK: {last_line(done)}\n"
                                 f"--- stdout\n{tail(done.stdout)}\n--- stderr\n{tail(done.stderr)}")


def last_line(done: subprocess.CompletedProcess) -> str:
    for text in (done.stdout, done.stderr):
        lines = [line for line in text.splitlines() if line.strip()]
        failed = [line for line in lines if line.startswith("FAILED")]
        if failed:
            return failed[-1]
    lines = [line for line in (done.stderr + "\n" + done.stdout).splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"
