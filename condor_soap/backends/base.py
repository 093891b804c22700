"""What both backends share: placing staged files into a spool and reading spool files."""
from __future__ import annotations

import errno
import os
import shutil
import stat
from typing import Iterable, Sequence

import classad2

from condor_soap.core.ports import BackendError, NoSuchFile


def bad_file_name(name: str) -> bool:
    """True for a name that is not a plain file name inside one directory."""
    return not name or "/" in name or "\0" in name or name in (".", "..")


def place_file(source: str, directory: str, name: str) -> None:
    """Put the staged file ``source`` into ``directory`` as ``name``: a hard link when the
    filesystem allows (no copy of large inputs), else a copy; atomically replaces an older one,
    so a batch applied again after a crash finds whole files. Raises OSError."""
    if bad_file_name(name):
        raise BackendError(f"Invalid file name {name!r}")
    tmp = os.path.join(directory, f".{name}.condor-soap-tmp")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    try:
        os.link(source, tmp)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
        shutil.copyfile(source, tmp)
    os.replace(tmp, os.path.join(directory, name))


def read_spool_file(directory: str, name: str, offset: int, length: int, job: str) -> bytes:
    """Up to ``length`` bytes from ``offset`` of the regular file ``name`` directly in
    ``directory`` (b"" past the end), never following a symlink nor reserving ``length``
    bytes. Raises :class:`NoSuchFile` for a name with a path in it, a missing or non-regular
    file, and :class:`BackendError` for a negative offset; ``job`` ("c.p") names the job."""
    if bad_file_name(name):
        raise NoSuchFile(f"No file {name!r} in the spool of job {job}")
    if offset < 0:
        raise BackendError("offset must be >= 0")
    try:
        fd = os.open(os.path.join(directory, name), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        raise NoSuchFile(f"No file {name!r} in the spool of job {job}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NoSuchFile(f"No file {name!r} in the spool of job {job}")
        count = max(0, min(length, st.st_size - offset))
        return os.pread(fd, count, offset) if count else b""
    finally:
        os.close(fd)


def project(ads: Iterable[classad2.ClassAd], projection: Sequence[str], limit: int = 0) -> list[classad2.ClassAd]:
    """The first ``limit`` (> 0) ``ads``, each cut down to ``projection`` (named as given) plus
    ClusterId and ProcId; an empty projection keeps whole ads."""
    out = []
    for ad in ads:
        if limit and len(out) == limit:
            break
        if projection:
            kept = classad2.ClassAd()
            for name in ("ClusterId", "ProcId", *projection):
                if name in ad:
                    kept[name] = ad.lookup(name)
            ad = kept
        out.append(ad)
    return out

