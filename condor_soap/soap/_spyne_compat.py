"""Make Spyne 2.14 importable on Python 3.12+; a no-op on older Pythons.

Spyne vendors ``six`` as ``spyne.util.six``, whose ``six.moves`` meta-path importer only has
the PEP 302 ``find_module``/``load_module`` pair. Python 3.12 stopped calling ``find_module``,
so ``from spyne.util.six.moves.urllib.parse import ...`` fails. Before Spyne is imported, this
module loads ``spyne/util/six.py`` by path and gives its importer the PEP 451 methods.
(Python 3.13 also dropped ``cgi``, which Spyne imports; the ``legacy-cgi`` package provides it
and is a dependency on 3.13+.)

Import this module before any ``spyne`` import (``condor_soap.soap`` does so first).
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
from typing import Any, Optional

SIX = "spyne.util.six"


def _find_spec(self: Any, fullname: str, path: Any = None, target: Any = None) -> Optional[importlib.machinery.ModuleSpec]:
    if fullname not in self.known_modules:
        return None
    return importlib.util.spec_from_loader(fullname, self, is_package=self.is_package(fullname))


def _create_module(self: Any, spec: importlib.machinery.ModuleSpec) -> Any:
    return self.load_module(spec.name)  # resolves the moved module and registers it


def _exec_module(self: Any, module: Any) -> None:
    """Nothing to run: ``create_module`` returned a module that is already loaded."""


def install() -> None:
    """Patch ``spyne.util.six``'s importer if this Python needs it (idempotent)."""
    if sys.version_info < (3, 12) or SIX in sys.modules:
        return
    spyne_spec = importlib.util.find_spec("spyne")  # locates the package without running it
    if spyne_spec is None or not spyne_spec.submodule_search_locations:
        return
    path = os.path.join(list(spyne_spec.submodule_search_locations)[0], "util", "six.py")
    spec = importlib.util.spec_from_file_location(SIX, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[SIX] = module
    spec.loader.exec_module(module)
    importer = type(module._importer)
    importer.find_spec = _find_spec
    importer.create_module = _create_module
    importer.exec_module = _exec_module


install()
