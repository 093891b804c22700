"""Imports point down (docs/architecture.rst, "Rules"): http -> faces -> core -> core.ports
<- backends; the core imports no face, no backend, no Spyne and no htcondor2."""
from __future__ import annotations

import ast
import pathlib

import condor_soap

PACKAGE = pathlib.Path(condor_soap.__file__).parent
CORE = PACKAGE / "core"
FACES = ("condor_soap.soap", "condor_soap.rest")


def imported(path: pathlib.Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def modules(folder: str) -> list[pathlib.Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def test_core_imports_no_face_backend_spyne_or_htcondor2():
    for path in modules("core"):
        for name in imported(path):
            assert name.split(".")[0] not in ("spyne", "htcondor2", "htcondor"), (path.name, name)
            assert not name.startswith((*FACES, "condor_soap.http", "condor_soap.backends",
                                        "condor_soap.auth")), (path.name, name)


def test_backends_import_only_the_port_and_core_leaves():
    leaves = {"condor_soap.core.ports", "condor_soap.core.records", "condor_soap.core.arguments",
              "condor_soap.core.constraints"}
    for path in modules("backends"):
        for name in imported(path):
            if name.startswith("condor_soap.core"):
                assert name in leaves, (path.name, name)
            assert not name.startswith((*FACES, "condor_soap.http", "condor_soap.auth")), (path.name, name)
    for leaf in ("ports", "constraints", "constraint_worker", "records", "arguments"):
        inside = {n for n in imported(CORE / f"{leaf}.py") if n.startswith("condor_soap.core")}
        assert inside <= {"condor_soap.core.records", "condor_soap.core.expression_guard"}, (leaf, inside)
    guard = {n for n in imported(CORE / "expression_guard.py") if n.startswith("condor_soap")}
    assert guard <= {"condor_soap.errors"}, guard


def test_faces_import_neither_each_other_nor_http():
    for face in ("soap", "rest"):
        for path in modules(face):
            for name in imported(path):
                others = tuple(f for f in FACES if not f.endswith("." + face))
                assert not name.startswith((*others, "condor_soap.http")), (path.name, name)


def test_htcondor2_only_in_the_htcondor_backend():
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name == "backends" and path.name.startswith("htcondor"):
            continue
        for name in imported(path):
            assert name.split(".")[0] not in ("htcondor2", "htcondor"), (str(path.relative_to(PACKAGE)), name)


def test_client_speaks_only_the_contract():
    """condor_soap.client needs the WSDL contract and HTTP only: no server package, no Spyne,
    no web server (it must work against an original HTCondor SOAP endpoint). It shares only the
    WSDL's StatusCode enumeration (``condor_soap.errors``, a leaf)."""
    for path in modules("client"):
        for name in imported(path):
            if name.startswith("condor_soap") and name != "condor_soap.errors":
                assert name == "condor_soap.client" or name.startswith("condor_soap.client."), (path.name, name)
            assert name.split(".")[0] not in ("spyne", "waitress", "zeep"), (path.name, name)


def test_client_imports_without_spyne():
    """Importing the client loads no server module (``condor_soap/__init__`` brings only
    ``condor_soap.config``; the client, the WSDL's StatusCode from ``condor_soap.errors``) and
    works with Spyne unimportable."""
    import json
    import subprocess
    import sys

    code = ("import sys, json; sys.modules['spyne'] = None; import condor_soap.client, condor_soap.client.cli; "
            "print(json.dumps(sorted(m for m, v in sys.modules.items() if v is not None and "
            "m.startswith(('condor_soap', 'spyne', 'waitress')))))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    loaded = json.loads(run.stdout)
    assert "condor_soap.client.schedd" in loaded
    assert [m for m in loaded if not m.startswith("condor_soap.client")] == [
        "condor_soap", "condor_soap.config", "condor_soap.errors"]


def test_metrics_and_logs_sit_underneath_everything():
    """Every layer records into condor_soap.metrics, logs through condor_soap.logs and streams
    an answer through condor_soap.streaming: they import no other module of the service."""
    for name in ("metrics.py", "logs.py", "streaming.py"):
        ours = {n for n in imported(PACKAGE / name) if n.startswith("condor_soap")}
        assert not ours, (name, ours)
