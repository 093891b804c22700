"""The documentation builds with Sphinx, warnings as errors (API reference from the client's
docstrings, the tutorial literalincluded from examples/client_tutorial.py)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import lxml.html

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_sphinx_builds_without_warnings(tmp_path):
    run = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                          "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    api = (tmp_path / "html" / "client-api.html").read_text()
    for name in ("Schedd.query", "Transaction.submit", "Collector.query", "ClassAd.to_classad", "UnknownJob"):
        assert name in api, name  # autodoc found it
    tutorial = lxml.html.parse(str(tmp_path / "html" / "client-tutorial.html")).getroot().text_content()
    example = (DOCS.parent / "examples" / "client_tutorial.py").read_text()
    for line in ("schedd = Schedd(url)", "ad = schedd.wait(job, timeout=300)[job]", "schedd.close_spool(job)"):
        assert line in example and line in tutorial, line  # the page shows the tested code
    assert not list(DOCS.glob("_build")), "the build went to the tmp dir, not into docs/"
