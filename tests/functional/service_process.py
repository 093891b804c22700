"""Run the real ``condor-soap serve`` process for tests: start, read its URL, stop or kill."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Optional

URL_LINE = re.compile(r"serving on (http://\S+/)")


class ServiceProcess:
    """``python -m condor_soap serve --port 0`` on a state directory; restartable."""

    def __init__(self, state_dir: Path, *args: str, env: Optional[dict] = None, owner: str = "nobody") -> None:
        self.state_dir = Path(state_dir)
        self.args = args
        self.env = env or {}
        self.owner = owner  # the Owner its jobs should carry
        self.proc: Optional[subprocess.Popen] = None
        self.url: Optional[str] = None
        self.log_path = self.state_dir.parent / f"{self.state_dir.name}.service.log"

    def start(self, timeout: float = 30.0, **extra_env: str) -> str:
        env = dict(os.environ, **self.env, **extra_env)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "condor_soap", "serve", "--port", "0",
             "--state-dir", str(self.state_dir), *self.args],
            stdout=subprocess.PIPE, stderr=log, env=env)
        log.close()
        found: list[str] = []
        reader = threading.Thread(target=lambda: found.append(self.proc.stdout.readline().decode()), daemon=True)
        reader.start()
        reader.join(timeout)
        match = URL_LINE.search(found[0]) if found else None
        if not match:
            self.kill()
            raise RuntimeError(f"service did not start in {timeout} s: {found!r}\n{self.log()}")
        self.url = match.group(1)
        return self.url

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait: the clean shutdown path."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: the crash path."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def wait_exit(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)
