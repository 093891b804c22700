"""ClassAds as RESTD's JSON: HTCondor's own JSON form (``ClassAd.printJson``) with every key
lower-cased, recursively (RESTD's ``deep_lcasekeys(json.loads(ad.printJson()))``).

:func:`ad_json` is the fast path: it lower-cases the keys in the text ``printJson`` wrote, in
C-level string operations, instead of decoding and re-encoding every value in Python. In
``printJson`` output every key starts a line (indentation, then ``"name":``) and no string
value spans lines (a newline in a value is written ``\\n``), so a key is exactly a match of
:data:`_KEY`, and line breaks with their indentation are whitespace between tokens.
tests/rest/test_classad_json.py proves it equal to the generic path, :func:`ad_value`, over
generated ads.
"""
from __future__ import annotations

import json
import re
from typing import Any

import classad2

_KEY = re.compile(r'(\n *"[^"\\\n]*":)')
_INDENT = re.compile(r"\n *")


def ad_json(ad: classad2.ClassAd, one_line: bool = False) -> str:
    """``ad`` as JSON text, keys lower-cased, values exactly as HTCondor writes them;
    ``one_line``: without the line breaks and indentation ``printJson`` puts between them."""
    parts = _KEY.split(ad.printJson())
    parts[1::2] = map(str.lower, parts[1::2])
    text = "".join(parts)
    return _INDENT.sub("", text) if one_line else text


def lower_keys(value: Any) -> Any:
    """A decoded JSON value with every object key lower-cased, recursively."""
    if isinstance(value, dict):
        return {key.lower(): lower_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [lower_keys(item) for item in value]
    return value


def ad_value(ad: classad2.ClassAd) -> dict[str, Any]:
    """``ad`` as a decoded JSON object, keys lower-cased: the generic path."""
    return lower_keys(json.loads(ad.printJson()))
