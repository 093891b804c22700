"""Core fixtures: a fake clock, backends (the in-memory fake, and the local backend when it
is built), and a factory for ScheddCores that can be "restarted" on the same state dir."""
from __future__ import annotations

import pytest

from condor_soap.config import Config
from condor_soap.core.schedd import ScheddCore
from tests.core.fakes import FakeBackend, FakeClock

try:
    from condor_soap.backends.local import LocalBackend
except ImportError:  # being built in parallel
    LocalBackend = None

BACKENDS = ["fake"] + (["local"] if LocalBackend is not None else [])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state_dir(tmp_path):
    return tmp_path / "state"


@pytest.fixture
def fake(tmp_path) -> FakeBackend:
    return FakeBackend(str(tmp_path / "fake-spool"))


@pytest.fixture
def make_core(state_dir, clock):
    """``make_core(backend, **config)``: a ScheddCore on ``state_dir`` (no reaper thread)."""
    made = []

    def make(backend, reap_interval=None, **kw) -> ScheddCore:
        core = ScheddCore(Config(state_dir=str(state_dir), **kw), backend, clock,
                          reap_interval=reap_interval)
        made.append(core)
        return core

    yield make
    for core in made:
        core.close()


@pytest.fixture
def core(make_core, fake) -> ScheddCore:
    return make_core(fake)


@pytest.fixture(params=BACKENDS)
def any_backend(request, fake, state_dir):
    """Each backend the transaction and durability tests run against."""
    if request.param == "fake":
        yield fake
        return
    backend = LocalBackend(Config(state_dir=str(state_dir), max_running_jobs=1), tick=0.2)
    yield backend
    backend.close()
