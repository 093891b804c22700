"""GET /v1/jobs/watch: Server-Sent Events of a job's changes, resumable with Last-Event-ID,
bounded in count and duration, ended cleanly when the service stops."""
from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Iterator, Optional

import pytest
import requests

from tests.functional.service_process import ServiceProcess
from tests.polling import wait_for
from tests.rest.conftest import Rest, running

pytestmark = pytest.mark.slow
FAST = {"watch_interval": 0.2, "watch_heartbeat": 0.5}


class Events:
    """A watch stream read in a thread: its events as (id, event, data) as they come."""

    def __init__(self, url: str, headers: Optional[dict] = None, **params: str) -> None:
        self.response = requests.get(url + "v1/jobs/watch", params=params, headers=headers or {},
                                     stream=True, timeout=60)
        self.events: list[tuple[Optional[str], str, object]] = []
        self.comments = 0
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        event: dict[str, str] = {}
        try:
            for raw in self.response.iter_lines(decode_unicode=True):
                if raw.startswith(":"):
                    self.comments += 1
                elif raw == "":
                    if "event" in event:
                        self.events.append((event.get("id"), event["event"], json.loads(event["data"])))
                    event = {}
                else:
                    field, _, value = raw.partition(": ")
                    event[field] = value
        except Exception:  # the test closed the response under the reader
            pass

    def wait(self, kind: str, test=lambda data: True, timeout: float = 60) -> tuple:  # type: ignore[no-untyped-def]
        return wait_for(lambda: next((e for e in self.events if e[1] == kind and test(e[2])), None), timeout, 0.05,
                        f"a {kind} event")

    def close(self) -> None:
        self.response.close()


def watch_events(events: Events, tag: str) -> Iterator:
    return (e for e in events.events if e[1] == "job" and e[2]["classad"].get("resttag") == tag)


def test_watch_follows_a_job(tmp_path):
    tag = uuid.uuid4().hex
    with running(tmp_path, **FAST) as url:
        rest = Rest(url)
        events = Events(url, constraint=f'RestTag == "{tag}"', projection="JobStatus,RestTag")
        try:
            reset = events.wait("reset")
            made = rest.post("jobs/DEFAULT", json={"cmd": "/bin/sleep", "arguments": "600", "RestTag": tag}).json()
            jobid = made["jobids"][0]
            events.wait("job", lambda d: d["jobid"] == jobid)
            assert rest.post(f"jobs/DEFAULT/{jobid.replace('.', '/')}/hold").status_code == 200
            held = events.wait("job", lambda d: d["classad"]["jobstatus"] == 5)
            assert set(held[2]["classad"]) == {"jobstatus", "resttag"}
            rest.delete(f"jobs/DEFAULT/{jobid.replace('.', '/')}")
            rest.post(f"jobs/DEFAULT/{jobid.replace('.', '/')}/close_spool")
            events.wait("removed", lambda d: d["jobid"] == jobid)
            wait_for(lambda: events.comments, 5, 0.05, "a heartbeat on a quiet stream")
            ids = [e[0] for e in events.events]
            assert all(i and i.split(":")[0] == reset[0].split(":")[0] for i in ids)
            # a job of another tag never shows
            rest.post("jobs/DEFAULT", json={"cmd": "/bin/true", "RestTag": "other"})
            time.sleep(1)
            assert {e[2]["jobid"] for e in events.events if e[1] != "reset"} == {jobid}
        finally:
            events.close()
        # resume after the hold: the removal comes again, no reset
        held_id = held[0]
        resumed = Events(url, headers={"Last-Event-ID": held_id}, constraint=f'RestTag == "{tag}"')
        try:
            resumed.wait("removed", lambda d: d["jobid"] == jobid)
            assert "reset" not in [e[1] for e in resumed.events]
        finally:
            resumed.close()
        # an id from another run (or too old) starts over with a reset and the current state
        other = Events(url, headers={"Last-Event-ID": "feedbeef:1"}, constraint=f'RestTag == "{tag}"')
        try:
            other.wait("reset")
        finally:
            other.close()


def test_stream_ends_and_slots_are_bounded(tmp_path):
    with running(tmp_path, threads=4, max_watchers=2, watch_max_seconds=2, **FAST) as url:
        first, second = Events(url), Events(url)
        try:
            first.wait("reset"), second.wait("reset")
            third = requests.get(url + "v1/jobs/watch", timeout=30)
            assert third.status_code == 503 and int(third.headers["Retry-After"]) > 0
            assert "max_watchers" in third.json()["error"]
            # other calls still have threads
            assert Rest(url).get("status").status_code == 200
            first.wait("end", timeout=10)
            wait_for(lambda: requests.get(url + "v1/jobs/watch", stream=True, timeout=30).status_code == 200,
                     10, 0.2, "a slot freed by an ended stream")
        finally:
            first.close()
            second.close()
    bad = None
    with running(tmp_path / "again") as url:
        bad = requests.get(url + "v1/jobs/watch", params={"constraint": "JobStatus =="}, timeout=30)
    assert bad.status_code == 400


def test_shutdown_with_watchers_connected(tmp_path):
    proc = ServiceProcess(tmp_path / "state")
    url = proc.start()
    watchers = [Events(url) for _ in range(2)]
    try:
        for w in watchers:
            w.wait("reset")
        started = time.monotonic()
        assert proc.stop(timeout=20) == 0
        assert time.monotonic() - started < 4, "waitress drained at once: streams ended on stop"
        for w in watchers:
            w.wait("end", timeout=5)
    finally:
        for w in watchers:
            w.close()
        proc.kill()


def test_watch_on_each_backend(service, rest):
    tag = uuid.uuid4().hex
    events = Events(service.url, constraint=f'RestTag == "{tag}"')
    try:
        events.wait("reset")
        made = rest.post("jobs/DEFAULT", json={"cmd": "/bin/sleep", "arguments": "600", "RestTag": tag})
        jobid = made.json()["jobids"][0]
        events.wait("job", lambda d: d["jobid"] == jobid, timeout=120)
        rest.delete(f"jobs/DEFAULT/{jobid.replace('.', '/')}")
        rest.post(f"jobs/DEFAULT/{jobid.replace('.', '/')}/close_spool")
        events.wait("removed", lambda d: d["jobid"] == jobid, timeout=120)
    finally:
        events.close()
