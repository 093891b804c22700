"""The one way both faces stream an answer: pieces gathered into chunks, a late failure cut off."""
from __future__ import annotations

import logging

import pytest

from condor_soap.streaming import chunked


def test_chunks_hold_every_piece_in_order_at_about_the_size():
    pieces = [f"<{n}é>" * (n % 7) for n in range(5000)]
    chunks = list(chunked(pieces, "test", size=1000))
    assert b"".join(chunks) == "".join(pieces).encode()
    assert len(chunks) > 10
    longest_piece = max(len(p) for p in pieces)
    for chunk in chunks[:-1]:  # each holds at least `size` characters, and one piece more at most
        assert 1000 <= len(chunk.decode()) < 1000 + longest_piece


def test_nothing_to_write_writes_nothing():
    assert list(chunked([], "test")) == [] and b"".join(chunked(["", ""], "test")) == b""


def test_a_failure_after_the_first_chunk_is_logged_naming_the_answer_and_raised(caplog):
    def pieces():
        yield "x" * 20
        raise OSError("the schedd went away")

    chunks = chunked(pieces(), "getJobAds", size=10)
    assert next(chunks) == b"x" * 20
    with caplog.at_level(logging.ERROR), pytest.raises(OSError, match="went away"):
        next(chunks)
    (record,) = [r for r in caplog.records if r.name == "condor_soap.streaming"]
    assert record.getMessage().startswith("getJobAds: the answer broke off") and record.exc_info
