"""What every REST handler reaches: the cores, the settings, and the checks and answers they
all share (schedd names, attribute names, projections, JSON replies)."""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

import falcon

from condor_soap.config import Config
from condor_soap.errors import CondorSoapError, NotFound
from condor_soap.streaming import chunked

if TYPE_CHECKING:
    from condor_soap.core.collector import CollectorCore
    from condor_soap.core.schedd import ScheddCore

_ATTRIBUTE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class BadRequest(CondorSoapError):
    """A malformed REST request (bad parameter, body, name): 400 with the reason."""


@dataclass(frozen=True)
class Api:
    """The cores and settings behind the handlers; ``watch_slots`` counts watch streams."""

    schedd: "ScheddCore"
    collector: "CollectorCore"
    config: Config
    watch_slots: threading.BoundedSemaphore = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "watch_slots", threading.BoundedSemaphore(self.config.max_watchers or 1))

    def check_schedd(self, name: str) -> None:
        """``DEFAULT`` or this service's schedd; else 404 "Schedd not found: NAME"."""
        if name != "DEFAULT" and name != self.schedd.schedd_name():
            raise NotFound(f"Schedd not found: {name}")


def is_attribute(name: str) -> bool:
    return bool(_ATTRIBUTE.match(name))


def param(req: falcon.Request, name: str, default: str = "") -> str:
    """A query parameter, trimmed (RESTD's parser trims)."""
    value = req.get_param(name)
    return default if value is None else value.strip()


def projection(req: falcon.Request, *extra: str) -> list[str]:
    """The ``projection`` parameter as lower-cased names (RESTD's form), ``extra`` appended;
    400 "Invalid attribute(s) in projection: ..." for a name that is not one."""
    text = param(req, "projection")
    if not text:
        return []
    names = text.split(",")
    bad = sorted({n for n in names if not is_attribute(n)})
    if bad:
        raise BadRequest(f"Invalid attribute(s) in projection: {', '.join(bad)}")
    return list(dict.fromkeys(n.lower() for n in (*names, *extra)))


def json_reply(resp: falcon.Response, value: Any, status: str = falcon.HTTP_200) -> None:
    resp.status = status
    resp.content_type = falcon.MEDIA_JSON
    resp.data = json.dumps(value).encode()


def stream_reply(req: falcon.Request, resp: falcon.Response, pieces: Iterable[str],
                 header: dict[str, str] | None = None) -> None:
    """A JSON answer written as it is produced (:func:`~condor_soap.streaming.chunked`)."""
    resp.content_type = falcon.MEDIA_JSON
    for name, value in (header or {}).items():
        resp.set_header(name, value)
    resp.stream = chunked(pieces, f"{req.method} {req.path[:200]}")
