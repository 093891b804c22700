"""HTCondor's argument and environment syntax (the ``Arguments``/``Args`` and
``Environment``/``Env`` job attributes), as ``condor_arglist.cpp`` defines it.

V2 raw syntax: whitespace separates words; ``'...'`` groups, ``''`` inside quotes is a literal
quote; double quotes are ordinary characters. V1: whitespace-separated words, no quoting.
"""
from __future__ import annotations

from typing import Optional

_SPACE = " \t\r\n"


def split_v2(text: str) -> list[str]:
    """Split V2 raw arguments; raises ValueError on an unterminated quote."""
    words: list[str] = []
    word: list[str] = []
    in_word = False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in _SPACE:
            if in_word:
                words.append("".join(word))
                word, in_word = [], False
            i += 1
        elif ch == "'":
            in_word = True
            i += 1
            while True:
                if i >= n:
                    raise ValueError("unterminated single quote")
                if text[i] == "'":
                    if i + 1 < n and text[i + 1] == "'":
                        word.append("'")
                        i += 2
                        continue
                    i += 1
                    break
                word.append(text[i])
                i += 1
        else:
            in_word = True
            word.append(ch)
            i += 1
    if in_word:
        words.append("".join(word))
    return words


def join_v2(words: list[str]) -> str:
    """Join words into canonical V2 raw syntax (quote only what needs it)."""
    out = []
    for word in words:
        if word == "" or any(c in _SPACE or c == "'" for c in word):
            out.append("'" + word.replace("'", "''") + "'")
        else:
            out.append(word)
    return " ".join(out)


def split_v1(text: str) -> list[str]:
    """Split V1 arguments (plain whitespace separation)."""
    return text.split()


def parse_environment(v2: Optional[str], v1: Optional[str] = None) -> dict[str, str]:
    """The job environment from ``Environment`` (V2, preferred) or ``Env`` (V1, ``;``-separated).
    Raises ValueError for a V2 string that does not parse."""
    if v2 is not None:
        entries = split_v2(v2)
    elif v1:
        entries = [e for e in v1.split(";") if e.strip()]
    else:
        return {}
    env: dict[str, str] = {}
    for entry in entries:
        name, sep, value = entry.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"environment entry {entry!r} is not NAME=VALUE")
        env[name.strip()] = value
    return env
