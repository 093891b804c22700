"""Progress bars: tqdm on stderr for transfers of PROGRESS_THRESHOLD bytes or more, when stderr
is a terminal or when asked; never for small ones or when turned off; a callable gets every step."""
from __future__ import annotations

import io
import sys

from condor_soap.client.transfer import PROGRESS_THRESHOLD, progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def drawn(monkeypatch, size: int, progress, stderr=None) -> str:
    stream = stderr or io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    with progress_bar("big.dat", size, progress, "upload") as advance:
        advance(size // 2)
        advance(size - size // 2)
    return stream.getvalue()


def test_bars(monkeypatch):
    big = PROGRESS_THRESHOLD
    assert "upload big.dat" in drawn(monkeypatch, big, None, Terminal())  # a terminal: a bar
    assert drawn(monkeypatch, big, None) == ""                          # not a terminal: none
    assert "upload big.dat" in drawn(monkeypatch, big, True)             # asked for: always
    assert drawn(monkeypatch, big, False, Terminal()) == ""              # turned off
    assert drawn(monkeypatch, big - 1, True, Terminal()) == ""           # too small to bother


def test_callable_gets_every_step(monkeypatch):
    steps = []
    assert drawn(monkeypatch, 10, lambda name, done, total: steps.append((name, done, total))) == ""
    assert steps == [("big.dat", 5, 10), ("big.dat", 10, 10)]
