"""HTCondor submit-description text -> job attributes, for clients that submit with a submit
file rather than a job ad (the REST face).

The PyPI bindings cannot do this without a schedd (``htcondor2.Submit.jobs`` is not
implemented), and the local backend has none, so the common part of the submit language is
read here: ``key = value`` lines (``\\`` continues a line, ``#`` comments), the commands of
:data:`COMMANDS`, ``+Name = expr`` / ``MY.Name = expr``, other keys as macros, ``$(name)``
expansion with ``$(Cluster)``/``$(ClusterId)``/``$(Process)``/``$(ProcId)``, and one final
``queue [N]``. Anything else (``queue ... from/in/matching``, an undefined macro, a command of
:data:`REFUSED`) is an error naming the line, never silently dropped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Optional

from condor_soap.core.arguments import join_v2, parse_environment, split_v1, split_v2
from condor_soap.core.classads import is_valid_name, parse_expr, unparse_old
from condor_soap.core.records import Attr, AttrType, Universe

MAX_PROCS = 10000
_MACRO = re.compile(r"\$\((\w+)\)")
_QUEUE = re.compile(r"queue(?:\s+(\d+))?\s*\Z", re.I)
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGT])B?\s*\Z", re.I)
_UNITS = {"K": 1, "M": 1 << 10, "G": 1 << 20, "T": 1 << 30}  # KiB of request_disk; / 1024 for memory


class SubmitTextError(ValueError):
    """The text is not a submit description this service reads (the message says why)."""


def _string(name: str) -> Callable[[str], Attr]:
    return lambda value: Attr(name, AttrType.STRING, value)


def _expr(name: str) -> Callable[[str], Attr]:
    def attr(value: str) -> Attr:
        if parse_expr(value) is None:
            raise SubmitTextError(f"{name}: {value!r} is not a ClassAd expression")
        return Attr(name, AttrType.EXPRESSION, value)
    return attr


def _size(name: str, kib_per_unit: int) -> Callable[[str], Attr]:
    """request_memory (MiB) / request_disk (KiB), with HTCondor's K/M/G/T suffixes."""
    def attr(value: str) -> Attr:
        match = _SIZE.match(value)
        if match:
            amount = float(match.group(1)) * _UNITS[match.group(2).upper()] / kib_per_unit
            return Attr(name, AttrType.INTEGER, str(max(1, int(amount + 0.999))))
        return _expr(name)(value)
    return attr


def _arguments(value: str) -> Attr:
    try:
        words = split_v2(value[1:-1].replace('""', '"')) if value.startswith('"') and value.endswith('"') \
            else split_v1(value)
    except ValueError as exc:
        raise SubmitTextError(f"arguments: {exc}") from None
    return Attr("Arguments", AttrType.STRING, join_v2(words))


def _environment(value: str) -> Attr:
    try:
        env = (parse_environment(value[1:-1].replace('""', '"')) if value.startswith('"') and value.endswith('"')
               else parse_environment(None, value))
    except ValueError as exc:
        raise SubmitTextError(f"environment: {exc}") from None
    return Attr("Environment", AttrType.STRING, join_v2([f"{k}={v}" for k, v in env.items()]))


def _universe(value: str) -> Attr:
    try:
        return Attr("JobUniverse", AttrType.INTEGER, str(int(Universe[value.strip().upper()])))
    except KeyError:
        raise SubmitTextError(f"universe: unknown universe {value!r}") from None


def _hold(value: str) -> Attr:
    held = value.strip().lower() in ("true", "yes", "1")
    return Attr("JobStatus", AttrType.INTEGER, "5" if held else "1")


def _notification(value: str) -> Attr:
    codes = {"never": 0, "always": 1, "complete": 2, "error": 3}
    if value.strip().lower() not in codes:
        raise SubmitTextError(f"notification: one of {', '.join(codes)}, not {value!r}")
    return Attr("JobNotification", AttrType.INTEGER, str(codes[value.strip().lower()]))


def _upper(name: str) -> Callable[[str], Attr]:
    return lambda value: Attr(name, AttrType.STRING, value.strip().upper())


#: submit command -> the attribute it sets.
COMMANDS: dict[str, Callable[[str], Attr]] = {
    "executable": _string("Cmd"), "arguments": _arguments, "args": _arguments, "environment": _environment,
    "env": _environment, "input": _string("In"), "output": _string("Out"), "error": _string("Err"),
    "log": _string("UserLog"), "transfer_input_files": _string("TransferInputFiles"),
    "transfer_output_files": _string("TransferOutputFiles"),
    "should_transfer_files": _upper("ShouldTransferFiles"), "when_to_transfer_output": _upper("WhenToTransferOutput"),
    "transfer_executable": _expr("TransferExecutable"), "requirements": _expr("Requirements"), "rank": _expr("Rank"),
    "request_cpus": _expr("RequestCpus"), "request_memory": _size("RequestMemory", 1024),
    "request_disk": _size("RequestDisk", 1), "priority": _expr("JobPrio"), "batch_name": _string("JobBatchName"),
    "leave_in_queue": _expr("LeaveJobInQueue"), "hold": _hold, "notification": _notification,
    "notify_user": _string("NotifyUser"), "periodic_hold": _expr("PeriodicHold"),
    "periodic_release": _expr("PeriodicRelease"), "periodic_remove": _expr("PeriodicRemove"),
    "on_exit_hold": _expr("OnExitHold"), "on_exit_remove": _expr("OnExitRemove"), "universe": _universe,
    "accounting_group": _string("AcctGroup"), "accounting_group_user": _string("AcctGroupUser"),
}
#: Commands that cannot mean what they say here.
REFUSED = {"initialdir": "a job runs in its spool directory (send its files instead)",
           "getenv": "the service's environment is not the submitter's",
           "x509userproxy": "proxies are not supported", "use_x509userproxy": "proxies are not supported"}


@dataclass(frozen=True)
class SubmitDescription:
    """What the text asks for: the attributes of each job (in proc order) of one cluster."""

    jobs: list[list[Attr]]


def _lines(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip() if pending else raw.rstrip()
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        line, pending = (pending + line).strip(), ""
        if line and not line.startswith("#"):
            out.append((start, line))
    if pending.strip():
        out.append((start, pending.strip()))
    return out


def parse(text: str, cluster: int, first_proc: int = 0) -> SubmitDescription:
    """The jobs ``text`` describes, for ``cluster`` from ``first_proc``."""
    commands: list[tuple[int, str, str]] = []
    macros: dict[str, str] = {}
    count: Optional[int] = None
    for number, line in _lines(text):
        queued = _QUEUE.match(line)
        if queued:
            if count is not None:
                raise SubmitTextError(f"line {number}: only one queue statement is supported")
            count = int(queued.group(1) or 1)
            continue
        if line.lower().startswith("queue"):
            raise SubmitTextError(f"line {number}: only 'queue' or 'queue N' is supported")
        if count is not None:
            raise SubmitTextError(f"line {number}: commands after the queue statement")
        key, eq, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not eq or not key:
            raise SubmitTextError(f"line {number}: expected 'name = value', got {line[:80]!r}")
        if key.startswith("+") or key.lower().startswith("my.") or key.lower() in COMMANDS or key.lower() in REFUSED:
            commands.append((number, key, value))
        else:
            macros[key.lower()] = value  # HTCondor reads any other key as a macro
    if count is None:
        raise SubmitTextError("no queue statement")
    if not 1 <= count <= MAX_PROCS:
        raise SubmitTextError(f"queue {count}: between 1 and {MAX_PROCS} jobs")
    jobs = []
    for proc in range(first_proc, first_proc + count):
        fixed = {"cluster": str(cluster), "clusterid": str(cluster), "process": str(proc), "procid": str(proc)}
        jobs.append([_attr(number, key, _expand(number, value, macros, fixed)) for number, key, value in commands])
    return SubmitDescription(jobs)


def _expand(number: int, value: str, macros: dict[str, str], fixed: dict[str, str], depth: int = 0) -> str:
    def one(match: re.Match) -> str:
        name = match.group(1).lower()
        if name in fixed:
            return fixed[name]
        if name not in macros:
            raise SubmitTextError(f"line {number}: undefined macro $({match.group(1)})")
        if depth > 20:
            raise SubmitTextError(f"line {number}: macros nested too deep")
        return _expand(number, macros[name], macros, fixed, depth + 1)
    return _MACRO.sub(one, value)


def _attr(number: int, key: str, value: str) -> Attr:
    lower = key.lower()
    if key.startswith("+") or lower.startswith("my."):
        name = key[1:] if key.startswith("+") else key[3:]
        if not is_valid_name(name):
            raise SubmitTextError(f"line {number}: {name!r} is not an attribute name")
        expr = parse_expr(value)
        if expr is None:
            raise SubmitTextError(f"line {number}: {value!r} is not a ClassAd expression")
        return Attr(name, AttrType.EXPRESSION, unparse_old(expr))
    if lower in REFUSED:
        raise SubmitTextError(f"line {number}: {key}: {REFUSED[lower]}")
    try:
        return COMMANDS[lower](value)
    except SubmitTextError as exc:
        raise SubmitTextError(f"line {number}: {exc}") from None
