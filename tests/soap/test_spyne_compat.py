"""The Spyne import shim patches only where Python needs it (3.12+)."""
from __future__ import annotations

import sys

import condor_soap.soap  # noqa: F401  (runs the shim before Spyne loads)


def test_six_importer_has_pep451_methods_only_when_needed():
    import spyne.util.six as six

    assert hasattr(type(six._importer), "find_spec") == (sys.version_info >= (3, 12))


def test_six_moves_import():
    from spyne.util.six.moves.urllib.parse import unquote  # the import 3.12 broke

    assert unquote("a%20b") == "a b"
