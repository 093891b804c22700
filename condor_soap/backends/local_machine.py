"""What the embedded pool says about itself: version and platform strings, and the collector
ads (startd slots, schedd, master, collector, submitters) describing this machine."""
from __future__ import annotations

import os
import platform as _platform
import shutil
import socket
import time
from typing import Optional

import classad2

from condor_soap.core.records import AdType

CONDOR_VERSION = "8.7.7"  # the last HTCondor with SOAP, so version-sniffing clients accept us
BUILD_DATE = "Dec 05 2017"  # HTCondor 8.7.7's release; the string's date is a build date
_DISTROS = {"ubuntu": "Ubuntu", "debian": "Debian", "centos": "CentOS", "rhel": "RedHat",
            "fedora": "Fedora", "rocky": "Rocky", "almalinux": "AlmaLinux", "opensuse": "openSUSE",
            "sles": "SLES", "arch": "Arch", "alpine": "Alpine", "amzn": "AmazonLinux"}

MY_TYPES = {AdType.STARTD: "Machine", AdType.SCHEDD: "Scheduler", AdType.MASTER: "DaemonMaster",
            AdType.SUBMITTOR: "Submitter", AdType.LICENSE: "License", AdType.STORAGE: "Storage",
            AdType.COLLECTOR: "Collector", AdType.NEGOTIATOR: "Negotiator", AdType.QUILL: "Quill",
            AdType.CKPTSRVR: "CkptServer", AdType.HAD: "HAD", AdType.GENERIC: "Generic"}


def package_version() -> str:
    try:
        from condor_soap import __version__  # type: ignore[attr-defined]
        return str(__version__)
    except ImportError:
        return "0.1.0"


def version_string() -> str:
    return f"$CondorVersion: {CONDOR_VERSION} {BUILD_DATE} BuildID: condor-soap {package_version()} $"


def _os_release() -> dict[str, str]:
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            with open(path) as f:
                return dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
        except OSError:
            continue
    return {}


def arch() -> str:
    machine = _platform.machine().upper()
    return {"AMD64": "X86_64", "AARCH64": "AARCH64", "ARM64": "AARCH64", "I686": "INTEL"}.get(machine, machine)


def platform_string() -> str:
    info = {k: v.strip('"') for k, v in _os_release().items()}
    distro = _DISTROS.get(info.get("ID", ""), info.get("ID", _platform.system()).capitalize() or "Unknown")
    ver = info.get("VERSION_ID", _platform.release())
    return f"$CondorPlatform: {arch()}-{distro}_{ver} $"


def host_name() -> str:
    return socket.gethostname() or "localhost"


def _memory_mb() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // (1024 * 1024)
    except (ValueError, OSError):
        return 1024


class MachineAds:
    """Builds this machine's collector ads from a snapshot of the queue."""

    def __init__(self, host: str, slots: int, state_dir: str) -> None:
        self.host, self.slots, self.state_dir = host, slots, state_dir
        self.started = int(time.time())

    def _common(self, my_type: str, name: str, address: str) -> classad2.ClassAd:
        ad = classad2.ClassAd()
        now = int(time.time())
        ad["MyType"] = my_type
        ad["Name"] = name
        ad["Machine"] = self.host
        ad["MyAddress"] = address
        ad["CondorVersion"] = version_string()
        ad["CondorPlatform"] = platform_string()
        ad["DaemonStartTime"] = self.started
        ad["LastHeardFrom"] = now
        ad["UpdateSequenceNumber"] = now - self.started
        return ad

    def build(self, ad_type: Optional[AdType], address: str, jobs: list[tuple[int, int, int, str]],
              running: dict[int, tuple[int, int]]) -> list[tuple[AdType, classad2.ClassAd]]:
        """``jobs``: (cluster, proc, status, owner); ``running``: slot -> job. Only the
        types asked for are built."""
        out: list[tuple[AdType, classad2.ClassAd]] = []
        want = (lambda t: ad_type is None or ad_type == t)
        if want(AdType.STARTD):
            out += [(AdType.STARTD, self._slot(n, address, running.get(n))) for n in range(1, self.slots + 1)]
        if want(AdType.SCHEDD):
            out.append((AdType.SCHEDD, self._schedd(address, jobs)))
        if want(AdType.SUBMITTOR):
            out += [(AdType.SUBMITTOR, ad) for ad in self._submitters(address, jobs)]
        if want(AdType.MASTER):
            out.append((AdType.MASTER, self._common("DaemonMaster", self.host, address)))
        if want(AdType.COLLECTOR):
            ad = self._common("Collector", f"condor-soap@{self.host}", address)
            ad["CollectorIpAddr"] = address
            out.append((AdType.COLLECTOR, ad))
        return out

    def _slot(self, n: int, address: str, job: Optional[tuple[int, int]]) -> classad2.ClassAd:
        ad = self._common("Machine", f"slot{n}@{self.host}", address)
        cpus = os.cpu_count() or 1
        memory = _memory_mb()
        try:
            disk_kb = shutil.disk_usage(self.state_dir).free // 1024
        except OSError:
            disk_kb = 0
        ad["TargetType"] = "Job"
        ad["SlotID"] = n
        ad["OpSys"] = "LINUX"
        ad["Arch"] = arch()
        ad["Cpus"] = max(1, cpus // self.slots)
        ad["TotalCpus"] = cpus
        ad["Memory"] = max(1, memory // self.slots)
        ad["TotalMemory"] = memory
        ad["Disk"] = disk_kb // self.slots
        ad["TotalDisk"] = disk_kb
        ad["TotalSlots"] = self.slots
        ad["StartdIpAddr"] = address
        ad["Requirements"] = True
        ad["Start"] = True
        ad["State"] = "Claimed" if job else "Unclaimed"
        ad["Activity"] = "Busy" if job else "Idle"
        if job:
            ad["JobId"] = f"{job[0]}.{job[1]}"
        return ad

    def _schedd(self, address: str, jobs: list[tuple[int, int, int, str]]) -> classad2.ClassAd:
        ad = self._common("Scheduler", self.host, address)
        count = lambda s: sum(1 for j in jobs if j[2] == s)  # noqa: E731
        ad["ScheddIpAddr"] = address
        ad["HasSOAPInterface"] = True
        ad["TotalIdleJobs"] = count(1)
        ad["TotalRunningJobs"] = count(2)
        ad["TotalRemovedJobs"] = count(3)
        ad["TotalHeldJobs"] = count(5)
        ad["TotalJobAds"] = len(jobs)
        ad["TotalFlockedJobs"] = 0
        ad["NumUsers"] = len({j[3] for j in jobs if j[3]})
        ad["MaxJobsRunning"] = self.slots
        return ad

    def _submitters(self, address: str, jobs: list[tuple[int, int, int, str]]) -> list[classad2.ClassAd]:
        ads = []
        for owner in sorted({j[3] for j in jobs if j[3]}):
            mine = [j for j in jobs if j[3] == owner]
            ad = self._common("Submitter", f"{owner}@{self.host}", address)
            ad["ScheddName"] = self.host
            ad["ScheddIpAddr"] = address
            ad["Owner"] = owner
            ad["IdleJobs"] = sum(1 for j in mine if j[2] == 1)
            ad["RunningJobs"] = sum(1 for j in mine if j[2] == 2)
            ad["HeldJobs"] = sum(1 for j in mine if j[2] == 5)
            ad["FlockedJobs"] = 0
            ads.append(ad)
        return ads
