"""The route table: the single source of the REST face's URLs, of the core operation each one
performs (and so of its permission and, later, token scope) and of the OpenAPI document."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

#: ``{name}`` or ``{name:int}`` in a Falcon URI template.
PATH_FIELD = re.compile(r"{(\w+)(?::(\w+))?}")


@dataclass(frozen=True)
class Param:
    """A query parameter, as OpenAPI describes it."""

    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    required: bool = False


@dataclass(frozen=True)
class Reply:
    """One documented answer: its description and, for JSON, the component schema it follows
    (``None``: no body described; ``"binary"``: raw bytes; ``"events"``: an event stream)."""

    description: str
    schema: Optional[str] = None


@dataclass(frozen=True)
class Route:
    """One method on one path. ``handler(api, req, resp, record, **path_fields)`` answers it
    inside the call of ``operation`` (:class:`~condor_soap.calls.Calls`)."""

    method: str
    path: str
    operation: str
    summary: str
    handler: Callable[..., None]
    tag: str
    query: tuple[Param, ...] = ()
    body: Optional[dict[str, Any]] = None  # OpenAPI requestBody.content
    replies: dict[int, Reply] = field(default_factory=dict)

    def path_fields(self) -> list[tuple[str, Optional[str]]]:
        """(name, converter) of each field of :attr:`path`."""
        return PATH_FIELD.findall(self.path)
