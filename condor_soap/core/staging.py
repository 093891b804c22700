"""Staged upload files and the MD5 blob cache.

A declared file lives at ``<state_dir>/staging/<txn>/<cluster>.<proc>/<name>`` until commit,
when the backend moves or copies it into the job's spool. Data is written chunk by chunk at
the client's offsets (``os.pwrite``) and hashed in chunks: no whole file is held in memory.

Decisions:

* Names must be plain file names (spec §6 row 8): empty, ``.``, ``..``, ``/``, ``\\`` and NUL
  are refused with FAIL; so are names that become one of those under Unicode NFKC (``．．``,
  ``a／b``), names with a ``,`` or leading/trailing white space (the job's
  ``TransferInputFiles`` is a comma list whose entries HTCondor trims: ``"a,.."`` or ``" .."``
  would name the parent directory), control and format characters (newlines, bidi overrides,
  zero-width spaces) and names over 255 UTF-8 bytes.
* ``sendFile`` data reaching past the declared size is refused with FAIL and nothing is
  written: the commit would fail anyway, and refusing bounds the disk a client can fill. (The
  original extended the file, spec §4.4.)
* Blob cache (spec §6 row 4): MD5-verified uploads are copied to ``<state_dir>/blobs/<md5>.<size>``
  at commit; ``declareFile`` with a cached (md5, size) copies the blob into staging. The cache
  keeps at most ``blob_cache_bytes``; the least recently used blobs go first.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
import unicodedata
from typing import Optional

from condor_soap.errors import CondorSoapError

log = logging.getLogger(__name__)
_CHUNK = 1 << 20


_BAD_CATEGORIES = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))
MAX_NAME_BYTES = 255


def _plain(name: str) -> bool:
    normal = unicodedata.normalize("NFKC", name)
    return (normal not in (".", "..") and name not in (".", "..")
            and not any(c in text for text in (name, normal) for c in "/\\\0,")
            and name == name.strip() and normal == normal.strip()
            and not any(unicodedata.category(c) in _BAD_CATEGORIES for c in name)
            and len(name.encode("utf-8", "surrogatepass")) <= MAX_NAME_BYTES)


def check_name(name: Optional[str]) -> str:
    """Return ``name`` if it is a plain file name, else raise FAIL."""
    if not name or not _plain(name):
        shown = (name or "")[:100].encode("unicode_escape").decode("ascii")
        raise CondorSoapError(f"Invalid file name '{shown}': a file name must not be empty, "
                              "'.' or '..' (also as Unicode look-alikes), nor contain '/', '\\', ',', NUL "
                              "or control characters, nor start or end with white space, "
                              f"nor be longer than {MAX_NAME_BYTES} bytes.")
    return name


def md5_file(path: str) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


class Staging:
    """The staging tree of all open transactions."""

    def __init__(self, root: str) -> None:
        self.root = root
        os.makedirs(root, exist_ok=True)

    def job_dir(self, txn: int, cluster: int, proc: int) -> str:
        return os.path.join(self.root, str(txn), f"{cluster}.{proc}")

    def path(self, txn: int, cluster: int, proc: int, name: str) -> str:
        return os.path.join(self.job_dir(txn, cluster, proc), check_name(name))

    def make_job_dir(self, txn: int, cluster: int, proc: int) -> None:
        os.makedirs(self.job_dir(txn, cluster, proc), mode=0o700, exist_ok=True)

    @staticmethod
    def create(path: str) -> None:
        """Create an empty staged file (mode 0600)."""
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)

    @staticmethod
    def write(path: str, offset: int, data: bytes) -> None:
        """Write ``data`` at ``offset``; raises OSError."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            view = memoryview(data)
            while view:
                written = os.pwrite(fd, view, offset)
                view, offset = view[written:], offset + written
        finally:
            os.close(fd)

    @staticmethod
    def size(path: str) -> int:
        try:
            return os.path.getsize(path)
        except OSError:
            return -1

    @staticmethod
    def sync(path: str) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def remove_job(self, txn: int, cluster: int, proc: int) -> None:
        shutil.rmtree(self.job_dir(txn, cluster, proc), ignore_errors=True)

    def remove_txn(self, txn: int) -> None:
        shutil.rmtree(os.path.join(self.root, str(txn)), ignore_errors=True)

    def remove_orphans(self, live: set[int]) -> list[int]:
        """Delete the staging of every transaction not in ``live`` (the journal forgets a
        transaction before its files: a crash in between leaves them); returns their ids."""
        orphans = []
        for entry in os.scandir(self.root):
            try:
                txn = int(entry.name)
            except ValueError:
                continue
            if txn not in live:
                shutil.rmtree(entry.path, ignore_errors=True)
                orphans.append(txn)
        return orphans


class BlobCache:
    """Bounded store of MD5-verified file contents, keyed by (md5, size). Thread-safe."""

    def __init__(self, root: str, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        if max_bytes > 0:
            os.makedirs(root, exist_ok=True)
            for entry in os.scandir(root):
                if entry.name.endswith(".tmp"):  # a copy a crash interrupted
                    os.unlink(entry.path)

    def _path(self, md5: str, size: int) -> str:
        return os.path.join(self.root, f"{md5.lower()}.{size}")

    def fetch(self, md5: str, size: int, dest: str) -> bool:
        """Copy the blob to ``dest`` if cached; True on success."""
        if self.max_bytes <= 0:
            return False
        with self._lock:
            blob = self._path(md5, size)
            if not os.path.exists(blob):
                return False
            try:
                shutil.copyfile(blob, dest)
                os.chmod(dest, 0o600)
                os.utime(blob)  # recently used: evicted last
            except OSError as exc:
                log.warning("blob cache: cannot copy %s: %s", blob, exc)
                return False
            return True

    def store(self, md5: str, size: int, src: str) -> None:
        """Keep a copy of a verified file, then evict down to the bound. Never raises."""
        if self.max_bytes <= 0 or size > self.max_bytes:
            return
        with self._lock:
            blob = self._path(md5, size)
            try:
                if os.path.exists(blob):
                    os.utime(blob)
                    return
                tmp = blob + ".tmp"
                shutil.copyfile(src, tmp)
                os.chmod(tmp, 0o400)
                Staging.sync(tmp)  # a blob answers ALREADYEXISTS later: never a half-written one
                os.replace(tmp, blob)
                self._evict()
            except OSError as exc:
                log.warning("blob cache: cannot store %s: %s", src, exc)

    def _evict(self) -> None:
        entries = []
        for entry in os.scandir(self.root):
            if entry.is_file() and not entry.name.endswith(".tmp"):
                st = entry.stat()
                entries.append((st.st_mtime, st.st_size, entry.path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.max_bytes:
                break
            os.unlink(path)
            total -= size
