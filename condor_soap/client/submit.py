"""Submit descriptions (a dict, an ``htcondor2.Submit`` or submit-file text) as the SOAP
contract needs them: ``createJobTemplate`` arguments, job attributes to set over the template,
and the local files to upload.

The commands mapped (everything else is a macro, usable as ``$(name)``, and a command that is
neither mapped nor used as a macro is reported with a :class:`UserWarning`):

================================================  ============================================
Submit command                                    Sent as
================================================  ============================================
``universe``                                      createJobTemplate ``type``
``executable``                                    ``cmd``; uploaded when it is a local file
                                                  and ``transfer_executable`` is not false
``arguments`` / ``args``                          ``args`` (new ``"..."`` or old syntax)
``requirements``                                  ``requirements``
``input``, ``output``, ``error``                  ``In`` (uploaded), ``Out``, ``Err``
``transfer_input_files``                          each file uploaded (by its base name)
``transfer_output_files``                         ``TransferOutputFiles``
``should_transfer_files``                         ``ShouldTransferFiles``
``when_to_transfer_output``                       ``WhenToTransferOutput``
``environment`` / ``env``                         ``Environment`` (new syntax) / ``Env`` (old)
``request_cpus``, ``request_memory``,             ``RequestCpus``, ``RequestMemory`` (MiB),
``request_disk``                                  ``RequestDisk`` (KiB); units K, M, G, T
``priority``, ``notification``, ``notify_user``   ``JobPrio``, ``JobNotification``, ``NotifyUser``
``batch_name``                                    ``JobBatchName``
``periodic_hold``, ``periodic_release``,          ``PeriodicHold``, ``PeriodicRelease``,
``periodic_remove``, ``on_exit_hold``,            ``PeriodicRemove``, ``OnExitHold``,
``on_exit_remove``                                ``OnExitRemove``
``hold = true``                                   held in the same transaction (``holdJob``)
``stream_output``, ``stream_error``               ``StreamOut``, ``StreamErr``
``+Name = expr`` / ``MY.Name = expr``             the attribute, as ClassAd expression text
``initialdir``                                    where local files are found (the job's
                                                  ``Iwd`` on the service is its spool)
``queue [N]``                                     the number of jobs (text only)
================================================  ============================================

``$(Cluster)``/``$(ClusterId)`` and ``$(Process)``/``$(ProcId)`` expand per job.
"""
from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Union

from condor_soap.client.classad import Expression
from condor_soap.client.transfer import Source

UNIVERSES = {"standard": "STANDARD", "vanilla": "VANILLA", "scheduler": "SCHEDULER", "mpi": "MPI",
             "grid": "GRID", "java": "JAVA", "parallel": "PARALLEL", "local": "LOCAL", "vm": "VM",
             **{str(n): u for n, u in ((1, "STANDARD"), (5, "VANILLA"), (7, "SCHEDULER"), (8, "MPI"), (9, "GRID"),
                                       (10, "JAVA"), (11, "PARALLEL"), (12, "LOCAL"), (13, "VM"))}}
NOTIFICATION = {"never": 0, "always": 1, "complete": 2, "error": 3}
#: command -> job attribute, for values set as they are written (expressions or strings)
EXPRESSIONS = {"periodic_hold": "PeriodicHold", "periodic_release": "PeriodicRelease",
               "periodic_remove": "PeriodicRemove", "on_exit_hold": "OnExitHold", "on_exit_remove": "OnExitRemove",
               "priority": "JobPrio", "request_cpus": "RequestCpus", "stream_output": "StreamOut",
               "stream_error": "StreamErr"}
STRINGS = {"output": "Out", "error": "Err", "transfer_output_files": "TransferOutputFiles",
           "notify_user": "NotifyUser", "batch_name": "JobBatchName"}
UPPER_STRINGS = {"should_transfer_files": "ShouldTransferFiles", "when_to_transfer_output": "WhenToTransferOutput"}
OTHERS = {"universe", "executable", "arguments", "args", "requirements", "input", "transfer_input_files",
          "environment", "env", "request_memory", "request_disk", "notification", "hold", "initialdir",
          "transfer_executable"}
_MACRO = re.compile(r"(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_.]*)\)")
_QUEUE = re.compile(r"queue\b\s*(\d*)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)b?", re.IGNORECASE)


@dataclass
class JobDescription:
    """One job of a submit description, ready for the wire."""

    universe: str
    cmd: Optional[str]
    args: Optional[str]  # V2 raw syntax
    requirements: Optional[str]
    attributes: dict[str, Any] = field(default_factory=dict)
    input_files: dict[str, Source] = field(default_factory=dict)  # spool name -> local file
    hold: bool = False  # held at commit (a JobStatus in the ad is the schedd's to set)


class SubmitDescription:
    """Submit commands (keys case-insensitive, ``+Name`` kept as ``MY.Name``) and the
    ``queue`` count found in text."""

    def __init__(self, description: Union[str, Mapping[str, Any]], base_dir: Optional[str] = None) -> None:
        self.count: Optional[int] = None
        if isinstance(description, str):
            commands = self._parse(description)
        elif isinstance(description, Mapping):
            commands = {str(k): "" if v is None else str(v) for k, v in description.items()}
            queue = getattr(description, "getQArgs", None)  # htcondor2.Submit: "queue N"
            qargs = queue().strip() if callable(queue) else ""
            if qargs.isdigit():
                self.count = int(qargs)
            elif qargs:
                raise ValueError(f"queue {qargs!r}: only 'queue N' is supported")
        else:
            raise TypeError("a submit description is a dict, an htcondor2.Submit or submit-file text, "
                            f"not {type(description).__name__}")
        self.commands = {_key(k): (k, v.strip()) for k, v in commands.items()}
        self.base_dir = base_dir or os.getcwd()
        self._warned: set[str] = set()

    def _parse(self, text: str) -> dict[str, str]:
        commands: dict[str, str] = {}
        lines = iter(text.replace("\\\n", "").splitlines())
        for number, line in enumerate(lines, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            queued = _QUEUE.match(line)
            if queued:
                if self.count is not None:
                    raise ValueError(f"line {number}: only one queue statement is supported")
                self.count = int(queued.group(1) or 1)
                continue
            if line.lower().startswith("queue"):
                raise ValueError(f"line {number}: {line!r}: only 'queue' and 'queue N' are supported")
            name, eq, value = line.partition("=")
            if not eq or not name.strip():
                raise ValueError(f"line {number}: {line!r} is not 'command = value'")
            commands[name.strip()] = value.strip()
        return commands

    def job(self, cluster: int, proc: int) -> JobDescription:
        """Job ``cluster.proc``: macros expanded, commands mapped, local files found."""
        used: set[str] = set()
        macros = {"cluster": str(cluster), "clusterid": str(cluster), "process": str(proc), "procid": str(proc)}

        def get(key: str) -> Optional[str]:
            if key not in self.commands:
                return None
            return self._expand(self.commands[key][1], macros, used)

        base = os.path.join(self.base_dir, get("initialdir") or "")
        universe = get("universe") or "vanilla"
        if universe.lower() not in UNIVERSES:
            raise ValueError(f"universe {universe!r} is not one of {', '.join(sorted(u for u in UNIVERSES if not u.isdigit()))}")
        job = JobDescription(UNIVERSES[universe.lower()], None, _arguments(get("arguments") or get("args")),
                             get("requirements") or None)
        executable = get("executable")
        if executable is None:
            raise ValueError("the submit description has no executable")
        transfer = _boolean(get("transfer_executable"), True)
        local = os.path.join(base, os.path.expanduser(executable))
        if transfer and os.path.isfile(local):
            job.cmd = os.path.basename(executable)
            job.input_files[job.cmd] = local
        elif transfer and not os.path.isabs(executable):
            raise ValueError(f"executable {executable!r} not found in {base}")
        else:
            job.cmd = executable
            job.attributes["TransferExecutable"] = False
        stdin = get("input")
        if stdin:
            job.attributes["In"] = self._input(job, base, stdin)
        for name in (get("transfer_input_files") or "").split(","):
            if name.strip():
                self._input(job, base, name.strip())
        for key, attr in STRINGS.items():
            value = get(key)
            if value is not None:
                job.attributes[attr] = value
        for key, attr in UPPER_STRINGS.items():
            value = get(key)
            if value is not None:
                job.attributes[attr] = value.upper()
        for key, attr in EXPRESSIONS.items():
            value = get(key)
            if value:
                job.attributes[attr] = Expression(value)
        self._resources(job, get)
        environment = get("environment")
        if environment is not None:
            job.attributes["Environment"] = _unquote(environment) if _quoted(environment) else environment
        env = get("env")
        if env is not None:
            job.attributes["Env"] = env
        notification = get("notification")
        if notification is not None:
            if notification.lower() not in NOTIFICATION:
                raise ValueError(f"notification {notification!r} is not one of {', '.join(NOTIFICATION)}")
            job.attributes["JobNotification"] = NOTIFICATION[notification.lower()]
        job.hold = _boolean(get("hold"), False)
        for key, (name, _) in self.commands.items():
            if key.startswith("my."):
                job.attributes[name[1:] if name.startswith("+") else name.split(".", 1)[1]] = Expression(get(key) or "")
        self._warn_unused(used)
        return job

    def _input(self, job: JobDescription, base: str, name: str) -> str:
        local = os.path.join(base, os.path.expanduser(name))
        if not os.path.isfile(local):
            raise ValueError(f"input file {name!r} not found in {base}")
        spool_name = os.path.basename(name)
        job.input_files[spool_name] = local
        return spool_name

    def _resources(self, job: JobDescription, get: Callable[[str], Optional[str]]) -> None:
        for key, attr, unit in (("request_memory", "RequestMemory", 1 << 20), ("request_disk", "RequestDisk", 1 << 10)):
            value = get(key)
            if not value:
                continue
            size = _SIZE.fullmatch(value.strip())
            if size is None:
                job.attributes[attr] = Expression(value)
                continue
            default_unit = "m" if unit == 1 << 20 else "k"
            number = float(size.group(1)) * _UNITS[(size.group(2) or default_unit).lower()]
            job.attributes[attr] = int(-(-number // unit))  # round up, as condor_submit does

    def _expand(self, value: str, macros: dict[str, str], used: set[str], depth: int = 0) -> str:
        def one(match: re.Match) -> str:
            name = match.group(1).lower()
            used.add(name)
            if name in macros:
                return macros[name]
            if name in self.commands and depth < 10:
                return self._expand(self.commands[name][1], macros, used, depth + 1)
            return ""  # an undefined macro expands to nothing, as in condor_submit

        return _MACRO.sub(one, value)

    def _warn_unused(self, used: set[str]) -> None:
        known = set(EXPRESSIONS) | set(STRINGS) | set(UPPER_STRINGS) | OTHERS
        for key, (name, _) in self.commands.items():
            if key not in known and key not in used and not key.startswith("my.") and key not in self._warned:
                self._warned.add(key)  # once per description, not once per job
                warnings.warn(f"submit command {name!r} is not supported by condor_soap.client and is ignored "
                              "(set a job attribute with +Name = value)", UserWarning, stacklevel=4)


def _key(name: str) -> str:
    name = name.strip()
    if name.startswith("+"):
        return "my." + name[1:].lower()
    return name.lower()


def _boolean(value: Optional[str], default: bool) -> bool:
    if value is None or not value.strip():
        return default
    return value.strip().lower() in ("true", "yes", "1", "t", "y")


def _quoted(value: str) -> bool:
    return len(value) >= 2 and value[0] == value[-1] == '"'


def _unquote(value: str) -> str:
    return value[1:-1].replace('""', '"')


def _arguments(value: Optional[str]) -> Optional[str]:
    """Submit-file arguments as V2 raw syntax: new syntax is ``"..."`` (``""`` a quote),
    old syntax is words separated by white space."""
    if value is None:
        return None
    if _quoted(value):
        return _unquote(value)
    return " ".join(w if "'" not in w else "'" + w.replace("'", "''") + "'" for w in value.split())
