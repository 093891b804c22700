"""Backend fixtures. ``backend`` is what the contract suite runs against: the local backend and
the htcondor backend on the project's real pool (``real_pool``, tests/conftest.py);
``make_local`` / ``make_htcondor`` build backends for the backend-specific tests."""
from __future__ import annotations

import time

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


@pytest.fixture(scope="session")
def htcondor_pool(real_pool):
    """The real pool, with htcondor2 reading its client configuration."""
    import htcondor2

    htcondor2.reload_config()  # htcondor2 read CONDOR_CONFIG at import; real_pool set it since
    return real_pool


def remove_jobs_under(state_dir: str) -> None:
    """Remove (then force out) every job a backend with this state dir queued."""
    import classad2
    import htcondor2

    prefix = state_dir.rstrip("/") + "/"
    constraint = f"substr(SUBMIT_Iwd, 0, {len(prefix)}) == {classad2.quote(prefix)}"
    try:
        schedd = htcondor2.Schedd(htcondor2.Collector().locate(htcondor2.DaemonType.Schedd,
                                                               htcondor2.param.get("SCHEDD_HOST")))
        schedd.act(htcondor2.JobAction.Remove, constraint, ("test teardown", None))
        # Forcing a job out while its shadow still runs orphans the starter, which then holds
        # its slot for a whole job lease: wait (bounded) for the shadows to exit first.
        deadline = time.monotonic() + 30
        while schedd.query(f"({constraint}) && RemoteHost isnt undefined", ["ClusterId"]) and \
                time.monotonic() < deadline:
            time.sleep(0.2)
        schedd.act(htcondor2.JobAction.RemoveX, constraint, ("test teardown", None))
    except htcondor2.HTCondorException:
        pass  # the pool may be down on purpose


@pytest.fixture
def make_htcondor(request, tmp_path):
    """Factory: ``make_htcondor(state_dir=None, **config)`` on the real pool; at teardown the
    backends are closed and their jobs removed from the queue."""
    pool = request.getfixturevalue("htcondor_pool")
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
        remove_jobs_under(b.config.state_dir)
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
