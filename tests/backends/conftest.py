"""Backend fixtures. ``backend`` is what the contract suite runs against (later also the
htcondor backend); ``make_local`` builds LocalBackends for the local-only tests."""
from __future__ import annotations

import pytest

from condor_soap.backends.local import LocalBackend
from condor_soap.config import Config


@pytest.fixture
def make_local(tmp_path):
    """Factory: ``make_local(state_dir=None, **config)``; every backend is closed at teardown."""
    made = []

    def make(state_dir=None, **kw) -> LocalBackend:
        config = Config(state_dir=str(state_dir or tmp_path / "state"), **kw)
        b = LocalBackend(config, tick=0.1, kill_grace=1.0)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()


@pytest.fixture
def backend(make_local):
    """The backend under test."""
    return make_local(max_running_jobs=2)


@pytest.fixture
def staging(tmp_path):
    """Where tests write 'staged uploads' (same filesystem as the state dir)."""
    path = tmp_path / "staging"
    path.mkdir()
    return path
