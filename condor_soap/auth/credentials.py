"""The credential files, each reloaded when it changes on disk (no restart after a
``condor-soap passwd``):

- password file: ``user:scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`` lines (salted, slow hash,
  compared in constant time);
- token file: ``user:<sha256 hex of the token>`` lines. Tokens are 256 random bits, so a fast
  unsalted hash is enough: nobody can guess one from its hash;
- user map: HTCondor ``CERTIFICATE_MAPFILE`` lines ``SSL "<regex>" <user>`` (or
  ``SSL /<regex>/ <user>``; also ``SCITOKENS`` and ``IDTOKENS`` lines for tokens), first
  match of the method wins, ``\\1`` in the user is the regex's group 1. As in HTCondor the
  regex is searched, not anchored: write ``^...$``.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import re
import secrets
import shlex
import tempfile
import threading
from typing import Callable, Generic, Optional, TypeVar

# scrypt at n=2**14, r=8: ~16 MiB and tens of ms per check, the interactive-login level.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 14, 8, 1
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")

T = TypeVar("T")


def valid_user(user: str) -> bool:
    """A user name usable as an HTCondor Owner (no ':', '@', spaces or quotes)."""
    return bool(_USER.match(user)) and len(user) <= 64


def hash_password(password: str, *, salt: Optional[bytes] = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=64 << 20, dklen=32)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt)}${b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r),
                             p=int(p), maxmem=64 << 20, dklen=len(base64.b64decode(digest)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


# -- files ---------------------------------------------------------------------------------

def read_entries(path: str) -> dict[str, str]:
    """``user:value`` lines (``#`` comments and blank lines skipped)."""
    entries: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and ":" in line:
                user, value = line.split(":", 1)
                entries[user.strip()] = value.strip()
    return entries


def write_entries(path: str, entries: dict[str, str]) -> None:
    """Replace ``path`` atomically, readable by its owner only."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".condor-soap-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for user, value in sorted(entries.items()):
                f.write(f"{user}:{value}\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def set_entry(path: str, user: str, value: Optional[str]) -> bool:
    """Add/replace (``value``) or delete (None) ``user``'s line; False if nothing to delete."""
    entries = read_entries(path) if os.path.exists(path) else {}
    if value is None:
        if user not in entries:
            return False
        del entries[user]
    else:
        entries[user] = value
    write_entries(path, entries)
    return True


class Reloading(Generic[T]):
    """A file parsed by ``parse``, parsed again when its mtime, size or inode changes."""

    def __init__(self, path: str, parse: Callable[[str], T]) -> None:
        self.path = path
        self._parse = parse
        self._stamp: Optional[tuple] = None
        self._value: Optional[T] = None
        self._lock = threading.Lock()

    def get(self) -> T:
        st = os.stat(self.path)
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        with self._lock:
            if stamp != self._stamp:
                self._value, self._stamp = self._parse(self.path), stamp
            return self._value  # type: ignore[return-value]


class PasswordFile:
    """Checks Basic credentials. Successful checks are remembered (as an HMAC under a
    per-process key, never the password) so that a client's every call does not pay for
    scrypt; a change to the file forgets them."""

    def __init__(self, path: str) -> None:
        self._file = Reloading(path, read_entries)
        self._key = os.urandom(32)
        self._ok: dict[str, bytes] = {}
        self._seen: Optional[dict[str, str]] = None
        self._lock = threading.Lock()

    def known(self, user: str, password: str) -> bool:
        """True if these credentials were verified since the file last changed (no scrypt)."""
        entries = self._file.get()
        with self._lock:
            if entries is not self._seen:
                self._ok, self._seen = {}, entries
            remembered = self._ok.get(user)
        return remembered is not None and hmac.compare_digest(remembered, self._mark(user, password))

    def check(self, user: str, password: str) -> bool:
        if self.known(user, password):
            return True
        entries = self._file.get()
        stored = entries.get(user)
        if stored is None:
            verify_password(password, hash_password("x", salt=b"0" * 16))  # same time either way
            return False
        if not verify_password(password, stored):
            return False
        with self._lock:
            if self._seen is entries:
                self._ok[user] = self._mark(user, password)
        return True

    def _mark(self, user: str, password: str) -> bytes:
        return hmac.new(self._key, f"{user}\0{password}".encode(), "sha256").digest()


class TokenFile:
    def __init__(self, path: str) -> None:
        self._file = Reloading(path, lambda p: {h: u for u, h in read_entries(p).items()})

    def user(self, token: str) -> Optional[str]:
        return self._file.get().get(hash_token(token))


#: Map-file methods and what their principal is: a certificate's subject; a SciToken's
#: ``<iss>,<user claim>`` (HTCondor's form); an IDTOKEN's ``sub`` (``user@domain``).
MAP_METHODS = ("SSL", "SCITOKENS", "IDTOKENS")


def parse_map_file(path: str) -> list[tuple[str, re.Pattern, str]]:
    """The (method, regex, user) rules of a CERTIFICATE_MAPFILE for the methods this service
    authenticates with (:data:`MAP_METHODS`); lines of other methods are ignored."""
    rules = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            method, _, rest = line.replace("\t", " ").partition(" ")
            if method not in MAP_METHODS:
                continue
            rest = rest.strip()
            if rest.startswith("/"):
                end = rest.rfind("/")
                regex, user = rest[1:end], rest[end + 1:].strip()
            else:
                parts = shlex.split(rest, posix=False)
                if len(parts) != 2:
                    raise ValueError(f"{path}:{number}: expected {method} \"<regex>\" <user>")
                regex, user = parts[0].strip('"'), parts[1]
            rules.append((method, re.compile(regex), user))
    return rules


class UserMap:
    """The service's user map: HTCondor's unified map file, one file for every method."""

    def __init__(self, path: str) -> None:
        self._file = Reloading(path, parse_map_file)

    def user(self, method: str, principal: str) -> Optional[str]:
        """The user ``principal`` maps to by the first ``method`` line that matches, or None;
        a mapped name that is not a valid user name (a ``\\1`` that captured odd text) maps
        to nobody."""
        for rule_method, regex, template in self._file.get():
            match = regex.search(principal) if rule_method == method else None
            if match:
                user = match.expand(template)
                return user if valid_user(user) else None
        return None
