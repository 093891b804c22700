"""Serve the WSGI app with waitress until SIGTERM/SIGINT, printing the URL once bound."""
from __future__ import annotations

import ctypes
import logging
import resource
import signal
import sys
import threading
from typing import TextIO

import waitress.server

from condor_soap.app import build_backend, create_app
from condor_soap.config import Config
from condor_soap.state_lock import StateDirLock

log = logging.getLogger("condor_soap")
TRANSPORT_CEILING = 2  # waitress's own body limit, in multiples of max_request_body_size
OUTBUF = 4 << 20
M_ARENA_MAX = -8  # mallopt(3)


def share_malloc_arenas() -> None:
    """Have glibc keep two malloc arenas rather than one per worker thread (up to 8 per core).

    A sendFile request is a few megabytes read, parsed and decoded, then freed, by whichever
    worker thread serves it; each thread's arena kept its own few megabytes, so the service
    grew by some 60 MiB while staging uploads (docs/performance.rst). Two shared arenas keep
    that near 40 MiB at no measurable cost in speed. No-op without glibc.
    """
    try:
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, 2)
    except (OSError, AttributeError):
        pass

#: Stack of every thread the service starts (waitress workers, reaper, job runner). classad2
#: recurses on it once per expression level (~270 bytes printing an ad): 32 MiB holds ~120,000
#: levels whatever ``ulimit -s`` says (glibc's default is the 8 MiB of that limit, musl's
#: 128 KiB), beyond any ad a schedd can hold and far past ``max_expression_depth``. Only the
#: pages a thread touches are memory (docs/reliability.rst).
THREAD_STACK_BYTES = 32 << 20


def _raise_open_files(wanted: int) -> None:
    """Each connection is a descriptor: raise the soft limit toward ``wanted`` (up to the hard one)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < wanted:
        log.warning("open files are limited to %d: connection_limit cannot be reached", target)


def serve(config: Config, out: TextIO = sys.stdout) -> None:
    """Run the service in the foreground; returns after a clean shutdown. Raises
    :class:`~condor_soap.state_lock.StateDirBusy` if another service holds the state dir."""
    with StateDirLock(config.state_dir):
        _serve(config, out)


def _serve(config: Config, out: TextIO) -> None:
    share_malloc_arenas()
    threading.stack_size(THREAD_STACK_BYTES)
    _raise_open_files(config.connection_limit + 256)
    backend = build_backend(config)
    app = create_app(config, backend)
    server = waitress.server.create_server(
        app,
        host=config.host,
        port=config.port,
        threads=config.threads,
        # The application refuses a body over max_request_body_size with a message naming the
        # setting (a SOAP Fault); waitress, which reads a whole body before the application
        # sees it, cuts off only bodies over twice that, unread, with its own 413.
        max_request_body_size=TRANSPORT_CEILING * config.max_request_body_size,
        connection_limit=config.connection_limit,
        channel_timeout=config.channel_timeout,
        cleanup_interval=max(1, min(30, config.channel_timeout // 2)),
        backlog=config.backlog,
        asyncore_use_poll=True,  # select() cannot watch descriptors past 1023
        ident="condor-soap",
        # Streamed answers (soap/ads_xml.py) wait while 4 MiB are pending for a connection, and
        # what is pending stays in memory (waitress's default spills past 1 MiB to a temp file).
        outbuf_high_watermark=OUTBUF, outbuf_overflow=OUTBUF + 1,
        # waitress trusts no proxy itself (it would rewrite REMOTE_ADDR); with trusted_proxies
        # the service judges X-Forwarded-* per peer (http/identity.py), so waitress keeps them
        clear_untrusted_proxy_headers=not config.trusted_proxies,
    )
    host, port = server.effective_host, server.effective_port
    if hasattr(backend, "soap_address"):
        backend.soap_address = f"<{host}:{port}>"
    url = f"http://{host}:{port}/"

    def shutdown(signum: int, frame: object) -> None:
        log.info("signal %d: shutting down", signum)
        app.stop()  # watch streams end now, so waitress's threads drain without waiting
        # waitress's run() treats SystemExit as "stop": it drains its worker threads and returns
        raise SystemExit(0)

    previous = {sig: signal.signal(sig, shutdown) for sig in (signal.SIGTERM, signal.SIGINT)}
    print(f"condor-soap {config.backend} backend serving on {url} "
          f"(WSDL: {url}condorSchedd.wsdl, {url}condorCollector.wsdl; REST: {url}v1/)", file=out, flush=True)
    try:
        server.run()
    finally:
        server.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        app.close()
        log.info("stopped")
