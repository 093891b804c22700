"""Fixtures shared by every test layer: the reference WSDLs and a WSGI app on real HTTP."""
from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
import waitress.server

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """``tests/reference``: the verbatim gSOAP WSDLs of the original service."""
    assert REFERENCE_DIR.is_dir(), f"reference WSDLs not found at {REFERENCE_DIR}"
    return REFERENCE_DIR


@contextlib.contextmanager
def serve_in_thread(app: Any, **adjustments: Any) -> Iterator[str]:
    """Serve ``app`` with waitress on a free loopback port; yields ``http://127.0.0.1:<port>/``.
    ``adjustments`` go to waitress (the security tests keep X-Forwarded-* for the service to
    judge, as server.py does when trusted_proxies is set)."""
    server = waitress.server.create_server(app, host="127.0.0.1", port=0, threads=4, **adjustments)
    thread = threading.Thread(target=server.run, name="test-waitress", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}/"
    finally:
        def stop() -> None:  # in the server's loop thread: close every socket, ending the loop
            for dispatcher in list(server._map.values()):
                dispatcher.close()

        try:
            server.trigger.pull_trigger(stop)
        except OSError:  # the loop already ended and closed its trigger
            pass
        thread.join(10)
        server.task_dispatcher.shutdown()


def apt_install(package: str, tool: str) -> subprocess.CompletedProcess:
    """``apt-get install`` one Debian package (non-interactive, no recommends) for a missing
    ``tool``; when that fails the package lists are updated once and it is tried again. Fails
    the test with the reason on a machine where it cannot run (not root, no apt-get)."""
    import shutil

    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.fail(f"{tool} is not installed and cannot be installed here (needs root and apt-get): "
                    f"apt-get install {package}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package]
    done = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
    if done.returncode != 0:  # stale package lists
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, env=env, timeout=600)
        done = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
    return done


@pytest.fixture(scope="session")
def service_url(tmp_path_factory) -> Iterator[str]:
    """The real application (local backend) on loopback HTTP, shared by the session."""
    from condor_soap import Config, create_app

    app = create_app(Config(state_dir=str(tmp_path_factory.mktemp("service") / "state")))
    try:
        with serve_in_thread(app) as url:
            yield url
    finally:
        app.close()


def pytest_addoption(parser) -> None:
    parser.addoption("--reliability-long", action="store_true",
                     help="tests/reliability: the long runs (more kills, longer soak); also CONDOR_SOAP_LONG=1")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Under ``CI=true`` a skip is a failure: a test that needs a real component must run."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and os.environ.get("CI") == "true":
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true (a real component is missing): {reason}"


POOL_SCRIPT = Path(__file__).resolve().parent / "pool" / "pool.sh"


class Pool:
    """The project's real HTCondor pool (tests/pool/pool.sh): how a client reaches it."""

    def __init__(self, condor_config: str, submitter: str, root: Path) -> None:
        self.condor_config = condor_config
        self.submitter = submitter  # the unprivileged user the service's IDTOKEN maps to
        self.root = root

    def run(self, *argv: str, timeout: float = 60) -> str:
        """An HTCondor tool inside the pool with the pool's own configuration (not the host's
        CONDOR_CONFIG), e.g. ``pool.run("condor_q", "-af", "ClusterId")``."""
        import subprocess

        env = {k: v for k, v in os.environ.items() if k != "CONDOR_CONFIG" and not k.startswith("_CONDOR_")}
        run = subprocess.run(["chroot", str(self.root), *argv], capture_output=True, text=True,
                             timeout=timeout, env=env)
        assert run.returncode == 0, f"{argv[0]} failed: {run.stdout}{run.stderr}"
        return run.stdout

    def remove_jobs_under(self, state_dir: str) -> None:
        """Remove (then force out) every job a service with this state dir queued."""
        import time

        import classad2
        import htcondor2

        prefix = str(state_dir).rstrip("/") + "/"
        constraint = f"substr(SUBMIT_Iwd, 0, {len(prefix)}) == {classad2.quote(prefix)}"
        try:
            schedd = htcondor2.Schedd(htcondor2.Collector().locate(htcondor2.DaemonType.Schedd,
                                                                   htcondor2.param.get("SCHEDD_HOST")))
            schedd.act(htcondor2.JobAction.Remove, constraint, ("test teardown", None))
            # Forcing a job out while its shadow still runs orphans the starter, which then
            # holds its slot for a whole job lease: wait (bounded) for the shadows to exit first.
            deadline = time.monotonic() + 30
            while schedd.query(f"({constraint}) && RemoteHost isnt undefined", ["ClusterId"]) and \
                    time.monotonic() < deadline:
                time.sleep(0.2)
            schedd.act(htcondor2.JobAction.RemoveX, constraint, ("test teardown", None))
        except htcondor2.HTCondorException:
            pass  # the pool may be down on purpose


def _pool_missing() -> str | None:
    """Why the real pool cannot be started here, or None."""
    import shutil

    if os.geteuid() != 0:
        return "the real HTCondor pool needs root (debootstrap, chroot, mount)"
    if shutil.which("chroot") is None:
        return "the real HTCondor pool needs chroot(8)"
    if shutil.which("debootstrap") is None and shutil.which("apt-get") is None:
        return "the real HTCondor pool needs debootstrap or apt-get to install it"
    return None


@pytest.fixture(scope="session")
def pool_host() -> None:
    """This machine can build the Debian trixie root of tests/pool (skips with the reason)."""
    missing = _pool_missing()
    if missing:
        pytest.skip(missing)


@pytest.fixture(scope="session")
def real_pool(pool_host) -> Iterator[Pool]:
    """Start (building once, ~2 min) the Debian trixie HTCondor pool, its queue emptied; stop
    it afterwards unless it was already running, its queue emptied again. Skips only with the
    exact reason, and never under CI."""
    import subprocess

    pool_dir = Path(os.environ.get("CONDOR_POOL_DIR", "/var/tmp/condor-pool"))
    was_running = subprocess.run([str(POOL_SCRIPT), "status"], capture_output=True).returncode == 0
    started = subprocess.run([str(POOL_SCRIPT), "start"], capture_output=True, text=True, timeout=1200)
    if started.returncode != 0:
        pytest.fail(f"tests/pool/pool.sh start failed:\n{started.stdout}\n{started.stderr}")
    env = subprocess.run([str(POOL_SCRIPT), "env"], capture_output=True, text=True, check=True).stdout
    condor_config = env.strip().split("=", 1)[1]
    os.environ["CONDOR_CONFIG"] = condor_config  # for in-process htcondor2 users
    import htcondor2

    htcondor2.reload_config()  # htcondor2 read the configuration when first imported
    pool = Pool(condor_config, os.environ.get("CONDOR_POOL_SUBMITTER", "condorsoap"), pool_dir / "root")

    def empty_queue() -> None:
        # The pool is the suite's own: every job in it is a test's (the submit user's, the
        # multi-user tests' alice and bob). A run that was killed leaves its jobs behind, and
        # thousands of them would change what later queries match (max_jobs_per_query).
        for force in ((), ("-forcex",)):
            subprocess.run(["chroot", str(pool.root), "condor_rm", *force, "-all"],
                           capture_output=True, timeout=60,
                           env={k: v for k, v in os.environ.items() if k != "CONDOR_CONFIG"})
    empty_queue()
    try:
        yield pool
    finally:
        empty_queue()  # leave the queue empty for the next run
        if not was_running:
            subprocess.run([str(POOL_SCRIPT), "stop"], capture_output=True, timeout=120)
