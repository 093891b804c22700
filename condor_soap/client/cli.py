"""``condor-soap q|submit|rm|hold|release|fetch|status``: HTCondor's tools over the web service.

Output follows HTCondor's own tools (``condor_q -nobatch`` table and summary, ``-af``,
``-json``, ``-long``; ``condor_submit``, ``condor_rm``... messages). Exit status: 0 done,
1 the service refused (some of) it, 2 bad usage or input, 3 the service could not be reached
or answered badly, 4 authentication refused. Errors are one line on stderr.
"""
from __future__ import annotations

import argparse
import getpass
import itertools
import json
import os
import sys
import time
import warnings
from typing import Any, Callable, Iterable, Optional

from condor_soap.client.classad import ClassAd, Expression
from condor_soap.client.collector import AdType, Collector
from condor_soap.client.errors import (AuthenticationFailed, CondorSoapClientError, StatusError, TooManyRequests)
from condor_soap.client.schedd import JobAction, Schedd, parse_job_spec
from condor_soap.client.settings import Settings, resolve

EXIT_REFUSED, EXIT_USAGE, EXIT_TRANSPORT, EXIT_AUTH = 1, 2, 3, 4
STATUS_LETTERS = {1: "I", 2: "R", 3: "X", 4: "C", 5: "H", 6: ">", 7: "S"}
STATUS_NAMES = {1: "idle", 2: "running", 3: "removed", 4: "completed", 5: "held", 7: "suspended"}
ACTIONS = {"rm": (JobAction.Remove, "marked for removal"), "hold": (JobAction.Hold, "held"),
           "release": (JobAction.Release, "released")}


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register the client subcommands on ``condor-soap``'s parser; each sets ``client_command``."""
    service = argparse.ArgumentParser(add_help=False)
    group = service.add_argument_group("service and credentials (else $CONDOR_SOAP_*, else client.conf)")
    group.add_argument("--url", help="service URL (default: $CONDOR_SOAP_URL, else http://127.0.0.1:8080/)")
    group.add_argument("--user", help="HTTP Basic user (password: $CONDOR_SOAP_PASSWORD, else asked)")
    group.add_argument("--token-file", help="file holding a bearer token (default: $CONDOR_SOAP_TOKEN)")
    group.add_argument("--cert", help="client certificate (PEM; with --key if the key is separate)")
    group.add_argument("--key", help="client certificate key (PEM)")
    group.add_argument("--ca", help="CA bundle to verify the service's certificate")
    group.add_argument("--insecure", action="store_true", help="do not verify the service's certificate")
    group.add_argument("--timeout", type=float, help="seconds to wait for the service's answer (default 300)")
    group.add_argument("--config", help="client configuration file (default ~/.config/condor-soap/client.conf)")

    q = commands.add_parser("q", parents=[service], help="list jobs, like condor_q")
    q.add_argument("restrict", nargs="*", help="cluster, cluster.proc or owner (any of them)")
    _query_options(q)
    q.set_defaults(client_command=run_q)

    submit = commands.add_parser("submit", parents=[service], help="submit a job file, like condor_submit")
    submit.add_argument("file", help="submit description file ('-' for stdin); local files are found beside it")
    submit.add_argument("-a", "-append", dest="append", action="append", default=[], metavar="COMMAND",
                        help="add a submit command, e.g. -a 'request_memory = 2G'")
    submit.add_argument("-queue", "--count", dest="count", type=int, help="number of jobs (overrides 'queue N')")
    submit.add_argument("--owner", help="the jobs' Owner (default: the user)")
    submit.add_argument("--no-progress", action="store_true", help="no progress bars")
    submit.set_defaults(client_command=run_submit)

    for name, (action, _) in ACTIONS.items():
        act = commands.add_parser(name, parents=[service], help=f"{action.name.lower()} jobs, like condor_{name}")
        act.add_argument("jobs", nargs="*", help="cluster, cluster.proc or owner")
        act.add_argument("-constraint", "--constraint", help="jobs matching this ClassAd expression")
        act.add_argument("-reason", "--reason", help="reason recorded with the action")
        if name == "rm":
            act.add_argument("-forcex", "--forcex", action="store_true",
                             help="force removed jobs out of the queue")
        act.set_defaults(client_command=run_act)

    fetch = commands.add_parser("fetch", parents=[service], help="download a job's output, like condor_transfer_data")
    fetch.add_argument("job", help="cluster.proc, or a cluster (one directory per job)")
    fetch.add_argument("directory", nargs="?", default=".", help="where to write (default: .)")
    fetch.add_argument("--file", action="append", dest="files", metavar="NAME", help="only this spool file")
    fetch.add_argument("--include-inputs", action="store_true", help="also the job's own input files")
    fetch.add_argument("--close", action="store_true", help="closeSpool afterwards: the job may leave the queue")
    fetch.add_argument("--no-progress", action="store_true", help="no progress bars")
    fetch.set_defaults(client_command=run_fetch)

    status = commands.add_parser("status", parents=[service], help="list pool ads, like condor_status")
    kinds = status.add_mutually_exclusive_group()
    for flag, kind in (("-schedd", "Schedd"), ("-master", "Master"), ("-submitters", "Submitter"),
                       ("-any", "Any"), ("-collector", "Collector"), ("-negotiator", "Negotiator"),
                       ("-license", "License"), ("-storage", "Storage")):
        kinds.add_argument(flag, "-" + flag, dest="ad_type", action="store_const", const=kind)
    _query_options(status)
    status.set_defaults(client_command=run_status, ad_type="Startd")


def _query_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-constraint", "--constraint", help="only ads matching this ClassAd expression")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("-af", "-autoformat", "--af", dest="af", nargs="+", metavar="ATTR",
                     help="print these attributes, space-separated, one ad per line")
    out.add_argument("-json", "--json", action="store_true", help="the ads as a JSON list")
    out.add_argument("-l", "-long", "--long", action="store_true", help="the ads in full, 'Name = value'")


# connection -------------------------------------------------------------------------------

def settings(args: argparse.Namespace) -> Settings:
    """Options, then environment, then configuration file; asks for a password on a terminal."""
    token = None
    if args.token_file:
        with open(args.token_file, encoding="utf-8") as f:
            token = f.read().strip()
    cert = (args.cert, args.key) if args.cert and args.key else args.cert
    verify = False if args.insecure else args.ca
    found = resolve(args.url, user=args.user, token=token, cert=cert, verify=verify, timeout=args.timeout,
                    owner=getattr(args, "owner", None), config=args.config)
    if found.user and found.password is None and sys.stdin.isatty():
        found.password = getpass.getpass(f"Password for {found.user} at {found.url}: ")
    return found


def run(args: argparse.Namespace) -> int:
    """Run a client command: its exit status, every error on one line."""
    name = f"condor-soap {args.command}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = lambda message, *rest: print(f"{name}: warning: {message}", file=sys.stderr)
            return args.client_command(args)
    except (AuthenticationFailed, TooManyRequests) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return EXIT_AUTH
    except StatusError as exc:
        print(f"{name}: {exc.code.name}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except CondorSoapClientError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return EXIT_TRANSPORT
    except BrokenPipeError:  # output piped into head(1) or the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ValueError, TypeError, OSError) as exc:  # bad input: options, submit file, local files
        print(f"{name}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130


# formatting -------------------------------------------------------------------------------

def classad_text(value: Any) -> str:
    """A value as ClassAd text (``-long``): strings quoted, booleans lower case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if value is None:
        return "undefined"
    return str(value)


def autoformat(value: Any) -> str:
    """A value as ``-af`` prints it: strings bare, missing as ``undefined``."""
    if isinstance(value, str):
        return value
    return classad_text(value)


def json_value(value: Any) -> Any:
    return f"/Expr({value.text})/" if isinstance(value, Expression) else value


def print_ads(ads: Iterable[ClassAd], args: argparse.Namespace, table: Callable[[Iterable[ClassAd]], None]) -> int:
    """Print ads in the chosen format; returns how many."""
    count = 0
    if args.json:
        print("[", end="")
        for count, ad in enumerate(ads, 1):
            print("," if count > 1 else "", json.dumps({k: json_value(v) for k, v in ad.items()}, indent=2), sep="\n",
                  end="")
        print("\n]")
    elif args.af:
        for count, ad in enumerate(ads, 1):
            print(" ".join(autoformat(ad.get(name)) for name in args.af))
    elif args.long:
        for count, ad in enumerate(ads, 1):
            print("\n".join(f"{k} = {classad_text(v)}" for k, v in ad.items()), end="\n\n")
    else:
        table(ads)
    return count


def _duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    days, rest = divmod(seconds, 86400)
    return f"{days}+{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"


def _number(ad: ClassAd, name: str, default: float = 0) -> float:
    value = ad.get(name)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def job_row(ad: ClassAd) -> str:
    """One ``condor_q -nobatch`` line."""
    status = int(_number(ad, "JobStatus"))
    run_time = _number(ad, "RemoteWallClockTime")
    if status == 2 and _number(ad, "JobCurrentStartDate"):
        run_time += _number(ad, "ServerTime", time.time()) - _number(ad, "JobCurrentStartDate")
    qdate = time.localtime(_number(ad, "QDate"))
    submitted = f"{qdate.tm_mon}/{qdate.tm_mday:<2} {qdate.tm_hour:02d}:{qdate.tm_min:02d}"
    cmd = " ".join(str(p) for p in (os.path.basename(str(ad.get("Cmd", ""))), ad.get("Arguments", "")) if p)
    job = f"{ad.get('ClusterId')}.{ad.get('ProcId')}"
    return (f"{job:>7} {str(ad.get('Owner', '')):<14} {submitted:>11} {_duration(run_time):>12} "
            f"{STATUS_LETTERS.get(status, '?'):<2} {int(_number(ad, 'JobPrio')):<3} "
            f"{_number(ad, 'ImageSize') / 1024:<4.1f} {cmd[:40]}")


def job_table(schedd: Schedd) -> Callable[[Iterable[ClassAd]], None]:
    def table(ads: Iterable[ClassAd]) -> None:
        ads = iter(ads)
        first = next(ads, None)  # a failing query raises before the header is printed
        print(f"\n-- Schedd: {schedd.url} @ {time.strftime('%m/%d/%y %H:%M:%S')}")
        print(f"{'ID':>7} {'OWNER':<14} {'SUBMITTED':>11} {'RUN_TIME':>12} ST PRI SIZE CMD")
        totals = dict.fromkeys(STATUS_LETTERS, 0)
        for ad in itertools.chain([first] if first is not None else [], ads):
            print(job_row(ad))
            status = int(_number(ad, "JobStatus"))
            totals[status] = totals.get(status, 0) + 1
        parts = ", ".join(f"{totals[s]} {STATUS_NAMES[s]}" for s in (4, 3, 1, 2, 5, 7))
        print(f"\nTotal for query: {sum(totals.values())} jobs; {parts}\n")
    return table


def _restriction(words: list[str], constraint: Optional[str]) -> str:
    """condor_q/condor_rm arguments (clusters, jobs, owners: any of them) and -constraint."""
    terms = []
    for word in words:
        kind, value = parse_job_spec(word)
        if kind == "jobs":
            terms.append(f"(ClusterId == {value[0][0]} && ProcId == {value[0][1]})")
        elif kind == "cluster":
            terms.append(f"ClusterId == {value}")
        elif word.replace("_", "").replace("-", "").replace(".", "").isalnum():
            terms.append(f'Owner == "{word}"')
        else:
            raise ValueError(f"{word!r} is not a cluster, cluster.proc or user name (use -constraint)")
    parts = [f"({' || '.join(terms)})"] if terms else []
    if constraint:
        parts.append(f"({constraint})")
    return " && ".join(parts) or "true"


# commands ---------------------------------------------------------------------------------

def run_q(args: argparse.Namespace) -> int:
    with Schedd(settings=settings(args)) as schedd:
        print_ads(schedd.query(_restriction(args.restrict, args.constraint)), args, job_table(schedd))
    return 0


def run_submit(args: argparse.Namespace) -> int:
    if args.file == "-":
        text, base = sys.stdin.read(), os.getcwd()
    else:
        with open(args.file, encoding="utf-8") as f:
            text = f.read()
        base = os.path.dirname(os.path.abspath(args.file))
    queue_last = [line for line in text.splitlines() if line.strip().lower().startswith("queue")]
    body = "\n".join(line for line in text.splitlines() if line not in queue_last)
    text = "\n".join([body, *args.append, *queue_last])
    with Schedd(settings=settings(args), progress=False if args.no_progress else None) as schedd:
        print("Submitting job(s).")
        result = schedd.submit(text, args.count, base_dir=base)
    print(f"{result.num_procs()} job(s) submitted to cluster {result.cluster()}.")
    return 0


def run_act(args: argparse.Namespace) -> int:
    action, done = ACTIONS[args.command]
    if getattr(args, "forcex", False):
        action = JobAction.RemoveX
    if not args.jobs and not args.constraint:
        raise ValueError("name jobs (cluster, cluster.proc or user) or give -constraint")
    failed = 0
    with Schedd(settings=settings(args)) as schedd:
        specs: list[Any] = []
        for word in args.jobs:
            kind, _ = parse_job_spec(word)
            specs.append(word if kind in ("jobs", "cluster") else _restriction([word], None))
        if args.constraint:
            specs.append(args.constraint)
        for spec in specs:
            seen = 0
            for job, error in schedd.act_each(action, spec, args.reason):
                seen += 1
                if error is None:
                    print(f"All jobs in cluster {job} have been {done}" if "." not in job else f"Job {job} {done}")
                else:
                    failed += 1
                    print(f"condor-soap {args.command}: job {job}: {error.code.name}: {error.message}", file=sys.stderr)
            if not seen:
                failed += 1
                print(f"condor-soap {args.command}: no jobs match {spec}", file=sys.stderr)
    return EXIT_REFUSED if failed else 0


def run_fetch(args: argparse.Namespace) -> int:
    with Schedd(settings=settings(args), progress=False if args.no_progress else None) as schedd:
        for path in schedd.retrieve(args.job, args.directory, files=args.files, include_inputs=args.include_inputs):
            print(path)
        if args.close:
            schedd.close_spool(args.job)
    return 0


def machine_table(ads: Iterable[ClassAd]) -> None:
    """``condor_status``: one line per slot, then totals by architecture and state."""
    print(f"{'Name':<24} {'OpSys':<10} {'Arch':<8} {'State':<10} {'Activity':<9} {'LoadAv':>6} {'Mem':>6}")
    states = ("Owner", "Claimed", "Unclaimed", "Matched", "Preempting", "Drained")
    totals: dict[str, dict[str, int]] = {}
    for ad in ads:
        print(f"{str(ad.get('Name', '')):<24} {str(ad.get('OpSys', '')):<10} {str(ad.get('Arch', '')):<8} "
              f"{str(ad.get('State', '')):<10} {str(ad.get('Activity', '')):<9} "
              f"{_number(ad, 'LoadAvg'):>6.3f} {int(_number(ad, 'Memory')):>6}")
        row = totals.setdefault(f"{ad.get('Arch', '?')}/{ad.get('OpSys', '?')}", dict.fromkeys(states, 0))
        row[str(ad.get("State"))] = row.get(str(ad.get("State")), 0) + 1
    print(f"\n{'':>16} {'Total':>5} " + " ".join(f"{s:>{len(s)}}" for s in states))
    for label, row in [*totals.items(), ("Total", {s: sum(r.get(s, 0) for r in totals.values()) for s in states})]:
        print(f"{label:>16} {sum(row.values()):>5} " + " ".join(f"{row.get(s, 0):>{len(s)}}" for s in states))
    print()


def generic_table(ads: Iterable[ClassAd]) -> None:
    print(f"{'Name':<32} {'MyType':<12} {'Machine':<24}")
    for ad in ads:
        print(f"{str(ad.get('Name', '')):<32} {str(ad.get('MyType', '')):<12} {str(ad.get('Machine', '')):<24}")


def run_status(args: argparse.Namespace) -> int:
    with Collector(settings=settings(args)) as collector:
        ad_type = AdType[args.ad_type]
        table = machine_table if ad_type is AdType.Startd else generic_table
        print_ads(collector.query(ad_type, args.constraint), args, table)
    return 0
