"""The one polling helper of the test suite: every wait is bounded."""
from __future__ import annotations

import time
from typing import Any, Callable


def wait_for(fn: Callable[[], Any], timeout: float = 15.0, interval: float = 0.02, what: str = "condition") -> Any:
    """Poll ``fn`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
