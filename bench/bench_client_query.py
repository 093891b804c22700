#!/usr/bin/env python3
"""condor_soap.client ``Schedd.query`` against zeep's ``getJobAds``: time and peak memory, one run.

N held jobs are queued on a local-backend service (written straight into its queue: queueing
10,000 jobs one SOAP call at a time takes minutes), or with ``--real-pool`` submitted to the
project's real pool with htcondor2 and read through an htcondor-backend service. Each client
then runs in a fresh process, so its peak RSS is its own:

* zeep: ``service.getJobAds(None, constraint)`` (the whole answer parsed into zeep objects);
* client, list: ``list(Schedd.query(constraint))`` (every ad kept, as zeep keeps them);
* client, stream: ``for ad in Schedd.query(constraint)`` (each ad dropped once seen).

Two settings: *live* asks the service, so both include the service's own time to answer;
*replay* serves the very same answer bytes from a bare HTTP server on loopback, leaving each
client's own cost (the median of ``--repeat`` runs, the clients taking turns). Both clients
must read the same jobs. Printed: seconds, peak MiB above
the process's size before the call, and the ratios zeep / client.

    .venv/bin/python bench/bench_client_query.py [--jobs 10000] [--quick] [--repeat 3] [--real-pool]
"""
from __future__ import annotations

import argparse
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WSDL = ROOT / "tests" / "reference" / "condorSchedd.wsdl"
MODES = ("zeep", "client-list", "client-stream")
MARK = "CondorSoapBench"


# workers: one measurement each, in a process of its own ------------------------------------

def status_mib(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak since the last reset) of this process, in MiB."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":")) / 1024


def start_measuring() -> float:
    """The RSS now, and the peak reset to it (Linux ``clear_refs`` 5), so the peak seen later
    is this call's own."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return status_mib("VmRSS")


def worker(mode: str, url: str, constraint: str) -> dict:
    if mode == "zeep":
        import zeep

        proxy = zeep.Client(str(WSDL)).create_service("{urn:condor}condorSchedd", url)
        proxy.getVersionString()  # warm-up: connection and lazy imports
        before = start_measuring()
        start = time.perf_counter()
        answer = proxy.getJobAds(None, constraint)
        ads = answer.classAdArray.item if answer.classAdArray else []
        ids = sorted((int(_zeep_value(ad, "ClusterId")), int(_zeep_value(ad, "ProcId"))) for ad in ads)
        count, attrs = len(ads), sum(len(ad.item) for ad in ads)
    else:
        from condor_soap.client import Schedd
        from condor_soap.client.settings import Settings

        schedd = Schedd(settings=Settings(url=url, timeout=3600))  # zeep waits as long
        schedd.version()
        before = start_measuring()
        start = time.perf_counter()
        if mode == "client-list":
            ads = list(schedd.query(constraint))
            ids = sorted((ad["ClusterId"], ad["ProcId"]) for ad in ads)
            count, attrs = len(ads), sum(len(ad) for ad in ads)
        else:
            ids, count, attrs = [], 0, 0
            for ad in schedd.query(constraint):
                ids.append((ad["ClusterId"], ad["ProcId"]))
                count, attrs = count + 1, attrs + len(ad)
            ids.sort()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mib": status_mib("VmHWM") - before, "ads": count, "attributes": attrs,
            "ids": hash(tuple(ids))}


def _zeep_value(ad, name: str) -> str:
    return next(i.value for i in ad.item if i.name == name)


def measure(mode: str, url: str, constraint: str) -> dict:
    run = subprocess.run([sys.executable, __file__, "--worker", mode, url, constraint], capture_output=True,
                         text=True, env=dict(os.environ, PYTHONHASHSEED="0"))
    if run.returncode != 0:
        raise SystemExit(f"{mode} worker failed:\n{run.stderr}")
    return json.loads(run.stdout)


# the queue -----------------------------------------------------------------------------------

def fill_local_queue(state_dir: str, jobs: int) -> None:
    """``jobs`` held jobs in one cluster, ads shaped like createJobTemplate's, committed in one
    batch straight into the local backend's store (the service is not running yet)."""
    from condor_soap.backends.local import LocalBackend
    from condor_soap.config import Config
    from condor_soap.core.classads import from_struct
    from condor_soap.core.records import CommitBatch, NewJob, Universe
    from condor_soap.core.template import job_template

    backend = LocalBackend(Config(state_dir=state_dir, max_running_jobs=1))
    try:
        cluster = backend.new_cluster_id()
        template = from_struct(job_template(cluster, 0, "bench", Universe.VANILLA, "/bin/sleep", "600", None,
                                            now=int(time.time()), version="bench", platform="bench"))
        template.update({"JobStatus": 5, "HoldReason": "benchmark", "Iwd": state_dir, MARK: True})
        batch = []
        for proc in range(jobs):
            template["ProcId"] = proc
            template["GlobalJobId"] = f"bench#{cluster}.{proc}#0"
            batch.append(NewJob(cluster, proc, str(template)))
        backend.apply(CommitBatch(token=f"bench-{cluster}", jobs=tuple(batch)))
    finally:
        backend.close()


def submit_to_pool(jobs: int) -> int:
    import htcondor2

    schedd = htcondor2.Schedd()
    result = schedd.submit(htcondor2.Submit({"executable": "/bin/sleep", "arguments": "600", "hold": "true",
                                             f"MY.{MARK}": "true", "transfer_executable": "false"}), count=jobs)
    return result.cluster()


def start_service(state_dir: str, *args: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "condor_soap", "serve", "--port", "0", "--state-dir", state_dir,
                             "--max-jobs-per-query", "0", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=dict(os.environ, **(env or {})), text=True)
    line = proc.stdout.readline()
    if "serving on" not in line:
        proc.kill()
        raise SystemExit(f"the service did not start: {line!r}")
    return proc, line.split("serving on ", 1)[1].split()[0]


def record_answer(url: str, operation: str, **arguments: str) -> bytes:
    import requests

    from condor_soap.client.wire import envelope

    answer = requests.post(url, data=envelope(operation, **arguments),
                           headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}, timeout=3600)
    answer.raise_for_status()
    return answer.content


def replay_server(answers: dict[bytes, bytes]) -> http.server.ThreadingHTTPServer:
    """A bare HTTP server answering a POST naming an operation with what the service said
    (the first operation found in the request, so the order of ``answers`` matters)."""
    class Replay(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            request = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = next(answer for operation, answer in answers.items() if operation in request)
            self.send_response(200)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Replay)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="300 jobs: a smoke test for CI")
    parser.add_argument("--repeat", type=int, default=3, help="replay runs per client (the median is shown)")
    parser.add_argument("--real-pool", action="store_true",
                        help="jobs on the project's real pool (tests/pool), read through the htcondor backend")
    parser.add_argument("--worker", nargs=3, metavar=("MODE", "URL", "CONSTRAINT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return 0
    jobs, args.repeat = (300, 1) if args.quick else (args.jobs, args.repeat)
    state = tempfile.mkdtemp(prefix="condor-soap-client-bench-")
    constraint = f"{MARK} =?= true"
    service = None
    pool_cluster = None
    try:
        if args.real_pool:
            env = subprocess.run([str(ROOT / "tests" / "pool" / "pool.sh"), "env"], capture_output=True, text=True,
                                 check=True).stdout.strip().split("=", 1)[1]
            os.environ["CONDOR_CONFIG"] = env
            pool_cluster = submit_to_pool(jobs)
            service, url = start_service(state, "--backend", "htcondor")
            where = "real pool, htcondor backend"
        else:
            fill_local_queue(state, jobs)
            service, url = start_service(state)
            where = "local backend"
        started = time.perf_counter()
        body = record_answer(url, "getJobAds", constraint=constraint)
        answer_seconds = time.perf_counter() - started
        results = {("live", mode): measure(mode, url, constraint) for mode in MODES}
        replay = replay_server({b"getJobAds": body, b"getVersionString": record_answer(url, "getVersionString")})
        replay_url = f"http://127.0.0.1:{replay.server_address[1]}/"
        for mode in MODES:  # the median of --repeat runs, interleaved with the other clients'
            results["replay", mode] = []
        for _ in range(args.repeat):
            for mode in MODES:
                results["replay", mode].append(measure(mode, replay_url, constraint))
        for mode in MODES:
            runs = sorted(results["replay", mode], key=lambda r: r["seconds"])
            results["replay", mode] = runs[len(runs) // 2]
        replay.shutdown()
    finally:
        if service is not None:
            service.terminate()
            service.wait(30)
        if pool_cluster is not None:
            import htcondor2

            htcondor2.Schedd().act(htcondor2.JobAction.Remove, f"ClusterId == {pool_cluster}")
            htcondor2.Schedd().act(htcondor2.JobAction.RemoveX, f"ClusterId == {pool_cluster}")
        shutil.rmtree(state, ignore_errors=True)

    agreed = {(r["ads"], r["ids"]) for r in results.values()}
    print(f"Schedd.query vs zeep getJobAds: {jobs} jobs, {results['live', 'zeep']['attributes'] // max(jobs, 1)} "
          f"attributes each, {len(body) / 1e6:.1f} MB answer ({where}; the service takes {answer_seconds:.1f} s "
          f"to answer); {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"{'':8}{'':17}{'seconds':>9}{'peak MiB':>10}")
    for (setting, mode), r in results.items():
        print(f"{setting:8}{mode:17}{r['seconds']:9.2f}{r['peak_mib']:10.1f}")
    for setting in ("live", "replay"):
        zeep, full, stream = (results[setting, m] for m in MODES)
        # memory ratios against at least 1 MiB: below that the client's growth is noise
        print(f"ratio zeep/client, {setting}: time {zeep['seconds'] / full['seconds']:.1f}x (list), "
              f"{zeep['seconds'] / stream['seconds']:.1f}x (stream); memory "
              f"{zeep['peak_mib'] / max(full['peak_mib'], 1.0):.1f}x (list), "
              f"{zeep['peak_mib'] / max(stream['peak_mib'], 1.0):.1f}x (stream)")
    if len(agreed) != 1 or next(iter(agreed))[0] != jobs:
        print(f"MISMATCH: the clients read different jobs: {sorted(agreed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
