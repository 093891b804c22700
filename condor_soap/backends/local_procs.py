"""Turning a job ad into a local process, and recognising that process after a restart."""
from __future__ import annotations

import errno
import os
import signal
import stat
from dataclasses import dataclass
from typing import Optional

import classad2

from condor_soap.backends import local_states as states
from condor_soap.core.arguments import parse_environment, split_v1, split_v2

BASE_PATH = "/usr/local/bin:/usr/bin:/bin"


class LaunchError(Exception):
    """The job cannot be started; it goes on hold with this code, subcode and reason."""

    def __init__(self, code: int, subcode: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.subcode, self.reason = code, subcode, reason


@dataclass
class Launch:
    """Everything ``subprocess.Popen`` needs for one job."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    stdin: str
    stdout: str
    stderr: str


def _string(ad: classad2.ClassAd, name: str) -> Optional[str]:
    value = ad.get(name)
    return value if isinstance(value, str) else None


def _path(spool: str, value: Optional[str]) -> str:
    """``In``/``Out``/``Err``: relative names live in the spool, absolute ones are used as is."""
    if not value:
        return os.devnull
    return value if os.path.isabs(value) else os.path.join(spool, value)


def prepare(ad: classad2.ClassAd, spool: str, slot: str) -> Launch:
    """Resolve executable, arguments, environment and standard streams of a job."""
    cmd = _string(ad, "Cmd")
    if not cmd:
        raise LaunchError(states.HOLD_FAILED_TO_CREATE_PROCESS, 0, "Job has no Cmd attribute")
    exe = cmd if os.path.isabs(cmd) else os.path.join(spool, cmd)
    if not os.path.isabs(cmd):
        try:
            mode = os.stat(exe).st_mode
            if stat.S_ISREG(mode) and not mode & stat.S_IXUSR:
                os.chmod(exe, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        except OSError:
            pass  # reported by the exec itself
    try:
        if "Arguments" in ad:
            args = split_v2(_string(ad, "Arguments") or "")
        else:
            args = split_v1(_string(ad, "Args") or "")
    except ValueError as exc:
        raise LaunchError(states.HOLD_FAILED_TO_CREATE_PROCESS, 0, f"Invalid Arguments: {exc}") from None
    try:
        job_env = parse_environment(_string(ad, "Environment") if "Environment" in ad else None,
                                    _string(ad, "Env"))
    except ValueError as exc:
        raise LaunchError(states.HOLD_FAILED_TO_CREATE_PROCESS, 0, f"Invalid Environment: {exc}") from None
    env = {"PATH": BASE_PATH, "_CONDOR_SCRATCH_DIR": spool, "_CONDOR_SLOT": slot.split("@")[0],
           "BATCH_SYSTEM": "HTCondor"}
    if os.environ.get("HOME"):
        env["HOME"] = os.environ["HOME"]
    env.update(job_env)
    return Launch([exe, *args], env, spool, _path(spool, _string(ad, "In")),
                  _path(spool, _string(ad, "Out")), _path(spool, _string(ad, "Err")))


def open_streams(launch: Launch, remote_host: str) -> tuple:
    """Open stdin/stdout/stderr (caller closes them); LaunchError with HTCondor's codes."""
    opened: list = []
    try:
        opened.append(_open(launch.stdin, "rb", states.HOLD_UNABLE_TO_OPEN_INPUT, remote_host))
        opened.append(_open(launch.stdout, "wb", states.HOLD_UNABLE_TO_OPEN_OUTPUT, remote_host))
        if launch.stderr == launch.stdout and launch.stdout != os.devnull:
            opened.append(opened[-1])  # one file for both: share the descriptor, don't truncate twice
        else:
            opened.append(_open(launch.stderr, "wb", states.HOLD_UNABLE_TO_OPEN_OUTPUT, remote_host))
    except LaunchError:
        for f in opened:
            f.close()
        raise
    return tuple(opened)


def _open(path: str, mode: str, code: int, remote_host: str):
    try:
        return open(path, mode)
    except OSError as exc:
        what = "standard input" if mode == "rb" else "standard output"
        raise LaunchError(code, exc.errno or 0, f"Error from {remote_host}: Failed to open '{path}' "
                          f"as {what}: (errno={exc.errno}: '{exc.strerror}')") from None


def exec_error(exe: str, exc: OSError, remote_host: str) -> LaunchError:
    return LaunchError(states.HOLD_FAILED_TO_CREATE_PROCESS, exc.errno or 0,
                       f"Error from {remote_host}: Failed to execute '{exe}': "
                       f"(errno={exc.errno}: '{exc.strerror}')")


def boot_id() -> Optional[str]:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return None


def start_ticks(pid: int) -> Optional[int]:
    """A process's start time in clock ticks since boot (``/proc/<pid>/stat`` field 22)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    return int(fields[19])


def kill_stale_group(pid: int, pgid: int, ticks: Optional[int], boot: Optional[str]) -> bool:
    """SIGKILL the process group of a job started before a restart, unless it is gone or the id
    now belongs to an unrelated process (reused pid: different start time or another boot)."""
    if boot is not None and boot != boot_id():
        return False
    now_ticks = start_ticks(pgid)
    if now_ticks is not None and (pgid != pid or now_ticks != ticks):
        return False  # a different process leads that group now
    try:
        os.killpg(pgid, signal.SIGKILL)
        return True
    except OSError as exc:
        if exc.errno not in (errno.ESRCH, errno.EPERM):
            raise
        return False
