"""The core's job ad -> an HTCondor submit description (no htcondor2 here).

HTCondor needs submit *commands* for what it acts on at submit time (``executable``,
``input``/``output``/``error``, the file transfer lists, ``universe``, ``initialdir``); every
other attribute the client set goes in as ``MY.<Name> = <expr>`` so it reaches the job ad with
the client's value. The schedd's queue parses values in *old* ClassAd syntax, so values are
written with ``printOld`` and checked to read back unchanged (a string with a newline, or one
ending in a backslash, cannot be stored and fails the commit). The ``$`` of a macro in client
text is written ``$(DOLLAR)`` so the submit language does not expand it.
"""
from __future__ import annotations

import os
import re
from typing import Any, Optional

import classad2

from condor_soap.core.arguments import join_v2, parse_environment, split_v1
from condor_soap.core.records import NewJob

#: Attributes HTCondor owns or rewrites: never taken from the client's ad (docs/htcondor-backend.rst).
OWNED = frozenset(name.casefold() for name in (
    "MyType", "TargetType", "ServerTime", "ClusterId", "ProcId", "GlobalJobId", "Iwd", "JobStatus",
    "EnteredCurrentStatus", "LastJobStatus", "StageInStart", "StageInFinish", "HoldReason", "HoldReasonCode",
    "HoldReasonSubCode", "JobStatusOnRelease", "User", "AutoClusterId", "AutoClusterAttrs", "JobSubmitMethod",
    "CondorSoapToken", "CondorSoapJob"))

#: Attribute -> submit command, used when the client's value is a literal.
COMMANDS = {"in": "input", "out": "output", "err": "error", "transferinputfiles": "transfer_input_files",
            "transferoutputfiles": "transfer_output_files", "shouldtransferfiles": "should_transfer_files",
            "whentotransferoutput": "when_to_transfer_output", "transferexecutable": "transfer_executable"}

UNIVERSES = {1: "standard", 4: "pvm", 5: "vanilla", 7: "scheduler", 8: "mpi", 9: "grid", 10: "java",
             11: "parallel", 12: "local", 13: "vm"}

_MACRO = re.compile(r"(?<!\$)\$(?=\w*\()")

#: Internal attributes the backend adds to every job it queues.
TOKEN_ATTR = "CondorSoapToken"
JOB_ATTR = "CondorSoapJob"


class Untranslatable(ValueError):
    """The job ad cannot be expressed as a submit description (the message says why)."""


def _escape(text: str) -> str:
    # "$(name)" and "$NAME(...)" are submit macros; "$$(...)" is left for match time by
    # HTCondor itself (as it would be in the original's queue), so it is kept as written.
    return _MACRO.sub("$(DOLLAR)", text)


def old_text(ad: classad2.ClassAd, name: str) -> str:
    """``name``'s value in old ClassAd syntax, verified to read back as the same expression."""
    one = classad2.ClassAd()
    one[name] = ad.lookup(name)
    line = one.printOld().rstrip("\n")
    value = line.split(" = ", 1)[1] if " = " in line else ""
    try:
        back = classad2.parseOne(f"{name} = {value}\n", classad2.ParserType.Old)
        same = "\n" not in value and "\x1f" not in value and str(back.lookup(name)) == str(ad.lookup(name))
    except Exception:  # classad2 raises several types for unparsable text
        same = False
    if not same:
        raise Untranslatable(f"the value of {name} cannot be stored by HTCondor (old ClassAd syntax)")
    return value


_TRANSLATIONS: dict[tuple[str, str], tuple[Any, Optional[str]]] = {}
MAX_TRANSLATIONS = 8192


def _translation(ad: classad2.ClassAd, name: str) -> tuple[Any, Optional[str]]:
    """(``name``'s value if the ad holds a literal, else None; its old-syntax text, None if
    HTCondor cannot store it).

    The jobs of a cluster mostly hold the same values: the answer is kept per (name, value
    text) and worked out once (the commit of 1,000 jobs spent a second here,
    docs/performance.rst)."""
    key = (name, str(ad.lookup(name)))
    found = _TRANSLATIONS.get(key)
    if found is None:
        value = ad.get(name)  # a literal's value; an expression is not evaluated (nor needed)
        if isinstance(value, classad2.ExprTree):
            value = None
        try:
            found = (value, old_text(ad, name))
        except Untranslatable:
            found = (value, None)
        if len(_TRANSLATIONS) >= MAX_TRANSLATIONS:
            _TRANSLATIONS.clear()
        _TRANSLATIONS[key] = found
    return found


def job_commands(job: NewJob, host_dir: str, token: str) -> dict[str, str]:
    """The submit commands of one job (values ready for a submit description)."""
    try:
        ad = classad2.ClassAd(job.ad)
    except Exception:
        raise Untranslatable("the job ad does not parse") from None
    out: dict[str, str] = {"initialdir": host_dir}
    names = {name.casefold(): name for name in ad.keys()}
    for key, name in names.items():
        if key in OWNED:
            continue
        value, old = _translation(ad, name)
        if key == "cmd" and isinstance(value, str):
            out["executable"] = value if os.path.isabs(value) else os.path.join(host_dir, value)
        elif key == "jobuniverse" and isinstance(value, int) and not isinstance(value, bool):
            out["universe"] = UNIVERSES.get(value, str(value))
        elif key in COMMANDS and isinstance(value, (str, bool)):
            text = value if isinstance(value, str) else ("true" if value else "false")
            if "\n" in text or "\x1f" in text:
                raise Untranslatable(f"the value of {name} cannot be a submit command")
            out[COMMANDS[key]] = text
        else:
            if old is None:
                raise Untranslatable(f"the value of {name} cannot be stored by HTCondor (old ClassAd syntax)")
            out[f"MY.{name}"] = old
    # V1-only Args/Env: HTCondor's submit always sets Arguments/Environment (V2, preferred by the
    # starter), so the V1 value is also given as V2 or it would be ignored.
    if "arguments" not in names and isinstance(ad.get("Args"), str):
        out["MY.Arguments"] = old_text(classad2.ClassAd({"Arguments": join_v2(split_v1(ad["Args"]))}), "Arguments")
    if "environment" not in names and isinstance(ad.get("Env"), str):
        try:
            env = parse_environment(None, ad["Env"])
        except ValueError as exc:
            raise Untranslatable(f"Env: {exc}") from None
        v2 = join_v2([f"{k}={v}" for k, v in env.items()])
        out["MY.Environment"] = old_text(classad2.ClassAd({"Environment": v2}), "Environment")
    out[f"MY.{TOKEN_ATTR}"] = old_text(classad2.ClassAd({TOKEN_ATTR: token}), TOKEN_ATTR)
    out[f"MY.{JOB_ATTR}"] = f'"{job.cluster}.{job.proc}"'
    # Keeps the job held after its input is spooled (the schedd's release sets JobStatus to
    # this); the service releases it once the whole transaction is in (atomicity).
    out["MY.JobStatusOnRelease"] = "5"
    return {k: _escape(v) for k, v in out.items()}


def cluster_description(per_job: list[dict[str, str]]) -> tuple[dict[str, str], list[dict[str, str]]]:
    """One submit description for a cluster plus its itemdata (one item per job): values
    common to every job are written once, the others through ``$(CondorSoapVN)`` variables."""
    keys: dict[str, None] = {}
    for commands in per_job:
        keys.update(dict.fromkeys(commands))
    common: dict[str, str] = {}
    columns: dict[str, list[str]] = {}
    for key in keys:
        values = [commands.get(key) for commands in per_job]
        if key not in ("initialdir", f"MY.{JOB_ATTR}") and None not in values and len(set(values)) == 1:
            common[key] = values[0]  # type: ignore[assignment]
        else:
            var = f"CondorSoapV{len(columns)}"  # (an underscore breaks the queue statement)
            common[key] = f"$({var})"
            columns[var] = [v or "" for v in values]
    items = [{var: values[i] for var, values in columns.items()} for i in range(len(per_job))]
    return common, items


def host_dir_name(root: str, cluster: int, proc: int) -> str:
    """The service's per-job directory (inputs before the job runs, its output once retrieved)."""
    return os.path.join(root, str(cluster), str(proc))


def parse_job_attr(value: Optional[object]) -> Optional[tuple[int, int]]:
    """``"c.p"`` -> (c, p), else None."""
    if not isinstance(value, str):
        return None
    cluster, _, proc = value.partition(".")
    try:
        return int(cluster), int(proc)
    except ValueError:
        return None
