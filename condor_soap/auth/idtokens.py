"""HTCondor IDTOKEN signing keys: what ``condor_token_create`` signs with.

A key file in ``SEC_PASSWORD_DIRECTORY`` (named by the token's ``kid``, ``POOL`` by default)
holds the key scrambled: XOR with the repeating bytes ``de ad be ef``. HTCondor reads the
result as a C string (up to its first NUL byte) and uses the pool key ``POOL`` doubled (its
bytes twice). The HS256 key is then HKDF-SHA256 of that with salt ``htcondor`` and info
``master jwt``, 32 bytes.
"""
from __future__ import annotations

import itertools
import logging
import os
import re
import threading
from typing import Optional

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from condor_soap.auth.credentials import Reloading

log = logging.getLogger(__name__)

POOL_KEY = "POOL"
_SCRAMBLE = b"\xde\xad\xbe\xef"
_KEY_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}\Z")  # a file name, never a path


def signing_key(scrambled: bytes, name: str) -> bytes:
    """The HS256 key of the key file ``name`` whose bytes are ``scrambled``."""
    secret = bytes(b ^ m for b, m in zip(scrambled, itertools.cycle(_SCRAMBLE))).split(b"\0", 1)[0]
    if name == POOL_KEY:
        secret += secret
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"htcondor", info=b"master jwt").derive(secret)


def _read_key(path: str) -> bytes:
    with open(path, "rb") as f:
        return signing_key(f.read(), os.path.basename(path))


class SigningKeys:
    """The keys of a ``SEC_PASSWORD_DIRECTORY``, each re-read when its file changes."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._files: dict[str, Reloading[bytes]] = {}
        self._lock = threading.Lock()

    def key(self, name: str) -> Optional[bytes]:
        """The HS256 key named ``name``; None when there is no such key (or it is unreadable,
        which is logged)."""
        if not _KEY_NAME.match(name):
            return None
        path = os.path.join(self.directory, name)
        if not os.path.isfile(path):
            return None
        with self._lock:
            reloading = self._files.setdefault(name, Reloading(path, _read_key))
        try:
            return reloading.get()
        except OSError:
            log.exception("cannot read the signing key %s", path)
            return None
