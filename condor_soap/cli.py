"""``condor-soap serve`` and ``condor-soap wsdl DIR``."""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Optional, Sequence

from condor_soap import __version__
from condor_soap.config import Config


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="condor-soap", description="HTCondor's SOAP API as a service.")
    parser.add_argument("--version", action="version", version=f"condor-soap {__version__}")
    parser.add_argument("--log-level", default="INFO", help="logging level (default: INFO)")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="run the SOAP service")
    Config.add_arguments(serve_parser)
    wsdl_parser = commands.add_parser("wsdl", help="write condorSchedd.wsdl and condorCollector.wsdl")
    wsdl_parser.add_argument("directory")
    wsdl_parser.add_argument("--address", default="http://localhost:80",
                             help="soap:address location to write (default: http://localhost:80)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    if args.command == "wsdl":
        from condor_soap.wire.wsdl import write_wsdls

        for path in write_wsdls(args.directory, args.address):
            print(path)
        return 0
    try:
        config = Config.from_namespace(args)
    except ValueError as exc:
        parser.error(str(exc))
    from condor_soap.server import serve

    serve(config)
    return 0
