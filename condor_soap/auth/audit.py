"""The audit log: one JSON line per write operation and per authentication failure.

Lines go to the ``condor_soap.audit`` logger (for whoever routes logs) and are appended to
the ``audit_log`` file. Auditing never fails or blocks a request beyond one local append: an
unwritable file is reported once in the service log and the request goes on.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any, Optional

log = logging.getLogger("condor_soap.audit")
_service_log = logging.getLogger(__name__)


class AuditLog:
    """Appends audit records to ``path`` (None: logger only)."""

    def __init__(self, path: Optional[str]) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._broken = False

    def record(self, event: str, **fields: Any) -> None:
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "event": event, **fields}
        line = json.dumps(entry, sort_keys=False, default=str)
        log.info(line)
        if not self.path:
            return
        try:
            with self._lock:
                # O_APPEND: whole lines even with several processes sharing the file
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, (line + "\n").encode())
                finally:
                    os.close(fd)
            self._broken = False
        except OSError:
            if not self._broken:
                _service_log.exception("cannot write the audit log %s", self.path)
            self._broken = True
