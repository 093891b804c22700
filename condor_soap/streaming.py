"""Answers written as they are produced: text pieces gathered into chunks for the socket."""
from __future__ import annotations

import logging
from typing import Iterable, Iterator

log = logging.getLogger(__name__)

CHUNK = 1 << 18  # characters gathered per write: few writes, and memory flat whatever the answer's size


def chunked(pieces: Iterable[str], what: str, size: int = CHUNK) -> Iterator[bytes]:
    """``pieces`` as UTF-8 chunks of about ``size`` characters (the last one shorter).

    The status line goes out with the first chunk, so a failure after it can only be told
    by cutting the connection: it is logged, naming ``what`` is being answered, and raised
    again for the server to close the connection; the client sees a broken body, never a
    short answer that looks whole."""
    gathered: list[str] = []
    length = 0
    try:
        for piece in pieces:
            gathered.append(piece)
            length += len(piece)
            if length >= size:
                yield "".join(gathered).encode()
                gathered, length = [], 0
    except Exception:
        log.exception("%s: the answer broke off after its first bytes were sent; the connection is "
                      "closed so that the client sees the call fail", what)
        raise
    if gathered:
        yield "".join(gathered).encode()
