"""Failed-login throttling per client address.

Every Basic check of an unknown password costs one scrypt (tens of ms, 16 MiB): without a
limit, guessing passwords is also a cheap way to burn the service's CPU. An address with
``limit`` failures within ``window`` seconds is refused (HTTP 429, ``Retry-After``) until its
oldest failure in the window ages out; credentials already verified since the password file
last changed still pass (they cost no scrypt), so a user behind the same NAT or proxy as a
guesser keeps working. The count is per address, never per user name: a per-user lockout
would let anyone lock out anyone.
"""
from __future__ import annotations

import collections
import math
import threading
import time
from typing import Callable


class FailureThrottle:
    """Sliding-window failure counts, bounded to ``max_addresses`` (least recent forgotten)."""

    def __init__(self, limit: int, window: float, *, max_addresses: int = 65536,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._max = max_addresses
        self._clock = clock
        self._failures: collections.OrderedDict[str, collections.deque] = collections.OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.limit > 0 and self.window > 0

    def retry_after(self, address: str) -> int:
        """Whole seconds until ``address`` may try again; 0 when it may now."""
        if not self.enabled:
            return 0
        now = self._clock()
        with self._lock:
            times = self._failures.get(address)
            if times is None:
                return 0
            self._expire(times, now)
            if not times:
                del self._failures[address]
                return 0
            if len(times) < self.limit:
                return 0
            return max(1, math.ceil(times[0] + self.window - now))

    def failed(self, address: str) -> None:
        """Count one failed login from ``address``."""
        if not self.enabled:
            return
        now = self._clock()
        with self._lock:
            times = self._failures.pop(address, None) or collections.deque(maxlen=self.limit)
            self._expire(times, now)
            times.append(now)
            self._failures[address] = times  # most recent last
            while len(self._failures) > self._max:
                self._failures.popitem(last=False)

    def _expire(self, times: collections.deque, now: float) -> None:
        while times and times[0] <= now - self.window:
            times.popleft()
