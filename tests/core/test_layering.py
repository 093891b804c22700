"""The core never imports Spyne or htcondor2 (architecture.rst, "Rules")."""
from __future__ import annotations

import ast
import pathlib

import condor_soap.core

CORE = pathlib.Path(condor_soap.core.__file__).parent


def imported(path: pathlib.Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_imports_no_spyne_htcondor2_or_wire():
    for path in CORE.glob("*.py"):
        for name in imported(path):
            assert name.split(".")[0] not in ("spyne", "htcondor2", "htcondor"), (path.name, name)
            assert not name.startswith("condor_soap.wire"), (path.name, name)


def test_backends_import_only_the_core_leaves():
    leaves = {"condor_soap.core.records", "condor_soap.core.arguments", "condor_soap.core.constraints"}
    for path in (CORE.parent / "backends").glob("*.py"):
        for name in imported(path):
            if name.startswith("condor_soap.core"):
                assert name in leaves, (path.name, name)
            assert not name.startswith(("condor_soap.wire", "condor_soap.auth")), (path.name, name)
    for leaf in ("constraints", "constraint_worker", "records", "arguments"):
        inside = {n for n in imported(CORE / f"{leaf}.py") if n.startswith("condor_soap.core")}
        assert inside <= {"condor_soap.core.records"}, (leaf, inside)
