"""File transfer: declare with MD5 and upload in chunks (resuming), download in chunks, and
the progress bars of both."""
from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from typing import Callable, Iterator, Optional, Union

from condor_soap.client.errors import AlreadyExists, Incomplete
from condor_soap.client.transport import Endpoint
from condor_soap.client.wire import Txn, field

#: A file to upload: a local path, or the bytes themselves.
Source = Union[str, "os.PathLike[str]", bytes]
#: ``progress``: None = a bar when stderr is a terminal, True/False = always/never, or a
#: callable ``(file name, bytes done, total bytes)`` called after every chunk.
Progress = Union[None, bool, Callable[[str, int, int], None]]

CHUNK_SIZE = 256 * 1024  # birdbath's chunk
PROGRESS_THRESHOLD = 8 << 20  # smaller transfers get no bar
MAX_FILE = 2**31 - 1  # sizes and offsets are xsd:int


@contextlib.contextmanager
def progress_bar(name: str, total: int, progress: Progress, verb: str) -> Iterator[Callable[[int], None]]:
    """An ``advance(bytes)`` function for one transfer, drawing a tqdm bar when wanted."""
    if callable(progress) and not isinstance(progress, bool):
        done = 0

        def report(n: int) -> None:
            nonlocal done
            done += n
            progress(name, done, total)

        yield report
        return
    show = sys.stderr.isatty() if progress is None else progress
    if not show or total < PROGRESS_THRESHOLD:
        yield lambda n: None
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=f"{verb} {name}", unit="B", unit_scale=True, unit_divisor=1024,
              file=sys.stderr, leave=False) as bar:
        yield bar.update


def size_and_md5(source: Source) -> tuple[int, str]:
    """The size and MD5 (hex) of a path's content or of bytes."""
    if isinstance(source, bytes):
        return len(source), hashlib.md5(source).hexdigest()
    digest = hashlib.md5()
    with open(source, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
        return f.tell(), digest.hexdigest()


def _chunks(source: Source, start: int, size: int, chunk_size: int) -> Iterator[tuple[int, bytes]]:
    if isinstance(source, bytes):
        for offset in range(start, size, chunk_size):
            yield offset, source[offset:offset + chunk_size]
        return
    with open(source, "rb") as f:
        f.seek(start)
        for offset in range(start, size, chunk_size):
            yield offset, f.read(min(chunk_size, size - offset))


def upload(endpoint: Endpoint, txn: Txn, cluster: int, proc: int, name: str, source: Source, *,
           chunk_size: int = CHUNK_SIZE, progress: Progress = None) -> int:
    """Declare ``name`` for job ``cluster.proc`` with its MD5 and send it in chunks; returns the
    bytes sent.

    ``ALREADYEXISTS`` means the service holds some or all of it already: the content it
    already has (condor-soap's blob cache), or part of an upload this transaction began before
    it broke. ``listSpool`` then says how much is there, and the upload resumes one chunk
    before that point (a chunk the service wrote but had not acknowledged is sent again).
    Chunks that fail on a connection error are retried by the endpoint (``retry_for``).
    """
    job = f"{cluster}.{proc}"
    size, md5 = size_and_md5(source)
    if size > MAX_FILE:
        raise ValueError(f"{name}: {size} bytes; the contract's sizes are 32-bit (at most {MAX_FILE})")
    start = 0
    try:
        endpoint.call("declareFile", job=job, transaction=txn, clusterId=cluster, jobId=proc, name=name,
                      size=size, hashType="MD5HASH", hash=md5)
    except AlreadyExists:
        held = spool_sizes(endpoint, cluster, proc, txn).get(name, 0)
        if held >= size:
            return 0
        start = max(0, held // chunk_size * chunk_size - chunk_size)
    sent = 0
    with progress_bar(name, size, progress, "upload") as advance:
        advance(start)
        for offset, data in _chunks(source, start, size, chunk_size):
            endpoint.call("sendFile", job=job, transaction=txn, clusterId=cluster, jobId=proc, name=name,
                          offset=offset, data=data)
            sent += len(data)
            advance(len(data))
    return sent


def spool_sizes(endpoint: Endpoint, cluster: int, proc: int, txn: Optional[Txn] = None) -> dict[str, int]:
    """``listSpool``: the job's spool files and their sizes (inside ``txn``: what it staged)."""
    part = endpoint.call("listSpool", job=f"{cluster}.{proc}", transaction=txn, clusterId=cluster, jobId=proc)
    info = field(part, "info")
    return {item.findtext("name"): int(item.findtext("size") or 0) for item in (info if info is not None else ())}


def download(endpoint: Endpoint, cluster: int, proc: int, name: str, size: int, path: str, *,
             chunk_size: int = CHUNK_SIZE, progress: Progress = None) -> str:
    """Fetch ``size`` bytes of spool file ``name`` into ``path`` (written as ``path.part``
    and renamed when complete); returns ``path``."""
    job = f"{cluster}.{proc}"
    partial = path + ".part"
    try:
        with open(partial, "wb") as out, progress_bar(name, size, progress, "fetch") as advance:
            offset = 0
            while offset < size:
                part = endpoint.call("getFile", job=job, clusterId=cluster, jobId=proc, name=name, offset=offset,
                                     length=min(chunk_size, size - offset))
                data = _base64(field(part, "data"))
                if not data:  # the file shrank: never loop on empty answers (birdbath did)
                    raise Incomplete(f"{name}: {offset} of {size} bytes, then no more", operation="getFile", job=job)
                out.write(data)
                offset += len(data)
                advance(len(data))
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise
    return path


def _base64(el: object) -> bytes:
    import base64

    text = getattr(el, "text", None)
    return base64.b64decode(text) if text else b""
