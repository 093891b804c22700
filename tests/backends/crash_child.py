"""Run by test_local: start a LocalBackend, get a job running, report it, then wait to be
SIGKILLed (a service crash with a job still running)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from condor_soap.backends.local import LocalBackend
from condor_soap.config import Config
from tests.backends.jobs import RUN_TWICE, spool_has, submit, wait_for, wait_status

state_dir, staging = sys.argv[1], Path(sys.argv[2])
backend = LocalBackend(Config(state_dir=state_dir), tick=0.1)
c, p = submit(backend, staging, RUN_TWICE)
wait_status(backend, c, p, 2)
wait_for(lambda: spool_has(backend, c, p, "child.pid"))
print(c, p, flush=True)
time.sleep(600)
