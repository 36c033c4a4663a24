"""Requests sent ahead (``sync/opening.py``, ``connector/ahead.py``), run as a user runs them.

The console script sends a quiet pass's first requests before it loads the CLI. These tests
run the real ``connector`` command against a real Radicale and count what the server logged:
a request sent ahead replaces the pass's own (never one more), an edit on the server is
pulled as before, and nothing goes ahead when anything it depends on changed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from connector.testing.calendar_servers import CalendarServer, radicale_server
from sync.store import Store
from tests.calendar_folder import write_folder

CONNECTOR = Path(sys.executable).parent / "connector"
_REQUEST = re.compile(r"\[INFO\] [A-Z]+ request for ")
AHEAD = "(sent ahead)"


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CalendarServer]:
    with radicale_server(tmp_path_factory.mktemp("radicale"), log_level="info") as server:
        yield server


class Folder:
    """A working folder with a store of three events, synced by the real console script."""

    def __init__(self, root: Path, server: CalendarServer, secret: str) -> None:
        self.root, self.server = root, server
        self.calendar = f"{server.url.rstrip('/')}/{server.user}/vorab/"
        self.mapping = root / "mapping.toml"
        write_folder(root, server, secret=secret, calendar="vorab")
        self.env = {
            **os.environ,
            "VORAB_PASSWORD": server.password,
            "XDG_CACHE_HOME": str(root / "cache"),
        }
        self.env.pop("CONNECTOR_AHEAD", None)

    def sync(self) -> tuple[str, int]:
        """One ``connector --verbose --config ... sync``: its output, and the requests the
        server logged meanwhile."""
        before = self.requests()
        done = self.run()
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout + done.stderr, self.requests() - before

    def run(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CONNECTOR), "--verbose", "--config", str(self.root / "connector.toml"), "sync"],
            capture_output=True,
            text=True,
            timeout=120,
            env=self.env,
            cwd=self.root,
        )

    def requests(self) -> int:
        return len(_REQUEST.findall(self.server.log.read_text(errors="replace")))

    def quiet(self) -> None:
        """Sync until a pass has nothing to do (the first writes, the second reads back)."""
        for _ in range(4):
            out, _count = self.sync()
            if "nothing to do" in out:
                return
        raise AssertionError(f"no quiet pass: {out}")

    def records(self) -> list[Path]:
        return sorted((self.root / "cache" / "cohort-connector" / "ahead").glob("*"))

    def event_paths(self) -> list[str]:
        with Store.open(self.root / "cohort.db") as store:
            return sorted(link.remote_id for link in store.links("mim-10:fahrplan").values())


@pytest.fixture
def folder(tmp_path: Path, radicale: CalendarServer) -> Folder:
    return Folder(tmp_path, radicale, '{ env = "VORAB_PASSWORD" }')


def _retitle(server: CalendarServer, url: str, title: str) -> None:
    """Another client renames an event (a PUT of its text with a new SUMMARY)."""
    http = requests.Session()
    http.auth = (server.user, server.password)
    current = http.get(url, timeout=10)
    current.raise_for_status()
    body = re.sub(r"SUMMARY:[^\r\n]*", f"SUMMARY:{title}", current.text)
    http.put(
        url,
        data=body.encode(),
        headers={"Content-Type": "text/calendar", "If-Match": current.headers["ETag"]},
        timeout=10,
    ).raise_for_status()


def test_a_quiet_pass_takes_its_request_from_the_one_sent_ahead(folder: Folder) -> None:
    folder.quiet()
    out, count = folder.sync()  # the first quiet run of this command line: nothing recorded
    assert AHEAD not in out
    out, count = folder.sync()
    assert "nothing to do" in out
    assert f"REPORT {folder.calendar} -> 207 {AHEAD}" in out
    assert count == 1  # sent ahead instead of by the pass, not as well


def test_an_edit_on_the_server_comes_in_through_a_request_sent_ahead(folder: Folder) -> None:
    folder.quiet()
    folder.sync()  # recorded with the stored cursor
    path = folder.event_paths()[0]
    _retitle(folder.server, folder.server.url.rstrip("/") + path, "Verlegt")
    out, count = folder.sync()
    assert AHEAD in out
    with Store.open(folder.root / "cohort.db") as store:
        titles = {getattr(e, "title", None) for e in store.entities("event")}
    assert "Verlegt" in titles
    # That pass moved the cursor: the next one's request is another, so none goes ahead.
    out, count = folder.sync()
    assert AHEAD not in out
    assert count == 1
    out, count = folder.sync()
    assert AHEAD in out
    assert count == 1


def test_nothing_goes_ahead_after_the_mapping_changed(folder: Folder) -> None:
    folder.quiet()
    folder.sync()
    folder.mapping.write_text(folder.mapping.read_text() + "\n", encoding="utf-8")
    out, count = folder.sync()
    assert AHEAD not in out
    assert count == 1


def test_a_request_the_pass_did_not_use_is_not_sent_ahead_again(folder: Folder) -> None:
    # As if the adapter's opening depended on more than the cursor: what went ahead is not
    # what the pass sends (the record is changed and sealed again with the password).
    from sync.opening import _seal

    folder.quiet()
    folder.sync()
    (record,) = folder.records()
    data = json.loads(record.read_text())
    ((key, entry),) = data["collections"].items()
    entry["requests"][0][2] += "?anders"
    entry["seal"] = _seal(folder.server.password, key, entry)
    record.write_text(json.dumps(data))
    out, count = folder.sync()
    assert AHEAD not in out
    assert count == 2  # the wasted one, once
    out, count = folder.sync()
    assert AHEAD not in out
    assert count == 1
    assert json.loads(record.read_text())["missed"] == ["mim-10:fahrplan"]


def test_a_record_changed_by_someone_else_sends_nothing(folder: Folder) -> None:
    # Without the password nobody can make a record that sends it: not to another server,
    # not anywhere. Nor is a record read that others may write.
    folder.quiet()
    folder.sync()
    (record,) = folder.records()
    data = json.loads(record.read_text())
    (entry,) = data["collections"].values()
    entry["requests"][0][2] = entry["requests"][0][2].replace("/vorab/", "/anderswo/")
    record.write_text(json.dumps(data))
    out, count = folder.sync()
    assert AHEAD not in out
    assert count == 1
    folder.sync()  # a new, sealed record
    record.chmod(0o666)
    out, count = folder.sync()
    assert AHEAD not in out
    assert count == 1


def test_the_record_holds_no_password(folder: Folder) -> None:
    folder.quiet()
    folder.sync()
    (record,) = folder.records()
    text = record.read_text()
    import base64

    encoded = base64.b64encode(f"{folder.server.user}:{folder.server.password}".encode())
    assert folder.server.password not in text
    assert encoded.decode() not in text
    assert "authorization" not in text.lower()
    assert oct(record.stat().st_mode & 0o777) == "0o600"


def test_a_secret_command_is_never_run_ahead(tmp_path: Path, radicale: CalendarServer) -> None:
    script = tmp_path / "password.sh"
    script.write_text(f"#!/bin/sh\necho run >> {tmp_path / 'runs'}\necho {radicale.password}\n")
    script.chmod(0o755)
    folder = Folder(tmp_path, radicale, f'{{ command = "{script}" }}')
    folder.quiet()
    folder.sync()
    runs = len((tmp_path / "runs").read_text().split())
    out, count = folder.sync()
    assert AHEAD not in out
    assert count == 1
    assert len((tmp_path / "runs").read_text().split()) == runs + 1  # once, by the pass


def test_without_the_password_variable_nothing_goes_ahead(folder: Folder) -> None:
    folder.quiet()
    folder.sync()
    folder.env.pop("VORAB_PASSWORD")
    done = folder.run()
    assert done.returncode != 0
    assert "VORAB_PASSWORD" in done.stdout + done.stderr
    assert AHEAD not in done.stdout + done.stderr


def test_off_sends_nothing_ahead(folder: Folder) -> None:
    folder.quiet()
    folder.sync()
    folder.env["CONNECTOR_AHEAD"] = "off"
    out, count = folder.sync()
    assert AHEAD not in out
    assert count == 1


def test_requests_with_a_credential_beside_the_password_are_not_recorded() -> None:
    from connector import ahead

    ahead.reset()
    ahead.enable()
    try:
        cases = {
            "plain": ("https://cloud.example.org/dav/", {"Depth": "0"}),
            "cookie": ("https://cloud.example.org/dav/", {"Cookie": "nc_session=1"}),
            "token": ("https://cloud.example.org/dav/", {"X-Auth-Token": "t"}),
            "userinfo": ("https://anna:geheim@cloud.example.org/dav/", {}),
        }
        for key, (url, headers) in cases.items():
            with ahead.recording(key, "-", "PW", allowed=True):
                ahead.note(
                    None,
                    ("anna", "geheim"),
                    True,
                    30.0,
                    "REPORT",
                    url,
                    {"Authorization": "Basic x", **headers},
                    b"<x/>",
                )
        recorded = ahead.recorded()
        assert sorted(recorded) == ["plain"]
        ((_channel, _method, _url, kept, _body),) = recorded["plain"]["requests"]
        assert kept == {"Depth": "0"}  # the Authorization header is never written down
        with ahead.recording("writes", "-", "PW", allowed=True):
            ahead.note(None, None, True, 30.0, "REPORT", "https://h/a", {}, None)
            ahead.note(None, None, True, 30.0, "PUT", "https://h/a/1.ics", {}, b"x")
        assert "writes" not in ahead.recorded()  # an opening that writes is not repeated
    finally:
        ahead.reset()


@pytest.fixture
def in_this_process(folder: Folder, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This test process as the folder's console script: same directory and variables."""
    from connector import ahead
    from sync import opening

    monkeypatch.chdir(folder.root)
    for name in ("XDG_CACHE_HOME", "VORAB_PASSWORD"):
        monkeypatch.setenv(name, folder.env[name])
    monkeypatch.delenv("CONNECTOR_AHEAD", raising=False)
    yield
    ahead.reset()
    # A plain assignment: monkeypatch.setattr would put the test's command back at undo.
    opening._args = None


def test_a_cursor_another_pass_moved_meanwhile_is_no_miss(
    folder: Folder, in_this_process: None
) -> None:
    # Sent ahead, then another pass pulls an edit (the cursor moves), then this pass reads
    # from the new cursor: its request differs from the one sent ahead, through no fault of
    # the adapter, so the collection is not left out from then on.
    import cli
    from connector import ahead
    from sync import opening

    folder.quiet()
    folder.sync()
    args = ["--verbose", "--config", str(folder.root / "connector.toml"), "sync"]
    opening.start(args)
    (sent,) = ahead._sent
    sent.thread.join(30)
    _retitle(folder.server, folder.server.url.rstrip("/") + folder.event_paths()[0], "Neu")
    folder.sync()  # the other pass
    saved, sys.argv = (
        sys.argv,
        ["connector", "--config", str(folder.root / "connector.toml"), "sync"],
    )
    try:
        cli.main()
    except SystemExit as done:
        assert not done.code
    finally:
        sys.argv = saved
    assert sent.requests[0] not in sent.taken
    (record,) = folder.records()
    assert json.loads(record.read_text())["missed"] == []
    out, count = folder.sync()
    assert AHEAD in out
    assert count == 1


def test_requests_sent_ahead_open_few_connections_to_one_server() -> None:
    # A mapping with many lists: their openings go ahead together, but over at most
    # PER_SERVER connections to the server at once, and each answer reaches its request.
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from connector import ahead
    from connector.http_wire import Wire

    busy, most, guard_lock = [0], [0], threading.Lock()

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with guard_lock:
                busy[0] += 1
                most[0] = max(most[0], busy[0])
            time.sleep(0.05)
            with guard_lock:
                busy[0] -= 1
            body = self.path.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    ahead.reset()
    try:
        for n in range(12):
            request = ahead.request_key("GET", f"{base}/list-{n}", {}, None)
            ahead.send(f"list-{n}", [request], guard="-", verify=True, timeout=10.0)
        wire = Wire()
        answers = [ahead.take("GET", f"{base}/list-{n}", {}, None, wire) for n in range(12)]
        assert [a.content if a else None for a in answers] == [
            f"/list-{n}".encode() for n in range(12)
        ]
        assert 1 < most[0] <= 4 == ahead.PER_SERVER
    finally:
        ahead.reset()
        server.shutdown()


def test_watch_records_and_sends_nothing_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `sync --watch` is one long process: it has no start-up to hide, and its passes are
    # not recorded.
    from connector import ahead
    from sync import opening

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    try:
        opening.start(["--config", "connector.toml", "sync", "--watch"])
        assert opening._args is None and not ahead._enabled
        opening.start(["--config", "connector.toml", "sync"])
        assert opening._args is not None and ahead._enabled
    finally:
        ahead.reset()
        monkeypatch.setattr(opening, "_args", None)


def test_records_unused_for_a_month_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from connector import ahead
    from sync import opening

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = tmp_path / "cohort-connector" / "ahead"
    folder.mkdir(parents=True)
    old, recent = folder / "old", folder / "recent"
    for path in (old, recent):
        path.write_text("{}")
    month_ago = time.time() - 31 * 24 * 3600
    os.utime(old, (month_ago, month_ago))
    monkeypatch.setattr(opening, "_args", ["sync"])
    try:
        opening.save([], tmp_path / "cohort.db")
    finally:
        ahead.reset()
    assert not old.exists()
    assert recent.exists()
    assert opening.record_path(["sync"]).exists()
