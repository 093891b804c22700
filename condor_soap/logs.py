"""The service log: plain text lines, or one JSON object per line (``--log-format json``).

A JSON line holds ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message``, every extra
the call passed (``log.warning(..., extra={"client": ...})``; the messages say the same in
words for text lines) and, for an exception, ``exception`` (the traceback text). The formatter
is ours: the standard library's ``json`` and ``logging`` do the work, a dependency would add
nothing.
"""
from __future__ import annotations

import datetime
import json
import logging
import sys
from typing import Any, TextIO

_HANDLER = "condor-soap"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Attributes every LogRecord has: anything else on a record is an extra of its call.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def extras(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra={...}`` values a log call attached to ``record``."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
            .isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update((k, v) for k, v in extras(record).items() if k not in line)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def configure(level: str = "INFO", fmt: str = "text", stream: TextIO = sys.stderr) -> None:
    """Send every log record of at least ``level`` to ``stream`` in format ``fmt``
    (``text`` or ``json``), replacing the handler an earlier call installed."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.set_name(_HANDLER)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
