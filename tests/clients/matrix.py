"""Write the client matrix into README.rst from the results of a full run of tests/clients.

Called by ``pytest_sessionfinish`` in tests/clients/conftest.py when every toolchain x WSDL
test ran; a partial run leaves the README alone. The matrix replaces what stands between the
``START``/``END`` marker comments below.
"""
from __future__ import annotations

import re
from pathlib import Path

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
        "Written by the client suite (``tests/clients``, marker ``clients``) at the end of every full run "
        "(``./dev test`` or ``./dev test tests/clients``); do not edit by hand. Last run: "
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


def write(readme: Path, toolchains, results: dict, session: dict) -> None:
    """Replace the matrix block of ``readme`` (between START and END) with a fresh one."""
    text = readme.read_text()
    head, start, rest = text.partition(START)
    _old, end, tail = rest.partition(END)
    if not (start and end):
        raise ValueError(f"{readme} has no client-matrix markers")
    readme.write_text(head + START + "\n" + render(toolchains, results, session) + "\n" + END + tail)
