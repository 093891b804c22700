"""What the bench scripts share: the service in its own process, raw SOAP over keep-alive
HTTP, the service's memory, the real pool, and the one ratio line each script prints.

Each script prints ``ratio <what>: <x.xx>`` lines (tests/bench runs every ``--quick`` mode
and checks those lines, never the figures).
"""
from __future__ import annotations

import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator, Optional
from urllib.parse import urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POOL_SCRIPT = os.path.join(ROOT, "tests", "pool", "pool.sh")
ENVELOPE = ('<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope '
            'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:c="urn:condor">'
            '<soapenv:Body><c:{op}>{args}</c:{op}></soapenv:Body></soapenv:Envelope>')
HEADERS = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}


def envelope(op: str, args: str = "") -> bytes:
    """A SOAP request for ``op`` with ``args`` (unqualified child elements, XML text)."""
    return ENVELOPE.format(op=op, args=args).encode()


def txn_xml(txn: int, duration: int = 600) -> str:
    return f"<transaction><id>{txn}</id><duration>{duration}</duration></transaction>"


def ratio_line(what: str, value: float) -> str:
    return f"ratio {what}: {value:.2f}"


def median(samples: list[float]) -> float:
    return statistics.median(samples)


class Service:
    """``python -m condor_soap serve`` in its own process (this checkout first on the path)."""

    def __init__(self, *args: str, env: Optional[dict] = None) -> None:
        self.state = tempfile.mkdtemp(prefix="condor-soap-bench-")
        self.log_path = os.path.join(self.state, "service.log")
        environ = dict(os.environ, **(env or {}))
        environ["PYTHONPATH"] = os.pathsep.join(filter(None, (ROOT, environ.get("PYTHONPATH"))))
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "condor_soap", "--log-level", "WARNING", "serve", "--port", "0",
                 "--state-dir", os.path.join(self.state, "state"), *args],
                stdout=subprocess.PIPE, stderr=log, env=environ)
        line = self.proc.stdout.readline().decode()  # type: ignore[union-attr]
        match = re.search(r"serving on (http://\S+/)", line)
        if not match:
            self.close()
            raise RuntimeError(f"the service did not start: {line!r}\n{open(self.log_path).read()}")
        self.url = match.group(1)
        parts = urlsplit(self.url)
        self.host, self.port = parts.hostname, parts.port

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=600)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.state, ignore_errors=True)

    # memory
    def rss(self) -> int:
        return _status_bytes(self.proc.pid, "VmRSS")

    def peak_growth(self, fn: Callable[[], object]) -> tuple[object, int]:
        """Run ``fn`` and return its result with the service's peak RSS growth over it, in
        bytes (the kernel's peak is reset first; sampled as a fallback)."""
        return peak_growth(self.proc.pid, fn)


def spawn_server(target: Callable, threads: int) -> tuple:
    """``target(threads, port_queue)`` in a process of its own, serving; (process, port)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    ports = ctx.Queue()
    server = ctx.Process(target=target, args=(threads, ports), daemon=True)
    server.start()
    return server, ports.get(timeout=60)


def _status_bytes(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def peak_growth(pid: int, fn: Callable[[], object]) -> tuple[object, int]:
    before = _status_bytes(pid, "VmRSS")
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
        kernel_peak = True
    except OSError:
        kernel_peak = False
    peak = [before]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            peak[0] = max(peak[0], _status_bytes(pid, "VmRSS"))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = fn()
    finally:
        stop.set()
        sampler.join()
    top = max(peak[0], _status_bytes(pid, "VmHWM") if kernel_peak else 0)
    return result, top - before


def call(conn: http.client.HTTPConnection, body: bytes, expect: bytes = b"SUCCESS") -> bytes:
    """POST one SOAP request on a keep-alive connection; the whole answer, checked."""
    conn.request("POST", "/", body, HEADERS)
    response = conn.getresponse()
    data = response.read()
    if response.status != 200 or expect not in data:
        raise RuntimeError(f"unexpected answer {response.status}: {data[:300]!r}")
    return data


def value(xml: bytes, tag: str) -> str:
    """The text of the first ``<tag>`` of an answer."""
    match = re.search(rb"<%s>([^<]*)</%s>" % (tag.encode(), tag.encode()), xml)
    if not match:
        raise RuntimeError(f"no <{tag}> in {xml[:300]!r}")
    return match.group(1).decode()


# -- the real pool ------------------------------------------------------------------------

def pool_environment() -> dict:
    """``CONDOR_CONFIG`` of the project's real pool (tests/pool/pool.sh), already set or read
    from the running pool; exits with the reason if there is none."""
    if os.environ.get("CONDOR_CONFIG"):
        return {"CONDOR_CONFIG": os.environ["CONDOR_CONFIG"]}
    if subprocess.run([POOL_SCRIPT, "status"], capture_output=True).returncode != 0:
        sys.exit("the real pool is not running: tests/pool/pool.sh start (as root), or set CONDOR_CONFIG")
    out = subprocess.run([POOL_SCRIPT, "env"], capture_output=True, text=True, check=True).stdout
    name, _, value_ = out.strip().partition("=")
    os.environ[name] = value_
    return {name: value_}


def schedd():
    """The pool's schedd, through htcondor2 (after :func:`pool_environment`)."""
    import htcondor2

    htcondor2.reload_config()
    name = htcondor2.param.get("SCHEDD_HOST")
    collector = htcondor2.Collector()
    return htcondor2.Schedd(collector.locate(htcondor2.DaemonType.Schedd, name) if name
                            else collector.locate(htcondor2.DaemonType.Schedd))


@contextmanager
def removing(constraint: str) -> Iterator[None]:
    """Remove (then force out) every job matching ``constraint`` when the block ends,
    however it ends, retrying for two minutes while the schedd does not answer: the pool
    is shared."""
    try:
        yield
    finally:
        import htcondor2

        deadline = time.monotonic() + 120
        while True:
            try:
                s = schedd()
                for action in (htcondor2.JobAction.Remove, htcondor2.JobAction.RemoveX):
                    s.act(action, constraint, ("condor-soap bench cleanup", None))
                if not s.query(constraint, ["ClusterId"], limit=1):
                    break
            except Exception as exc:  # noqa: BLE001 - the schedd may be restarting: try again
                print(f"cleanup: {exc}", file=sys.stderr)
            if time.monotonic() > deadline:
                print(f"cleanup: jobs matching {constraint} may be left in the queue", file=sys.stderr)
                break
            time.sleep(1)


# -- profiles -----------------------------------------------------------------------------

@contextmanager
def profiling(pid: int, path: Optional[str]) -> Iterator[None]:
    """Sample ``pid`` with py-spy (``pip install py-spy``) while the block runs, then print
    where its time went (inclusive share per function); no-op when ``path`` is None."""
    if not path:
        yield
        return
    spy = subprocess.Popen([shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy"), "record", "--pid", str(pid), "--rate", "250", "--format", "raw", *(["--idle"] if os.environ.get("BENCH_PROFILE_IDLE") else []),
                            "--output", path, "--nonblocking"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # py-spy attaches
    try:
        yield
    finally:
        spy.send_signal(2)
        spy.wait(60)
        print(summarize(path))


def summarize(path: str, top: int = 25) -> str:
    """Inclusive and self share of the samples per function of a py-spy raw profile (py-spy
    leaves idle threads out)."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    with open(path) as f:
        for line in f:
            stack, _, count_text = line.rstrip("\n").rpartition(" ")
            frames = stack.split(";")
            count = int(count_text)
            total += count
            names = [re.sub(r" \((.*?):\d+\)$", r" (\1)", fr) for fr in frames]
            for name in set(names):
                inclusive[name] = inclusive.get(name, 0) + count
            own[names[-1]] = own.get(names[-1], 0) + count
    rows = sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]
    lines = [f"{total} samples of busy threads; inclusive %, self %, function"]
    lines += [f"{100 * n / total:6.1f} {100 * own.get(name, 0) / total:6.1f}  {name}" for name, n in rows]
    return "\n".join(lines)
