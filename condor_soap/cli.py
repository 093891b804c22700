"""``condor-soap serve``, ``wsdl DIR``, ``passwd FILE USER`` and ``token FILE USER``; the client's
``q``, ``submit``, ``rm``, ``hold``, ``release``, ``fetch`` and ``status`` (:mod:`condor_soap.client.cli`)."""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from condor_soap import __version__, logs
from condor_soap.client import cli as client_cli
from condor_soap.config import Config


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="condor-soap", description="HTCondor's SOAP API as a service.")
    parser.add_argument("--version", action="version", version=f"condor-soap {__version__}")
    parser.add_argument("--log-level", dest="global_log_level", default="INFO",
                        help="logging level of every command (default: INFO; "
                             "'serve --log-level' overrides it)")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser(
        "serve", help="run the SOAP service", usage="condor-soap serve [options]",
        description="Serve HTCondor's SOAP API (both WSDLs, every operation) over HTTP. Every option "
                    "is also a keyword of condor_soap.Config; the table is condor_soap/config.py.")
    Config.add_arguments(serve_parser)
    wsdl_parser = commands.add_parser("wsdl", help="write condorSchedd.wsdl and condorCollector.wsdl")
    wsdl_parser.add_argument("directory")
    wsdl_parser.add_argument("--address", default="http://localhost:80",
                             help="soap:address location to write (default: http://localhost:80)")
    passwd_parser = commands.add_parser("passwd", help="add, change or delete a user of a password file")
    passwd_parser.add_argument("file")
    passwd_parser.add_argument("user")
    passwd_parser.add_argument("--password-stdin", action="store_true",
                               help="read the password from the first line of stdin instead of prompting")
    passwd_parser.add_argument("--delete", action="store_true", help="remove the user")
    token_parser = commands.add_parser("token", help="print a new bearer token for a user (its hash goes to FILE)")
    token_parser.add_argument("file")
    token_parser.add_argument("user")
    token_parser.add_argument("--delete", action="store_true", help="revoke the user's token")
    client_cli.add_commands(commands)
    args = parser.parse_args(argv)
    if args.command == "serve" and args.log_level is None:
        args.log_level = args.global_log_level
    try:
        config = Config.from_namespace(args) if args.command == "serve" else None
    except ValueError as exc:
        serve_parser.error(str(exc))
    logs.configure(config.log_level if config else args.global_log_level,
                   config.log_format if config else "text")
    if hasattr(args, "client_command"):
        return client_cli.run(args)

    if args.command == "wsdl":
        from condor_soap.soap.wsdl import write_wsdls

        for path in write_wsdls(args.directory, args.address):
            print(path)
        return 0
    if args.command in ("passwd", "token"):
        return _credentials(args)
    from condor_soap.server import serve
    from condor_soap.state_lock import StateDirBusy

    assert config is not None
    try:
        serve(config)
    except StateDirBusy as exc:
        print(f"condor-soap: {exc}", file=sys.stderr)
        return 1
    return 0


def _credentials(args: argparse.Namespace) -> int:
    """``passwd``/``token``: edit one user's line of a credential file (mode 0600)."""
    from condor_soap.auth import credentials as cred

    if not cred.valid_user(args.user):
        print(f"condor-soap: invalid user name {args.user!r}", file=sys.stderr)
        return 2
    if args.delete:
        if not cred.set_entry(args.file, args.user, None):
            print(f"condor-soap: no user {args.user!r} in {args.file}", file=sys.stderr)
            return 1
        return 0
    if args.command == "token":
        token = cred.new_token()
        cred.set_entry(args.file, args.user, cred.hash_token(token))
        print(token)  # shown once: only its hash is stored
        return 0
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        import getpass

        password = getpass.getpass(f"Password for {args.user}: ")
        if getpass.getpass("Again: ") != password:
            print("condor-soap: passwords differ", file=sys.stderr)
            return 1
    if not password:
        print("condor-soap: empty password", file=sys.stderr)
        return 1
    cred.set_entry(args.file, args.user, cred.hash_password(password))
    return 0
