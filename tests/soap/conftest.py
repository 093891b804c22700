"""Wire fixtures: the real service (local backend) and the wire over a recording fake core,
both on real HTTP; raw-XML helpers are in :mod:`tests.soap.soap`."""
from __future__ import annotations

import copy
from typing import Any, Iterator

import pytest
from lxml import etree

from condor_soap.soap.application import CondorApplication, Cores
from condor_soap.http.app import HttpService
from condor_soap.soap.wsgi import SoapFace
from tests.conftest import serve_in_thread


class RecordingCore:
    """Stands in for ScheddCore and CollectorCore: records every call as ``(name, args)``
    and answers ``returns[name]``, or raises ``raises[name]``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple]] = []
        self.returns: dict[str, Any] = {}
        self.raises: dict[str, BaseException] = {}

    def reset(self) -> None:
        self.calls.clear()
        self.returns.clear()
        self.raises.clear()

    def __getattr__(self, name: str) -> Any:
        def method(*args: Any) -> Any:
            self.calls.append((name, args))
            if name in self.raises:
                raise self.raises[name]
            return self.returns.get(name)
        return method

    def last(self, name: str) -> tuple:
        """The arguments of the last call of ``name``."""
        found = [args for called, args in self.calls if called == name]
        assert found, f"{name} was not called; calls: {self.calls}"
        return found[-1]


@pytest.fixture(scope="session")
def _recording() -> Iterator[tuple[RecordingCore, str]]:
    core = RecordingCore()
    with serve_in_thread(HttpService([SoapFace(CondorApplication(Cores(schedd=core, collector=core)))])) as url:
        yield core, url


@pytest.fixture
def fake(_recording) -> RecordingCore:
    """The recording core behind :func:`fake_url`, reset for each test."""
    _recording[0].reset()
    return _recording[0]


@pytest.fixture
def fake_url(_recording, fake) -> str:
    """The wire application over :class:`RecordingCore`, on loopback HTTP."""
    return _recording[1]


@pytest.fixture(scope="session")
def reference_schema(reference_dir) -> etree.XMLSchema:
    """The inline schemas of the reference condorSchedd and condorCollector WSDLs, merged:
    what a response must be valid against."""
    wsdl_types = "{http://schemas.xmlsoap.org/wsdl/}types/{http://www.w3.org/2001/XMLSchema}schema"
    schedd, collector = (etree.parse(str(reference_dir / name)).getroot().find(wsdl_types)
                         for name in ("condorSchedd.wsdl", "condorCollector.wsdl"))
    merged = copy.deepcopy(schedd)
    known = {el.get("name") for el in merged if isinstance(el.tag, str)}
    merged.extend(copy.deepcopy(el) for el in collector
                  if isinstance(el.tag, str) and el.get("name") and el.get("name") not in known)
    return etree.XMLSchema(merged)
