"""The client matrix: its results, the rendered table, and publishing it into README.rst.

A full run of tests/clients (every toolchain x WSDL) saves its results to
``build/client-matrix.json`` and the rendered table to ``build/client-matrix.rst``
(``pytest_sessionfinish`` in tests/clients/conftest.py); a partial run saves nothing. The
suite never touches a tracked file: ``./dev matrix`` (``python -m tests.clients.matrix``)
copies the saved table into README.rst, between the ``START``/``END`` marker comments, and
only from a run where every cell passed or failed upstream as expected.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Optional, Sequence

REPO = Path(__file__).resolve().parents[2]
SAVED = REPO / "build" / "client-matrix.json"

# (toolchain id, wsdl kind) -> {"outcome", "detail", "timings"}, filled as the tests run, and
# facts about the session (install time, versions); here, not in conftest, so that the tests
# and the hooks share one copy
RESULTS: dict[tuple[str, str], dict] = {}
SESSION: dict = {}

KIND_TITLES = {"reference": "original WSDLs", "served": "served WSDLs"}
SHOWN = {"pass": "pass", "FAIL": "**FAIL**", "xfail": "fails upstream (see notes)", "XPASS": "**XPASS**",
         "skipped": "**skipped**"}


def failure_summary(text: str, limit: int = 400) -> str:
    """The most telling line of a failure: our StepFailed headline, else the last ``E`` line."""
    for line in text.splitlines():
        if "StepFailed:" in line or "ToolchainHang:" in line:
            return line.split(":", 1)[1].strip()[:limit]
    errors = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
    return (errors[0] if errors else text.strip().splitlines()[-1] if text.strip() else "?")[:limit]


def _cell(entry: dict) -> str:
    outcome = entry.get("outcome", "not run")
    shown = SHOWN.get(outcome, outcome)
    timings = entry.get("timings", {})
    if timings and outcome == "pass":
        shown += " (" + ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in timings.items()) + ")"
    return shown


def _install(session: dict) -> str:
    seconds = session.get("install_seconds", 0)
    return f"{seconds:.0f} s" if seconds >= 2 else "already installed"


def _rst_text(text: str) -> str:
    return re.sub(r"([*`|_\\])", r"\\\1", " ".join(text.split()))


def render(toolchains, results: dict, session: dict) -> str:
    total = sum(sum(e.get("timings", {}).values()) for e in results.values())
    lines = [
        "Client compatibility matrix",
        "---------------------------",
        "",
        "Measured by the client suite (``tests/clients``, marker ``clients``) in a full run "
        "(``./dev test`` or ``./dev test tests/clients``, saved to ``build/client-matrix.rst``) and "
        "copied here by ``./dev matrix`` from a passing run; do not edit by hand. Last run: "
        f"{session.get('date', '?')}, {session.get('system', '?')}, Python {session.get('python', '?')}.",
        "",
        "Every toolchain generates a client from the original HTCondor WSDLs "
        "(``tests/reference/condorSchedd.wsdl`` + ``condorCollector.wsdl``, endpoint overridden) "
        "and from the WSDLs condor-soap serves, compiles it, and runs the same full workflow against "
        "condor-soap on the local backend, which refuses anonymous calls: every program authenticates "
        "with HTTP Basic (``$CONDOR_SOAP_USER`` / ``$CONDOR_SOAP_PASSWORD``, column *HTTP Basic*). Workflow: begin, newCluster, newJob, createJobTemplate, "
        "declareFile + sendFile of a script, a text file and a binary file in several chunks, "
        "submit, commit, getJobAd until completed, listSpool, getFile compared byte for byte, "
        "closeSpool; hold, release and remove a sleep job, getJobAds with a constraint, "
        "removeCluster; queryStartdAds, queryScheddAds; getVersionString.",
        "",
        f"Toolchain install (``tests/clients/install.sh``) this run: {_install(session)}; "
        f"generate + build + run of all cells: {total:.0f} s.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - Toolchain",
        "     - Language",
        "     - Version",
        f"     - {KIND_TITLES['reference']}",
        f"     - {KIND_TITLES['served']}",
        "     - Program",
        "     - HTTP Basic",
    ]
    versions = session.get("versions", {})
    for t in toolchains:
        lines += [
            f"   * - {_rst_text(t.title)}",
            f"     - {t.language}",
            f"     - {_rst_text(versions.get(t.id, '?'))}",
            f"     - {_cell(results.get((t.id, 'reference'), {}))}",
            f"     - {_cell(results.get((t.id, 'served'), {}))}",
            f"     - ``{t.program}``",
            f"     - {t.auth or '?'}",
        ]
    notes = []
    for t in toolchains:
        if t.notes:
            notes.append(f"* **{_rst_text(t.title)}**: {_rst_text(t.notes)}.")
        failures = {}  # detail -> WSDL kinds, so that one reason for both shows once
        for kind in KIND_TITLES:
            entry = results.get((t.id, kind), {})
            if entry.get("outcome") not in (None, "pass") and entry.get("detail"):
                failures.setdefault((SHOWN.get(entry["outcome"], entry["outcome"]), entry["detail"]), []).append(kind)
        for (shown, detail), kinds in failures.items():
            where = " and ".join(KIND_TITLES[k] for k in kinds)
            notes.append(f"* **{_rst_text(t.title)}, {where}**, {shown.split(' (')[0]}: {_rst_text(detail)}")
    if notes:
        lines += ["", "Notes", "~~~~~", ""] + notes
    return "\n".join(lines) + "\n"


START = ".. client-matrix: start (written by tests/clients/matrix.py)\n"
END = ".. client-matrix: end\n"


def save(toolchains, results: dict, session: dict, path: Optional[Path] = None) -> None:
    """Keep a full run's results (JSON) and its rendered table (``.rst`` beside it)."""
    path = path or SAVED
    path.parent.mkdir(parents=True, exist_ok=True)
    cells = [{"toolchain": t, "wsdl": k, **entry} for (t, k), entry in sorted(results.items())]
    path.write_text(json.dumps({"session": session, "cells": cells}, indent=1, default=str) + "\n")
    path.with_suffix(".rst").write_text(render(toolchains, results, session))


def load(path: Optional[Path] = None) -> tuple[dict, dict]:
    """(results, session) of the last saved full run."""
    saved = json.loads((path or SAVED).read_text())
    results = {(c.pop("toolchain"), c.pop("wsdl")): c for c in saved["cells"]}
    return results, saved["session"]


def not_passing(results: dict) -> list[str]:
    """The cells that keep a run's matrix out of the README (failed, skipped, unexpectedly passed)."""
    return [f"{t}/{k}: {e.get('outcome')}" for (t, k), e in sorted(results.items())
            if e.get("outcome") not in ("pass", "xfail")]


def write(readme: Path, toolchains, results: dict, session: dict) -> None:
    """Replace the matrix block of ``readme`` (between START and END) with a fresh one."""
    text = readme.read_text()
    head, start, rest = text.partition(START)
    _old, end, tail = rest.partition(END)
    if not (start and end):
        raise ValueError(f"{readme} has no client-matrix markers")
    readme.write_text(head + START + "\n" + render(toolchains, results, session) + "\n" + END + tail)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``./dev matrix``: publish the last saved full run's matrix into README.rst."""
    from tests.clients.toolchains import TOOLCHAINS

    del argv
    if not SAVED.exists():
        print(f"no saved matrix at {SAVED}: run ./dev test (or ./dev test tests/clients) first", file=sys.stderr)
        return 1
    results, session = load()
    bad = not_passing(results)
    if bad:
        print("the last matrix run did not pass; README.rst left as it is:\n  " + "\n  ".join(bad), file=sys.stderr)
        return 1
    write(REPO / "README.rst", TOOLCHAINS, results, session)
    print(f"README.rst: client matrix of {session.get('date', '?')} written")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
