"""Backend fixtures. ``backend`` is what the contract suite runs against: the local backend and
the htcondor backend on the project's real pool (``real_pool``, tests/conftest.py);
``make_local`` / ``make_htcondor`` build backends for the backend-specific tests."""
from __future__ import annotations


import pytest

from condor_soap.backends.local import LocalBackend
from condor_soap.config import Config

BACKENDS = [
    pytest.param("local", id="local"),
    pytest.param("htcondor", id="htcondor", marks=pytest.mark.real_pool),
]


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
def make_htcondor(request, tmp_path):
    """Factory: ``make_htcondor(state_dir=None, **config)`` on the real pool; at teardown the
    backends are closed and their jobs removed from the queue."""
    pool = request.getfixturevalue("real_pool")
    from condor_soap.backends.htcondor import HTCondorBackend

    made = []

    def make(state_dir=None, **kw):
        config = Config(state_dir=str(state_dir or tmp_path / "state"), backend="htcondor", **kw)
        b = HTCondorBackend(config)
        b.soap_address = "<127.0.0.1:8080>"  # what the server sets once bound
        b.test_owner = pool.submitter  # jobs owned by anyone else are refused by HTCondor
        made.append(b)
        return b

    yield make
    for b in made:
        pool.remove_jobs_under(b.config.state_dir)
        b.close()


@pytest.fixture(params=BACKENDS)
def backend(request):
    """The backend under test."""
    if request.param == "htcondor":
        return request.getfixturevalue("make_htcondor")()
    return request.getfixturevalue("make_local")(max_running_jobs=2)


@pytest.fixture
def backend_name(backend) -> str:
    return "htcondor" if type(backend).__name__ == "HTCondorBackend" else "local"


@pytest.fixture
def staging(tmp_path):
    """Where tests write 'staged uploads' (same filesystem as the state dir)."""
    path = tmp_path / "staging"
    path.mkdir()
    return path
