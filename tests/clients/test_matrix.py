"""The client matrix: rendering, saving and publishing, without running any toolchain."""
import pytest

from tests.clients import matrix
from tests.clients.toolchains import TOOLCHAINS


def test_render_shows_every_cell_and_reason():
    results = {(t.id, kind): {"outcome": "pass", "timings": {"run": 0.5}} for t in TOOLCHAINS
               for kind in ("reference", "served")}
    results[("perl", "reference")] = {"outcome": "xfail", "detail": "hangs on Status.next", "timings": {}}
    results[("perl", "served")] = {"outcome": "xfail", "detail": "hangs on Status.next", "timings": {}}
    results[("php", "served")] = {"outcome": "FAIL", "detail": "run exited 1: FAILED: submit", "timings": {}}
    text = matrix.render(TOOLCHAINS, results, {"date": "today", "install_seconds": 42.0, "versions": {"zeep": "zeep 9"}})

    assert text.startswith("Client compatibility matrix\n---")
    assert text.count("pass (run 0.5 s)") == 2 * len(TOOLCHAINS) - 3
    assert "**FAIL**" in text and "run exited 1: FAILED: submit" in text
    assert text.count("hangs on Status.next") == 1  # one reason for both WSDLs shows once
    assert "zeep 9" in text and "42 s" in text
    assert all(t.auth and t.auth in text for t in TOOLCHAINS)  # how each one authenticates


def test_failure_summary_prefers_the_step_headline():
    text = "E   tests.clients.test_clients.StepFailed: build exited 1: error: x\nE   more\n"
    assert matrix.failure_summary(text) == "build exited 1: error: x"


def test_write_replaces_only_the_marked_block(tmp_path):
    readme = tmp_path / "README.rst"
    readme.write_text("Intro\n\n" + matrix.START + "old matrix\n" + matrix.END + "\nOutro\n")
    results = {(t.id, kind): {"outcome": "pass", "timings": {}} for t in TOOLCHAINS for kind in ("reference", "served")}
    matrix.write(readme, TOOLCHAINS, results, {"date": "today", "install_seconds": 1.0, "versions": {}})
    text = readme.read_text()
    assert text.startswith("Intro\n\n" + matrix.START) and text.endswith(matrix.END + "\nOutro\n")
    assert "old matrix" not in text and "Client compatibility matrix" in text
    matrix.write(readme, TOOLCHAINS, results, {"date": "today", "install_seconds": 1.0, "versions": {}})
    assert readme.read_text() == text, "rewriting is stable"


def _results(outcome="pass"):
    return {(t.id, kind): {"outcome": outcome, "timings": {"run": 0.5}} for t in TOOLCHAINS
            for kind in ("reference", "served")}


def test_saved_run_loads_back_and_renders_the_same(tmp_path):
    saved = tmp_path / "build" / "client-matrix.json"
    session = {"date": "today", "install_seconds": 3.0, "versions": {"zeep": "zeep 9"}}
    matrix.save(TOOLCHAINS, _results(), session, saved)
    results, loaded = matrix.load(saved)
    assert results == _results() and loaded == session
    assert saved.with_suffix(".rst").read_text() == matrix.render(TOOLCHAINS, results, loaded)


@pytest.mark.parametrize("outcome, publishable", [
    pytest.param("pass", True, id="all-pass"), pytest.param("FAIL", False, id="a-failure"),
    pytest.param("skipped", False, id="a-skip"), pytest.param("XPASS", False, id="an-xpass"),
])
def test_only_a_passing_run_is_published(tmp_path, monkeypatch, outcome, publishable):
    saved, readme = tmp_path / "build" / "client-matrix.json", tmp_path / "README.rst"
    results = _results()
    results[("perl", "reference")] = {"outcome": "xfail", "detail": "upstream", "timings": {}}
    results[("php", "served")]["outcome"] = outcome
    matrix.save(TOOLCHAINS, results, {"date": "today"}, saved)
    before = "Intro\n\n" + matrix.START + "old matrix\n" + matrix.END
    readme.write_text(before)
    monkeypatch.setattr(matrix, "SAVED", saved)
    monkeypatch.setattr(matrix, "REPO", tmp_path)
    assert matrix.main([]) == (0 if publishable else 1)
    assert (readme.read_text() != before) is publishable
