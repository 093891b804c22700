"""The local backend's runner thread: starts idle jobs as local processes (at most ``slots`` at
once, in job order), notices their exit and records it, kills process groups on request.

Waiting is event-driven: a ``select`` on one pidfd per process plus a wake-up pipe, with a
timeout only for the periodic tick and kill escalation.
"""
from __future__ import annotations

import errno
import logging
import os
import selectors
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

import classad2

from condor_soap.backends import local_procs as procs
from condor_soap.backends import local_states as states
from condor_soap.backends.local_store import RunRecord, Store

log = logging.getLogger(__name__)

Key = tuple[int, int]


@dataclass
class _Proc:
    popen: subprocess.Popen
    slot: int
    started: float  # monotonic
    pidfd: Optional[int]
    kill_at: Optional[float] = None  # monotonic time of the SIGKILL escalation


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except OSError as exc:
        if exc.errno not in (errno.ESRCH, errno.EPERM):
            raise


class Runner:
    """Runs the queue's idle jobs. ``on_tick`` is called about every ``tick`` seconds and after
    a job stops (the backend uses it to let finished jobs leave the queue)."""

    def __init__(self, store: Store, spool_dir: Callable[[int, int], str], slots: int, host: str,
                 on_tick: Callable[[], None], tick: float = 1.0, kill_grace: float = 2.0) -> None:
        self._store, self._spool_dir, self._slots, self._host = store, spool_dir, slots, host
        self._on_tick, self._tick, self._grace = on_tick, tick, kill_grace
        self._procs: dict[Key, _Proc] = {}
        self._plock = threading.Lock()  # guards _procs; taken after the store lock, never before
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="condor-soap-local-runner", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        """True while the scheduling loop runs."""
        return self._thread.is_alive()

    def wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass  # pipe full (already woken) or closed (stopping)

    # queries from other threads
    def running(self) -> dict[int, Key]:
        """slot number -> job for every live process."""
        with self._plock:
            return {p.slot: key for key, p in self._procs.items()}

    def is_live(self, key: Key) -> bool:
        with self._plock:
            return key in self._procs

    def pid(self, key: Key) -> Optional[int]:
        with self._plock:
            proc = self._procs.get(key)
            return proc.popen.pid if proc else None

    def kill(self, key: Key) -> None:
        """Stop a job's process group: SIGTERM now, SIGKILL after the grace period."""
        with self._plock:
            proc = self._procs.get(key)
            if proc is None or proc.kill_at is not None:
                return
            _killpg(proc.popen.pid, signal.SIGTERM)
            proc.kill_at = time.monotonic() + self._grace
        self.wake()

    # the thread
    def _loop(self) -> None:
        next_tick = 0.0
        while not self._stopping:
            try:
                if self._reap():
                    next_tick = 0.0
                self._escalate()
                self._start_idle()
                if time.monotonic() >= next_tick:
                    self._on_tick()
                    next_tick = time.monotonic() + self._tick
            except Exception:  # never let one bad job or a full disk stop the pool
                log.exception("local runner: error (continuing)")
                next_tick = time.monotonic() + self._tick
            self._wait(next_tick)

    def _wait(self, next_tick: float) -> None:
        deadline = next_tick
        with self._plock:
            fds = [p.pidfd for p in self._procs.values() if p.pidfd is not None]
            kills = [p.kill_at for p in self._procs.values() if p.kill_at is not None]
            polling = any(p.pidfd is None for p in self._procs.values())
        deadline = min([deadline, *kills])
        timeout = max(0.0, deadline - time.monotonic())
        if polling:
            timeout = min(timeout, 0.2)
        with selectors.DefaultSelector() as sel:
            sel.register(self._wake_r, selectors.EVENT_READ)
            for fd in fds:
                sel.register(fd, selectors.EVENT_READ)
            sel.select(timeout)
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass

    def _exited(self, proc: _Proc) -> bool:
        try:
            info = os.waitid(os.P_PID, proc.popen.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None

    def _reap(self) -> bool:
        """Record every process that has exited; True if any did."""
        with self._plock:
            done = [key for key, p in self._procs.items() if self._exited(p)]
        for key in done:
            self._finish(key)
        return bool(done)

    def _finish(self, key: Key, requeue: bool = False) -> None:
        """Reap a process and record it: completed if it ended by itself, idle if ``requeue``."""
        with self._store.transaction():
            with self._plock:
                proc = self._procs.pop(key)
                _killpg(proc.popen.pid, signal.SIGKILL)  # leftovers of the job; leader not reaped yet
                returncode = proc.popen.wait()
                if proc.pidfd is not None:
                    os.close(proc.pidfd)
            text = self._store.job_text(*key)
            if text is not None:
                ad = classad2.ClassAd(text)
                states.stopped(ad, time.monotonic() - proc.started)
                if requeue:
                    states.requeue(ad, int(time.time()))
                elif states.status(ad) == states.RUNNING:
                    states.completed(ad, returncode, int(time.time()))
                self._store.save_job(*key, states.status(ad), str(ad))
            self._store.forget_run(*key)

    def _escalate(self) -> None:
        now = time.monotonic()
        with self._plock:
            for proc in self._procs.values():
                if proc.kill_at is not None and now >= proc.kill_at:
                    _killpg(proc.popen.pid, signal.SIGKILL)
                    proc.kill_at = now + 3600  # sent; don't repeat every loop

    def _start_idle(self) -> None:
        while True:
            with self._store.transaction():
                with self._plock:
                    busy = set(self._procs)
                    free = [n for n in range(1, self._slots + 1) if n not in {p.slot for p in self._procs.values()}]
                if not free:
                    return
                idle = [k for k in self._store.job_keys(statuses=(states.IDLE,)) if k not in busy]
                if not idle:
                    return
                self._launch(idle[0], free[0])

    def _launch(self, key: Key, slot: int) -> None:
        """Start one idle job (inside the caller's store transaction), or hold it."""
        text = self._store.job_text(*key)
        ad = classad2.ClassAd(text)
        remote_host = f"slot{slot}@{self._host}"
        spool = self._spool_dir(*key)
        now = int(time.time())
        try:
            launch = procs.prepare(ad, spool, remote_host)
            streams = procs.open_streams(launch, remote_host)
            try:
                popen = subprocess.Popen(launch.argv, executable=launch.argv[0], env=launch.env,
                                         cwd=launch.cwd, stdin=streams[0], stdout=streams[1],
                                         stderr=streams[2], start_new_session=True, close_fds=True)
            except OSError as exc:
                raise procs.exec_error(launch.argv[0], exc, remote_host) from None
            finally:
                for f in set(streams):
                    f.close()
        except procs.LaunchError as exc:
            log.info("local runner: job %d.%d held: %s", *key, exc.reason)
            states.hold(ad, exc.reason, now, exc.code, exc.subcode)
            self._store.save_job(*key, states.status(ad), str(ad))
            return
        try:
            pidfd: Optional[int] = os.pidfd_open(popen.pid)
        except (AttributeError, OSError):
            pidfd = None  # no pidfd support: _wait polls instead
        with self._plock:
            self._procs[key] = _Proc(popen, slot, time.monotonic(), pidfd)
        states.start(ad, now, remote_host)
        self._store.save_job(*key, states.status(ad), str(ad))
        self._store.record_run(RunRecord(*key, popen.pid, popen.pid, procs.start_ticks(popen.pid), procs.boot_id()))
        log.info("local runner: job %d.%d started as pid %d in %s", *key, popen.pid, remote_host)

    def stop(self) -> None:
        """Stop the thread, then stop every job process and put its job back to idle."""
        self._stopping = True
        self.wake()
        if self._thread.is_alive():
            self._thread.join()
        with self._plock:
            keys = list(self._procs)
            for proc in self._procs.values():
                _killpg(proc.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + self._grace
        for key in keys:
            proc = self._procs[key]
            while not self._exited(proc) and time.monotonic() < deadline:
                time.sleep(0.02)
            self._finish(key, requeue=True)  # SIGKILLs what is left
        os.close(self._wake_r)
        os.close(self._wake_w)
