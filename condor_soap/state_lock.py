"""One service per state directory: an exclusive ``flock`` on ``<state_dir>/condor-soap.lock``.

The lock is held for the life of the process (the kernel drops it when the process ends,
however it ends), so a lock file left by a killed service never blocks a restart; the file
only carries the holder's PID for the message a second service prints.
"""
from __future__ import annotations

import fcntl
import os

LOCK_NAME = "condor-soap.lock"


class StateDirBusy(RuntimeError):
    """Another live process holds the state directory."""


class StateDirLock:
    """``with StateDirLock(state_dir):`` or :meth:`acquire` / :meth:`release`."""

    def __init__(self, state_dir: str) -> None:
        self.state_dir = state_dir
        self.path = os.path.join(state_dir, LOCK_NAME)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`StateDirBusy` naming the directory and the holder."""
        os.makedirs(self.state_dir, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StateDirBusy(f"the state directory {self.state_dir} is in use by another condor-soap "
                               f"service (PID {holder}); stop it or choose another --state-dir") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor drops the flock
            self._fd = None

    def __enter__(self) -> "StateDirLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
