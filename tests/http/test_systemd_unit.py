"""examples/systemd/condor-soap.service: systemd's own tools accept it with no warning, its
hardening scores as systemd rates it, and its command line starts a service that is ready.

``systemd-analyze`` comes with Debian's ``systemd`` package, installed here when missing
(CI is a fresh Debian root machine): nothing is started, only the tool is used.
"""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.conftest import apt_install
from tests.functional.service_process import ServiceProcess

UNIT = Path(__file__).resolve().parents[2] / "examples" / "systemd" / "condor-soap.service"
MAX_EXPOSURE = 3.0  # systemd-analyze security: 2.6 today ("OK" is below 4.5)


@pytest.fixture(scope="module")
def systemd_analyze() -> str:
    """The systemd-analyze binary, from Debian's systemd package (installed if missing)."""
    found = shutil.which("systemd-analyze")
    if not found:
        done = apt_install("systemd", "systemd-analyze")
        found = shutil.which("systemd-analyze")
        if not found:
            pytest.fail(f"could not install systemd-analyze from Debian: {done.stderr.strip()[-500:]}")
    return found


def directives() -> dict[str, list[str]]:
    """{key: [values]} of the unit, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", UNIT.read_text())
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def exec_start() -> list[str]:
    (line,) = directives()["ExecStart"]
    return shlex.split(line)


@pytest.fixture
def unit_here(tmp_path) -> Path:
    """The unit with its ExecStart binary replaced by this installation's condor-soap (the
    only edit: systemd-analyze checks that the binary exists)."""
    binary = Path(sys.executable).parent / "condor-soap"
    assert binary.exists(), f"the condor-soap console script is not installed beside {sys.executable}"
    copy = tmp_path / UNIT.name
    copy.write_text(UNIT.read_text().replace(exec_start()[0], str(binary)))
    return copy


def test_systemd_analyze_verify_is_clean(systemd_analyze, unit_here):
    done = subprocess.run([systemd_analyze, "verify", str(unit_here)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), done.stdout + done.stderr


def test_hardening_exposure(systemd_analyze, unit_here):
    done = subprocess.run([systemd_analyze, "security", "--offline=yes", "--no-pager", str(unit_here)],
                          capture_output=True, text=True, timeout=120)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout + done.stderr)
    assert match, done.stdout + done.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE, done.stdout


def test_what_the_issue_asks_of_the_unit():
    found = {key: values[-1] for key, values in directives().items()}
    argv = exec_start()
    state_dir = argv[argv.index("--state-dir") + 1]
    assert argv[1] == "serve" and found["Type"] == "simple" and found["Restart"] == "on-failure"
    assert (found["NoNewPrivileges"], found["ProtectSystem"], found["PrivateTmp"]) == ("yes", "strict", "yes")
    assert state_dir in found["ReadWritePaths"].split() and state_dir == "/var/lib/" + found["StateDirectory"]
    assert found["User"] not in ("root", "0") and found["KillMode"] == "mixed"


def test_its_command_line_serves(tmp_path):
    """The unit's own options (all but the port and state directory, which are the test's)
    start a service that is ready and logs JSON lines."""
    argv = [a for a in exec_start()[2:] if not a.startswith("$")]
    for option in ("--port", "--state-dir"):
        at = argv.index(option)
        del argv[at:at + 2]
    proc = ServiceProcess(tmp_path / "state", *argv)
    url = proc.start()
    try:
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(url + "readyz", timeout=30).json() == {"ready": True, "problems": []}
    finally:
        assert proc.stop() == 0
    assert proc.log().strip() and all(line.startswith("{") for line in proc.log().splitlines())
