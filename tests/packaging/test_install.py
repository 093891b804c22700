"""A user's install: the wheel and the sdist built from this tree, each installed with pip into a
fresh virtual environment, give a working ``condor-soap serve`` and ``condor-soap wsdl``, and
the Python client and ``condor-soap q`` against that service (the client tutorial's program).

The build runs on a copy of the tracked files, so the checkout gets no ``build/`` or
``*.egg-info`` of it; the commands run outside the tree with no ``PYTHONPATH``, so only the
installed package can answer.
"""
from __future__ import annotations

import email
import os
import re
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
#: The Pythons the suite runs on: this host's, and 3.13 in tests/pool/py313.sh.
TESTED_PYTHONS = {f"{sys.version_info.major}.{sys.version_info.minor}", "3.13"}
VERSION_CALL = (b'<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
                b'<s:Body><getVersionString xmlns="urn:condor"/></s:Body></s:Envelope>')

pytestmark = pytest.mark.slow


def _clean_env() -> dict:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The sdist, and the wheel built from it (``python -m build``), of the tracked files."""
    base = tmp_path_factory.mktemp("packaging")
    tree = base / "tree"
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        if (REPO / name).is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, tree / name)
    out = base / "dist"
    built = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(tree)],
                           capture_output=True, text=True, timeout=600, env=_clean_env())
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return out


def _artifact(dist: Path, kind: str) -> Path:
    (found,) = dist.glob("*.whl" if kind == "wheel" else "*.tar.gz")
    return found


def test_metadata_claims_the_tested_pythons(dist):
    with zipfile.ZipFile(_artifact(dist, "wheel")) as wheel:
        name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_bytes(wheel.read(name))
    claimed = {m.group(1) for c in meta.get_all("Classifier")
               if (m := re.fullmatch(r"Programming Language :: Python :: (3\.\d+)", c))}
    assert claimed == TESTED_PYTHONS
    assert set(meta["Requires-Python"].replace(" ", "").split(",")) == {">=3.11", "<3.14"}
    assert meta["Name"] == "condor-soap" and meta["License"] == "Apache-2.0"


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_installed_package_serves_and_writes_wsdls(dist, kind, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(_artifact(dist, kind))],
                         capture_output=True, text=True, timeout=900, env=_clean_env())
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    env, run_in = _clean_env(), tmp_path  # outside the checkout: only the installed package exists
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import condor_soap; print(condor_soap.__file__)"],
                           capture_output=True, text=True, cwd=run_in, env=env, check=True).stdout
    assert where.startswith(str(venv)), where

    written = subprocess.run([str(venv / "bin" / "condor-soap"), "wsdl", str(tmp_path / "wsdl")],
                             capture_output=True, text=True, cwd=run_in, env=env, timeout=120)
    assert written.returncode == 0, written.stderr
    for name in ("condorSchedd.wsdl", "condorCollector.wsdl"):
        assert (tmp_path / "wsdl" / name).read_bytes() == (REPO / "wsdl" / name).read_bytes()

    serve = subprocess.Popen([str(venv / "bin" / "condor-soap"), "serve", "--port", "0",
                              "--state-dir", str(tmp_path / "state")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=run_in, env=env)
    try:
        line = serve.stdout.readline()
        url = re.search(r"serving on (\S+)", line)
        assert url, line + serve.stderr.read() if serve.poll() is not None else line
        url = url.group(1)
        answer = requests.post(url, data=VERSION_CALL, headers={"Content-Type": "text/xml"}, timeout=30)
        assert answer.status_code == 200 and b"<code>SUCCESS</code>" in answer.content
        assert b"condor-soap" in answer.content
        assert requests.get(url + "condorSchedd.wsdl", timeout=30).status_code == 200
        # the client a user gets from the same install: the tutorial's program, then the tools
        tutorial = subprocess.run([str(venv / "bin" / "python"), str(REPO / "examples" / "client_tutorial.py"), url],
                                  capture_output=True, text=True, cwd=run_in, env=env, timeout=300)
        assert tutorial.returncode == 0 and "count.txt says 9 words" in tutorial.stdout, \
            tutorial.stdout + tutorial.stderr
        listed = subprocess.run([str(venv / "bin" / "condor-soap"), "q", "--url", url],
                                capture_output=True, text=True, cwd=run_in, env=env, timeout=120)
        assert listed.returncode == 0 and "Total for query: " in listed.stdout, listed.stdout + listed.stderr
    finally:
        serve.send_signal(signal.SIGTERM)
        code = serve.wait(60)
    assert code == 0
