"""Job state changes of the local backend as edits of a job ClassAd (no I/O).

Status numbers and hold codes are HTCondor's (``condor_holdcodes.h``).
"""
from __future__ import annotations

from typing import Optional

import classad2

IDLE, RUNNING, REMOVED, COMPLETED, HELD = 1, 2, 3, 4, 5

# HTCondor hold reason codes used here
HOLD_USER_REQUEST = 1
HOLD_FAILED_TO_CREATE_PROCESS = 6
HOLD_UNABLE_TO_OPEN_OUTPUT = 7
HOLD_UNABLE_TO_OPEN_INPUT = 8


def status(ad: classad2.ClassAd) -> int:
    value = ad.get("JobStatus")
    return value if isinstance(value, int) else IDLE


def _int(ad: classad2.ClassAd, name: str, default: int = 0) -> int:
    value = ad.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _set_status(ad: classad2.ClassAd, new: int, now: int) -> None:
    ad["LastJobStatus"] = status(ad)
    ad["JobStatus"] = new
    ad["EnteredCurrentStatus"] = now


def hold(ad: classad2.ClassAd, reason: str, now: int, code: int = HOLD_USER_REQUEST, subcode: int = 0,
         system_hold: bool = False) -> bool:
    """Put a job on hold; False if it is held, completed or removed already."""
    if status(ad) in (HELD, COMPLETED, REMOVED):
        return False
    _set_status(ad, HELD, now)
    ad["HoldReason"] = reason
    ad["HoldReasonCode"] = code
    ad["HoldReasonSubCode"] = subcode
    ad["LastSuspensionTime"] = 0
    if system_hold:
        ad["NumSystemHolds"] = _int(ad, "NumSystemHolds") + 1
    return True


def release(ad: classad2.ClassAd, reason: str, now: int) -> bool:
    """Release a held job to ``JobStatusOnRelease`` (default idle); False if not held."""
    if status(ad) != HELD:
        return False
    target = _int(ad, "JobStatusOnRelease", IDLE)
    for name in ("HoldReason", "HoldReasonCode", "HoldReasonSubCode"):
        if name in ad:
            ad["Last" + name] = ad[name]
            del ad[name]
    if "JobStatusOnRelease" in ad:
        del ad["JobStatusOnRelease"]
    _set_status(ad, target if target in (IDLE, HELD) else IDLE, now)
    ad["ReleaseReason"] = reason
    ad["LastSuspensionTime"] = 0
    return True


def remove(ad: classad2.ClassAd, reason: Optional[str], now: int) -> bool:
    """Mark a job removed; False if it is removed already."""
    if status(ad) == REMOVED:
        return False
    _set_status(ad, REMOVED, now)
    if reason:
        ad["RemoveReason"] = reason
    return True


def start(ad: classad2.ClassAd, now: int, remote_host: str) -> None:
    """The job's process has started."""
    _set_status(ad, RUNNING, now)
    if _int(ad, "JobStartDate") <= 0:
        ad["JobStartDate"] = now
    ad["JobCurrentStartDate"] = now
    ad["NumJobStarts"] = _int(ad, "NumJobStarts") + 1
    ad["RemoteHost"] = remote_host
    ad["CurrentHosts"] = 1


def stopped(ad: classad2.ClassAd, wall_seconds: float) -> None:
    """The job's process is gone, for whatever reason: account its wall-clock time."""
    previous = ad.get("RemoteWallClockTime")
    base = float(previous) if isinstance(previous, (int, float)) and not isinstance(previous, bool) else 0.0
    ad["RemoteWallClockTime"] = base + float(wall_seconds)
    ad["CurrentHosts"] = 0
    if "RemoteHost" in ad:
        ad["LastRemoteHost"] = ad["RemoteHost"]
        del ad["RemoteHost"]


def completed(ad: classad2.ClassAd, returncode: int, now: int) -> None:
    """A running job's process exited by itself (``returncode`` as ``Popen`` reports it)."""
    _set_status(ad, COMPLETED, now)
    ad["CompletionDate"] = now
    if returncode < 0:
        ad["ExitBySignal"] = True
        ad["ExitSignal"] = -returncode
        ad["ExitStatus"] = -returncode
        if "ExitCode" in ad:
            del ad["ExitCode"]
    else:
        ad["ExitBySignal"] = False
        ad["ExitCode"] = returncode
        ad["ExitStatus"] = returncode
        if "ExitSignal" in ad:
            del ad["ExitSignal"]


def requeue(ad: classad2.ClassAd, now: int) -> None:
    """A running job lost its process (service stopped or crashed): back to idle."""
    if status(ad) == RUNNING:
        _set_status(ad, IDLE, now)

