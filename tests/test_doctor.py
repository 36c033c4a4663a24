"""`connector doctor` against the Deck double, a real Radicale, a real Xandikos and a real
Mailman 3 core: what is fine, what to fix (one line each), and the exit code of the worst."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import responses

from connector.base import Collection
from connector.calendars import CalendarTarget
from connector.testing.calendar_servers import radicale_server, xandikos_server
from connector.testing.deck_server import DeckServer
from connector.testing.mailman_server import mailman_server
from sync.doctor import Line
from tests.test_example_sync import CONNECTOR, ROOT

DOMAIN = "mentoring.example.org"


class World:
    """The servers, the working folder and the environment a coordinator would have."""

    def __init__(self, tmp: Path, env: dict[str, str], urls: dict[str, str]) -> None:
        self.tmp, self.env, self.urls = tmp, env, urls
        self.original = (tmp / "work" / "mapping.toml").read_text(encoding="utf-8")

    def mapping(self, **urls: str) -> None:
        """Point the mapping at the servers (or at the URLs given instead)."""
        text = self.original
        for name, url in {**self.urls, **urls}.items():
            text = text.replace(DEFAULTS[name], url)
        (self.tmp / "work" / "mapping.toml").write_text(text, encoding="utf-8")

    def doctor(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CONNECTOR, "doctor", *args], env={**self.env, **env}, capture_output=True,
            text=True, timeout=120, cwd=ROOT,
        )  # fmt: skip


DEFAULTS = {
    "deck": "http://127.0.0.1:8081",
    "caldav": "http://127.0.0.1:5232/",
    "mailman": "http://127.0.0.1:8001",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("doctor")
    deck_password, mailman_password = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    env = {
        **os.environ,
        "DECK_APP_PASSWORD": deck_password,
        "CALDAV_PASSWORD": "x",
        "MAILMAN_REST_PASSWORD": mailman_password,
        "CONNECTOR_CONFIG": str(tmp / "work" / "connector.toml"),
    }
    subprocess.run([CONNECTOR, "init", str(tmp / "work")], env=env, check=True, timeout=60)
    users = {"admin": deck_password, "bob": "x"}
    with (
        DeckServer(users, {"beirat": ["bob"]}) as deck,
        radicale_server(tmp / "radicale") as radicale,
        mailman_server(tmp / "mailman", user="restadmin", password=mailman_password) as mailman,
    ):
        world = World(tmp, env, {"deck": deck.url, "caldav": radicale.url, "mailman": mailman.url})
        world.mapping()
        yield world


def lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return result.stdout.splitlines()


def test_a_fresh_setup_names_the_missing_mail_domain_then_passes(world: World) -> None:
    first = world.doctor()
    assert first.returncode == 3, first.stdout + first.stderr
    fixes = [line for line in lines(first) if line.startswith("FIX ")]
    assert fixes == [
        f"FIX   listen: domain {DOMAIN}: does not exist on Mailman; create the domain {DOMAIN} "
        "(Postorius: Domains, or POST /3.1/domains) and let the mail server deliver its mail "
        "to Mailman"
    ]
    assert lines(first)[-1] == "doctor: 1 problem to fix (exit 3)"
    created = requests.post(
        f"{world.urls['mailman']}/3.1/domains",
        data={"mail_host": DOMAIN},
        auth=("restadmin", world.env["MAILMAN_REST_PASSWORD"]),
        timeout=30,
    )
    assert created.status_code == 201, created.text
    fine = world.doctor()
    assert fine.returncode == 0, fine.stdout + fine.stderr
    out = fine.stdout
    assert (
        f"ok    nextcloud: Nextcloud {world.urls['deck']}: reachable; user admin signed in" in out
    )
    assert (
        "ok    nextcloud: board 'Mentoring 10 – Beirat': does not exist yet; the first sync" in out
    )
    assert "ok    nextcloud: group 'beirat' (shares board 'Mentoring 10 – Beirat'): exists" in out
    assert "ok    kalender: calendar 'mim-10-fahrplan': does not exist yet" in out
    assert f"ok    listen: Mailman {world.urls['mailman']}: reachable; REST user restadmin" in out
    assert "ok    listen: list mentees-10@mentoring.example.org: does not exist yet" in out
    assert lines(fine)[-1].startswith("doctor: all ") and "checks passed" in lines(fine)[-1]
    data = json.loads(world.doctor("--json").stdout)
    assert data["exit_code"] == 0 and all(f["exit_code"] == 0 for f in data["findings"])


def test_existing_calendars_are_checked_for_sync_collection(world: World) -> None:
    base = world.urls["caldav"].rstrip("/") + "/connector/"
    for calendar in ("mim-10-fahrplan", "mim-10-beirat"):
        made = requests.request("MKCALENDAR", base + calendar + "/", auth=("connector", "x"))
        assert made.status_code in (201, 405), made.text
    result = world.doctor()
    assert (
        "ok    kalender: calendar 'mim-10-fahrplan': exists, may be written and offers "
        "sync-collection" in result.stdout
    )


def test_xandikos_offers_sync_collection_too(world: World, tmp_path: Path) -> None:
    with xandikos_server(tmp_path / "x") as xandikos:
        calendars = xandikos.url.rstrip("/") + "/"
        world.mapping(caldav=calendars)
        try:
            result = world.doctor()
        finally:
            world.mapping()
    assert f"kalender: CalDAV {calendars.rstrip('/')}: reachable" in result.stdout, result.stdout


def test_wrong_secret_missing_group_and_absent_server_each_say_what_to_fix(world: World) -> None:
    wrong = world.doctor(DECK_APP_PASSWORD="wrong")
    assert wrong.returncode == 5, wrong.stdout
    assert "FIX   nextcloud: Nextcloud " in wrong.stdout and "refused user admin (401)" in (
        wrong.stdout
    )
    unset = {k: v for k, v in world.env.items() if k != "CALDAV_PASSWORD"}
    missing_secret = subprocess.run(
        [CONNECTOR, "doctor"], env=unset, capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert missing_secret.returncode == 3
    assert "CALDAV_PASSWORD, which is not set" in missing_secret.stdout
    world.mapping(mailman="http://127.0.0.1:9")  # nothing listens on the discard port
    try:
        down = world.doctor()
    finally:
        world.mapping()
    assert down.returncode == 9, down.stdout
    assert "FIX   listen: Mailman http://127.0.0.1:9: cannot reach" in down.stdout
    text = world.original.replace('{ group = "beirat"', '{ group = "beirat-nord"', 1)
    (world.tmp / "work" / "mapping.toml").write_text(text, encoding="utf-8")
    world.original, saved = text, world.original
    try:
        world.mapping()
        both = world.doctor(MAILMAN_REST_PASSWORD="wrong")
    finally:
        world.original = saved
        world.mapping()
    assert both.returncode == 3, both.stdout  # bad configuration outranks credentials
    assert (
        "FIX   nextcloud: group 'beirat-nord' (shares board 'Mentoring 10 – Beirat'): does not "
        "exist on Nextcloud; create it (occ group:add beirat-nord) or correct the acl"
        in both.stdout
    )
    assert "FIX   listen: Mailman" in both.stdout


def test_a_shared_board_without_manage_rights_is_a_rights_problem(world: World) -> None:
    deck = world.urls["deck"]
    owner = ("bob", "x")
    api = f"{deck}/index.php/apps/deck/api/v1.0"
    headers = {"OCS-APIRequest": "true"}
    board = requests.post(
        f"{api}/boards", json={"title": "Mentoring 10 – Aufgaben", "color": "0082c9"},
        auth=owner, headers=headers, timeout=30,
    ).json()  # fmt: skip
    shared = requests.post(
        f"{api}/boards/{board['id']}/acl",
        json={"type": 0, "participant": "admin", "permissionEdit": True,
              "permissionShare": False, "permissionManage": False},
        auth=owner, headers=headers, timeout=30,
    )  # fmt: skip
    assert shared.status_code == 200, shared.text
    result = world.doctor(DECK_APP_PASSWORD=world.env["DECK_APP_PASSWORD"])
    assert result.returncode == 5, result.stdout
    assert (
        "FIX   nextcloud: board 'Mentoring 10 – Aufgaben': user admin lacks the right to manage "
        "and share it (owner bob); share the board with admin with edit, share and manage rights"
    ) in result.stdout
    requests.delete(f"{api}/boards/{board['id']}", auth=owner, headers=headers, timeout=30)


def _multistatus(*parts: str) -> str:
    return (
        '<?xml version="1.0"?><d:multistatus xmlns:d="DAV:" '
        f'xmlns:c="urn:ietf:params:xml:ns:caldav">{"".join(parts)}</d:multistatus>'
    )


@responses.activate
@pytest.mark.usefixtures("requests_wire")
def test_a_calendar_server_without_sync_collection_is_a_warning() -> None:
    """An old server (replayed: no real one without RFC 6578 is at hand) is a `warn` line."""
    base = "https://dav.example.org"
    home = (
        "<d:response><d:href>/dav/</d:href><d:propstat><d:prop><d:current-user-principal>"
        "<d:href>/dav/u/</d:href></d:current-user-principal><c:calendar-home-set><d:href>"
        "/dav/u/</d:href></c:calendar-home-set></d:prop><d:status>HTTP/1.1 200 OK</d:status>"
        "</d:propstat></d:response>"
    )
    listing = (
        "<d:response><d:href>/dav/u/old/</d:href><d:propstat><d:prop><d:resourcetype>"
        "<d:collection/><c:calendar/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK"
        "</d:status></d:propstat></d:response>"
    )
    reports = (
        "<d:response><d:href>/dav/u/old/</d:href><d:propstat><d:prop><d:supported-report-set>"
        "<d:supported-report><d:report><c:calendar-multiget/></d:report></d:supported-report>"
        "</d:supported-report-set></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>"
        "</d:response>"
    )
    responses.add("PROPFIND", f"{base}/dav/", body=_multistatus(home), status=207)
    responses.add("PROPFIND", f"{base}/dav/u/", body=_multistatus(listing), status=207)
    responses.add("PROPFIND", f"{base}/dav/u/old/", body=_multistatus(reports), status=207)
    target = CalendarTarget(f"{base}/dav/", "u", "pw")
    [server, calendar] = target.diagnose([Collection("old", {"display_name": "Alt"})])
    assert server.ok and "reachable" in server.message
    assert calendar.ok and calendar.warning
    assert "offers no sync-collection" in calendar.message
    assert str(Line("kalender", calendar)).startswith("warn  kalender: calendar 'old': exists")


@responses.activate
@pytest.mark.usefixtures("requests_wire")
def test_a_read_only_calendar_is_a_rights_problem() -> None:
    base = "https://dav.example.org"
    home = (
        "<d:response><d:href>/dav/</d:href><d:propstat><d:prop><c:calendar-home-set><d:href>"
        "/dav/u/</d:href></c:calendar-home-set></d:prop><d:status>HTTP/1.1 200 OK</d:status>"
        "</d:propstat></d:response>"
    )
    listing = (
        "<d:response><d:href>/dav/u/ro/</d:href><d:propstat><d:prop><d:resourcetype>"
        "<d:collection/><c:calendar/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK"
        "</d:status></d:propstat></d:response>"
    )
    read_only = (
        "<d:response><d:href>/dav/u/ro/</d:href><d:propstat><d:prop>"
        "<d:current-user-privilege-set><d:privilege><d:read/></d:privilege>"
        "</d:current-user-privilege-set></d:prop><d:status>HTTP/1.1 200 OK</d:status>"
        "</d:propstat></d:response>"
    )
    responses.add("PROPFIND", f"{base}/dav/", body=_multistatus(home), status=207)
    responses.add("PROPFIND", f"{base}/dav/u/", body=_multistatus(listing), status=207)
    responses.add("PROPFIND", f"{base}/dav/u/ro/", body=_multistatus(read_only), status=207)
    target = CalendarTarget(f"{base}/dav/", "u", "pw")
    [_server, calendar] = target.diagnose([Collection("ro", {"display_name": "Nur lesen"})])
    assert calendar.exit_code == 5
    assert str(Line("kalender", calendar)) == (
        "FIX   kalender: calendar 'ro': user u may not write events here (has: read); "
        "give u write access on the calendar server"
    )
