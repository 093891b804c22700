#!/usr/bin/env python3
"""getVersionString throughput of condor-soap against a bare Spyne echo, in one run.

Both servers run in their own processes with the same waitress settings (threads, host);
one client process drives them in alternating rounds with the same number of keep-alive
connections and prints the median requests/second and the ratio condor-soap / bare Spyne.

    bench/bench_version.py [--seconds 2] [--rounds 5] [--clients 16] [--threads 8] [--quick]
"""
from __future__ import annotations

import argparse
import http.client
import os
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATE_ENV = "CONDOR_SOAP_BENCH_STATE"  # the service's state directory, made and removed by main()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
ECHO_BODY = (b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
             b'xmlns:e="urn:bench"><soapenv:Body><e:echo><e:s>x</e:s></e:echo></soapenv:Body></soapenv:Envelope>')
VERSION_BODY = (b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
                b'<soapenv:Body><getVersionString xmlns="urn:condor"/></soapenv:Body></soapenv:Envelope>')


def _serve(app, threads: int, port_queue) -> None:
    import logging

    import waitress.server

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # 16 clients > 8 threads: queueing is expected

    server = waitress.server.create_server(app, host="127.0.0.1", port=0, threads=threads)
    port_queue.put(server.effective_port)
    server.run()


def serve_echo(threads: int, port_queue) -> None:
    from spyne import Application, ServiceBase, Unicode, rpc
    from spyne.protocol.soap import Soap11
    from spyne.server.wsgi import WsgiApplication

    class Echo(ServiceBase):
        @rpc(Unicode, _returns=Unicode)
        def echo(ctx, s):
            return s

    app = Application([Echo], tns="urn:bench", in_protocol=Soap11(validator="soft"), out_protocol=Soap11())
    _serve(WsgiApplication(app), threads, port_queue)


def serve_condor_soap(threads: int, port_queue) -> None:
    sys.path.insert(0, ROOT)  # this checkout, whatever is installed
    from condor_soap import Config, create_app

    state = os.path.join(os.environ[STATE_ENV], "served")  # the parent's, removed by it
    _serve(create_app(Config(state_dir=state, threads=threads)), threads, port_queue)


def drive(port: int, body: bytes, clients: int, seconds: float, expect: bytes, extra: dict | None = None) -> float:
    """Requests per second over ``clients`` keep-alive connections for ``seconds``
    (``extra``: more request headers, e.g. credentials)."""
    counts = [0] * clients
    stop = time.monotonic() + seconds
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""', **(extra or {})}

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop:
            conn.request("POST", "/", body, headers)
            response = conn.getresponse()
            data = response.read()
            if response.status != 200 or expect not in data:
                raise RuntimeError(f"bad response {response.status}: {data[:200]!r}")
            counts[i] += 1
        conn.close()

    workers = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts) / (time.monotonic() - started)


def in_process(calls: int) -> tuple[float, float]:
    """Microseconds per call of each application called as WSGI in this process, one thread,
    no HTTP: the work each does per request, without the server's and the client's."""
    import io

    from spyne import Application, ServiceBase, Unicode, rpc
    from spyne.protocol.soap import Soap11
    from spyne.server.wsgi import WsgiApplication

    sys.path.insert(0, ROOT)
    from condor_soap import Config, create_app

    class Echo(ServiceBase):
        @rpc(Unicode, _returns=Unicode)
        def echo(ctx, s):
            return s

    echo = WsgiApplication(Application([Echo], tns="urn:bench", in_protocol=Soap11(validator="soft"),
                                       out_protocol=Soap11()))
    soap = create_app(Config(state_dir=os.path.join(os.environ[STATE_ENV], "in-process")))

    def per_call(app, body: bytes) -> float:
        def environ() -> dict:
            return {"REQUEST_METHOD": "POST", "CONTENT_TYPE": "text/xml; charset=utf-8",
                    "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body), "PATH_INFO": "/",
                    "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
                    "wsgi.url_scheme": "http", "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:80"}
        samples = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(calls):
                b"".join(app(environ(), lambda status, headers, exc_info=None: None))
            samples.append((time.perf_counter() - start) / calls * 1e6)
        return common.median(samples)

    try:
        return per_call(echo, ECHO_BODY), per_call(soap, VERSION_BODY)
    finally:
        soap.close()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="condor-soap-bench-") as state:
        os.environ[STATE_ENV] = state  # inherited by the server process
        run()


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per server, alternating")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads for both servers")
    parser.add_argument("--quick", action="store_true", help="one round of 1 s per server (CI smoke test)")
    parser.add_argument("--profile", metavar="FILE", help="py-spy profile of condor-soap's last round")
    parser.add_argument("--in-process", action="store_true",
                        help="also the cost per call of each application without HTTP (less noisy)")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds = 1.0, 1
    servers = [common.spawn_server(serve_echo, args.threads), common.spawn_server(serve_condor_soap, args.threads)]
    try:
        cases = [(servers[0][1], ECHO_BODY, b"echoResponse"), (servers[1][1], VERSION_BODY, b"$CondorVersion")]
        for port, body, expect in cases:
            drive(port, body, args.clients, 1.0, expect)  # warm-up
        rates: list[list[float]] = [[], []]
        for n in range(args.rounds):  # alternating rounds: load from elsewhere hits both alike
            for i, (port, body, expect) in enumerate(cases):
                profile = args.profile if i == 1 and n == args.rounds - 1 else None
                with common.profiling(servers[1][0].pid, profile):
                    rates[i].append(drive(port, body, args.clients, args.seconds, expect))
    finally:
        for server, _ in servers:
            server.terminate()
            server.join(10)
    echo, version = common.median(rates[0]), common.median(rates[1])
    print(f"{args.clients} clients, {args.threads} threads, medians of {args.rounds} rounds of {args.seconds:g} s")
    print(f"bare Spyne echo:              {echo:8.1f} req/s")
    print(f"condor-soap getVersionString: {version:8.1f} req/s")
    print(f"ratio getVersionString req/s / bare Spyne echo req/s: {version / echo:.2f}")
    if args.in_process:
        echo_us, soap_us = in_process(300 if args.quick else 2000)
        print(f"in process, no HTTP: bare Spyne echo {echo_us:.0f} us/call, condor-soap {soap_us:.0f} us/call")
        print(f"ratio bare Spyne echo us/call / getVersionString us/call: {echo_us / soap_us:.2f}")


if __name__ == "__main__":
    main()
