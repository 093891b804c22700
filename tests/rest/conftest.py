"""REST fixtures: the real service process on each backend (the functional suite's fixtures),
in-process services with particular settings, and jobs queued over SOAP or REST."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import pytest
import requests

from tests.conftest import serve_in_thread
from tests.functional.conftest import backend_name, service, service_settings  # noqa: F401 (fixtures)


class Rest:
    """``requests`` bound to one service's ``/v1/`` (raising nothing: tests read codes)."""

    def __init__(self, url: str, auth: Any = None) -> None:
        self.url = url.rstrip("/") + "/v1/"
        self.session = requests.Session()
        self.session.auth = auth

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.session.get(self.url + path, timeout=60, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.session.post(self.url + path, timeout=120, **kw)

    def put(self, path: str, **kw: Any) -> requests.Response:
        return self.session.put(self.url + path, timeout=120, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.session.delete(self.url + path, timeout=60, **kw)

    def json(self, path: str, **kw: Any) -> Any:
        response = self.get(path, **kw)
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        return response.json()


@pytest.fixture(scope="module")
def rest(service) -> Rest:
    return Rest(service.url)


@contextlib.contextmanager
def running(tmp_path, **settings: Any) -> Iterator[str]:
    """The real application (local backend) with ``settings`` on loopback HTTP; yields its URL."""
    from condor_soap import Config, create_app

    app = create_app(Config(state_dir=str(tmp_path / "state"), **settings))
    try:
        with serve_in_thread(app) as url:
            yield url
    finally:
        app.close()
