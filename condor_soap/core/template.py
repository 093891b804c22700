"""``createJobTemplate`` (spec §4.6) and ``discoverJobRequirements`` (spec §4.4).

Decisions where the original was loose:

* ``requirements`` is parsed strictly (:func:`~condor_soap.core.classads.parse_expr`): text
  that is not exactly one ClassAd expression keeps ``Requirements = TRUE`` and the call still
  succeeds, as the original did for text it could not parse. Submit-file fragments such as
  openlmi's ``Queue=150`` are therefore ignored rather than stored as ``Queue``.
* A null or blank ``requirements`` keeps ``TRUE``; a null ``cmd`` leaves ``Cmd`` unset; a
  null ``owner`` leaves ``Owner`` out.
* Attributes are emitted in the table's order (the original's was unspecified).
"""
from __future__ import annotations

from typing import Optional

import classad2

from condor_soap.core import arguments
from condor_soap.core.classads import from_struct, parse_expr, to_struct
from condor_soap.core.records import Attr, Universe
from condor_soap.errors import CondorSoapError

_REQUEST_MEMORY = "ifthenelse(MemoryUsage isnt undefined,MemoryUsage,( ImageSize + 1023 ) / 1024)"


def job_template(cluster: int, proc: int, owner: Optional[str], universe: Universe,
                 cmd: Optional[str], args: Optional[str], requirements: Optional[str], *,
                 now: int, version: str, platform: str,
                 leave_in_queue: Optional[str] = None) -> list[Attr]:
    """The template job ad. Raises ``CondorSoapError("Invalid arguments string.")`` carrying
    the ad (without ``Arguments``) as ``result`` when ``args`` is not V2 syntax (spec §4.4)."""
    values: list[tuple[str, object]] = [("MyType", "Job"), ("TargetType", "Machine")]
    if owner is not None:
        values.append(("Owner", owner))
    values.append(("JobUniverse", int(universe)))
    if cmd is not None:
        values.append(("Cmd", cmd))
    values += [("QDate", now), ("CompletionDate", 0)]
    values += [(n, 0.0) for n in ("RemoteWallClockTime", "LocalUserCpu", "LocalSysCpu",
                                  "RemoteUserCpu", "RemoteSysCpu")]
    values += [("CoreSize", -1), ("ExitStatus", 0), ("ExitBySignal", False)]
    values += [(n, 0) for n in ("NumCkpts", "NumJobStarts", "NumRestarts", "NumSystemHolds",
                                "CommittedTime", "CumulativeSlotTime", "CommittedSlotTime",
                                "TotalSuspensions", "LastSuspensionTime",
                                "CumulativeSuspensionTime", "CommittedSuspensionTime")]
    values += [("RootDir", "/"), ("MinHosts", 1), ("MaxHosts", 1), ("CurrentHosts", 0),
               ("WantRemoteSyscalls", False), ("WantCheckpoint", False), ("WantRemoteIO", True),
               ("JobStatus", 1), ("EnteredCurrentStatus", now), ("JobPrio", 0),
               ("NiceUser", False), ("JobNotification", 0), ("ImageSize", 100),
               ("In", "/dev/null"), ("Out", "/dev/null"), ("Err", "/dev/null"),
               ("BufferSize", 524288), ("BufferBlockSize", 32768),
               ("ShouldTransferFiles", "YES"), ("WhenToTransferOutput", "ON_EXIT")]
    requirement = parse_expr(requirements, "The requirements expression") if requirements else None
    values.append(("Requirements", requirement if requirement is not None else True))
    values += [(n, False) for n in ("PeriodicHold", "PeriodicRemove", "PeriodicRelease", "OnExitHold")]
    values.append(("OnExitRemove", True))
    bad_args = False
    try:
        values.append(("Arguments", arguments.join_v2(arguments.split_v2(args or ""))))
    except ValueError:
        bad_args = True
    leave = "FilesRetrieved =?= false"
    if leave_in_queue:
        leave = f"{leave} && ( {leave_in_queue} )"
    values += [("RequestMemory", parse_expr(_REQUEST_MEMORY)), ("RequestDisk", parse_expr("DiskUsage")),
               ("DiskUsage", 1), ("RequestCpus", 1), ("StreamOut", False), ("StreamErr", False),
               ("CondorVersion", version), ("CondorPlatform", platform),
               ("ClusterId", cluster), ("ProcId", proc), ("StageInStart", 1), ("StageInFinish", 1),
               ("FilesRetrieved", False)]
    # A SOAP_LEAVE_IN_QUEUE that does not parse leaves the plain expression.
    values.append(("LeaveJobInQueue", parse_expr(leave) or parse_expr("FilesRetrieved =?= false")))
    ad = classad2.ClassAd()
    for name, value in values:
        ad[name] = value
    result = to_struct(ad, now, order=[name for name, _ in values])
    if bad_args:
        raise CondorSoapError("Invalid arguments string.", result=result)
    return result


def _string(ad: classad2.ClassAd, name: str) -> Optional[str]:
    value = ad.get(name)
    return value if isinstance(value, str) else None


def job_requirements(job_ad: Optional[list[Attr]]) -> list[str]:
    """The files a submitter must send for ``job_ad``, in the original's order: each entry
    of TransferInputFiles, In (unless /dev/null), x509userproxy, then Cmd unless
    TransferExecutable is false. Duplicates removed, values as written. Only literal values
    count: the client's expressions are not evaluated in the service (the original evaluated
    them; evaluation cannot be interrupted, docs/reliability.rst)."""
    ad = from_struct(job_ad)
    found: list[str] = []
    inputs = _string(ad, "TransferInputFiles") or ""
    found += [name.strip() for name in inputs.split(",") if name.strip()]
    stdin = _string(ad, "In")
    if stdin and stdin != "/dev/null":
        found.append(stdin)
    proxy = _string(ad, "x509userproxy")
    if proxy:
        found.append(proxy)
    cmd = _string(ad, "Cmd")
    if cmd and ad.get("TransferExecutable") is not False:
        found.append(cmd)
    return list(dict.fromkeys(found))
