#!/usr/bin/env python3
"""What the DTD check (``soap.protocol.check_prolog``) costs per request, against the parse
every request already pays (lxml with the SOAP face's parser settings), in one run.

For a getVersionString envelope, a submit-sized envelope (60 attributes) and a 1 MiB
sendFile, prints CPU microseconds per document for both and the ratio check / parse.

    .venv/bin/python bench/bench_prolog.py [--rounds 2000]
"""
from __future__ import annotations

import argparse
import base64
import time

from lxml import etree

from condor_soap.soap.protocol import LenientSoap11, check_prolog

ENVELOPE = ('<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:c="urn:condor"><soapenv:Body>{}</soapenv:Body></soapenv:Envelope>')


def documents() -> dict[str, bytes]:
    item = "<item><name>Attr{0}</name><type>STRING-ATTR</type><value>value {0}</value></item>"
    data = base64.b64encode(bytes(range(256)) * 4096).decode()  # 1 MiB
    return {
        "getVersionString": ENVELOPE.format("<c:getVersionString/>").encode(),
        "submit, 60 attributes": ENVELOPE.format(
            "<c:submit><clusterId>1</clusterId><jobId>0</jobId><jobAd>"
            + "".join(item.format(i) for i in range(60)) + "</jobAd></c:submit>").encode(),
        "sendFile, 1 MiB": ENVELOPE.format(f"<c:sendFile><name>f</name><offset>0</offset><data>{data}</data>"
                                           "</c:sendFile>").encode(),
    }


def cpu_us(fn, rounds: int) -> float:
    """Least CPU time of one call, in microseconds, over 5 batches of ``rounds`` calls."""
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        for _ in range(rounds):
            fn()
        best = min(best, (time.process_time() - started) / rounds * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    settings = LenientSoap11().parser_kwargs
    for name, doc in documents().items():
        rounds = max(10, args.rounds * 200 // len(doc)) if len(doc) > 100_000 else args.rounds
        check = cpu_us(lambda: check_prolog([doc]), rounds)
        parse = cpu_us(lambda: etree.fromstring(doc, etree.XMLParser(**settings)), rounds)
        print(f"{name:24s} check {check:9.1f} us   parse {parse:9.1f} us   ratio {check / parse:5.2f}")


if __name__ == "__main__":
    main()
