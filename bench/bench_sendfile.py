#!/usr/bin/env python3
"""sendFile upload speed (local backend) against a bare waitress app doing the same work,
in one run; and the service's peak memory growth while staging.

One client on one keep-alive connection sends ``--size-mib`` MiB in ``--chunk-kib`` KiB
sendFile envelopes. The baseline is a bare waitress WSGI app (same threads) that reads each
envelope, base64-decodes its ``<data>`` and appends it to a file: the wire's speed. The
service stages the same bytes of a declared file in an open transaction. Prints the payload
MB/s of both, their ratio, and the service's peak RSS growth during the upload.

    bench/bench_sendfile.py [--size-mib 256] [--chunk-kib 1024] [--repeat 3] [--quick]
"""
from __future__ import annotations

import argparse
import base64
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

UPLOAD_ENV = "CONDOR_SOAP_BENCH_UPLOADS"  # where the baseline appends, made and removed by main()
OK = (b'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope '
      b'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><sendFileResponse>'
      b'<response><code>SUCCESS</code></response></sendFileResponse></soap:Body></soap:Envelope>')


def bare_app(path: str):
    """The baseline: read the envelope, decode ``<data>``, append to ``path``."""
    def app(environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start = body.index(b"<data>") + len(b"<data>")
        data = base64.b64decode(body[start:body.index(b"</data>", start)])
        with open(path, "ab") as f:
            f.write(data)
        start_response("200 OK", [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(OK)))])
        return [OK]
    return app


def serve_bare(threads: int, ports) -> None:
    import waitress.server

    # the file lives in the parent's directory: this process is terminated, not left to clean up
    server = waitress.server.create_server(bare_app(os.path.join(os.environ[UPLOAD_ENV], "upload")), host="127.0.0.1",
                                           port=0, threads=threads, max_request_body_size=1 << 31)
    ports.put(server.effective_port)
    server.run()


def upload(conn, size: int, chunk: bytes, header: str) -> float:
    """Send ``size`` bytes as sendFile envelopes of ``chunk``; seconds taken."""
    encoded = base64.b64encode(chunk).decode()
    start = time.perf_counter()
    for offset in range(0, size, len(chunk)):
        piece = encoded if offset + len(chunk) <= size else base64.b64encode(chunk[:size - offset]).decode()
        common.call(conn, common.envelope("sendFile", f"{header}<offset>{offset}</offset><data>{piece}</data>"))
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="condor-soap-bench-") as directory:
        os.environ[UPLOAD_ENV] = directory  # inherited by the baseline's process
        run()


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--chunk-kib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads of both servers")
    parser.add_argument("--quick", action="store_true", help="16 MiB, 1 repeat (CI smoke test)")
    parser.add_argument("--profile", metavar="FILE", help="py-spy profile of the service during the last upload")
    args = parser.parse_args()
    if args.quick:
        args.size_mib, args.repeat = 16, 1
    size, chunk = args.size_mib << 20, os.urandom(args.chunk_kib << 10)
    name = "upload.bin"

    bare, port = common.spawn_server(serve_bare, args.threads)
    try:
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        bare_times = [upload(conn, size, chunk, "") for _ in range(args.repeat)]
        conn.close()
    finally:
        bare.terminate()
        bare.join(10)

    service = common.Service("--threads", str(args.threads), "--blob-cache-bytes", "0")
    try:
        conn = service.connection()
        soap_times, growths = [], []
        for _ in range(args.repeat):
            txn = int(common.value(common.call(conn, common.envelope("beginTransaction", "<duration>600</duration>")),
                                   "id"))
            cluster = common.value(common.call(conn, common.envelope("newCluster", common.txn_xml(txn))), "integer")
            proc = common.value(common.call(conn, common.envelope(
                "newJob", f"{common.txn_xml(txn)}<clusterId>{cluster}</clusterId>")), "integer")
            job = f"{common.txn_xml(txn)}<clusterId>{cluster}</clusterId><jobId>{proc}</jobId><name>{name}</name>"
            common.call(conn, common.envelope("declareFile", f"{job}<size>{size}</size><hashType>NOHASH</hashType>"))
            with common.profiling(service.proc.pid, args.profile if _ == args.repeat - 1 else None):
                took, growth = service.peak_growth(lambda: upload(conn, size, chunk, job))
            soap_times.append(took)  # type: ignore[arg-type]
            growths.append(growth)
            listing = common.call(conn, common.envelope("listSpool", job.rsplit("<name>", 1)[0]))
            if f"<size>{size}</size>".encode() not in listing:
                raise RuntimeError(f"the staged file does not have {size} bytes: {listing[:300]!r}")
            common.call(conn, common.envelope("abortTransaction", common.txn_xml(txn)))
        conn.close()
    finally:
        service.close()
    bare_rate = size / common.median(bare_times) / 1e6
    soap_rate = size / common.median(soap_times) / 1e6
    print(f"{args.size_mib} MiB in {args.chunk_kib} KiB chunks, medians of {args.repeat}")
    print(f"bare waitress app:       {bare_rate:8.1f} MB/s payload")
    print(f"condor-soap sendFile:    {soap_rate:8.1f} MB/s payload")
    print(f"service peak RSS growth: {max(growths) / 2**20:8.1f} MiB")
    print(common.ratio_line("sendFile speed / bare waitress speed", soap_rate / bare_rate))


if __name__ == "__main__":
    main()
