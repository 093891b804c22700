"""Sphinx configuration: the docs/*.rst pages and the client's API reference (autodoc).

    sphinx-build -W -b html docs build/docs      (CI builds it so, warnings as errors)
"""
import os
import sys

sys.path.insert(0, os.path.abspath(".."))

from condor_soap import __version__  # noqa: E402

project = "condor-soap"
copyright = "the condor-soap authors"
version = release = __version__
extensions = ["sphinx.ext.autodoc"]
exclude_patterns = ["_build", "spec"]  # spec/*.md: the reference material, read on GitHub
source_suffix = {".rst": "restructuredtext"}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}
nitpicky = False
html_theme = "alabaster"
html_static_path: list = []
