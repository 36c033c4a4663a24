"""What a CalDAV push costs in requests on a real Radicale (issue 14), and what it keeps.

Every pass runs with a fresh :class:`CalendarTarget`, as a fresh ``connector sync`` process
would: what a push merges into must come from the store, not from the process's memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import requests

from connector.calendars import CalendarTarget
from connector.testing.calendar_servers import CalendarServer, radicale_server
from sync.engine import Options, RuleResult, rule_key
from sync.factory import build_engine
from sync.model import BERLIN, Event
from sync.store import Store
from tests.factories import cohort_10
from tests.test_calendar_sync import mapping

CALENDAR = "mim-10-kosten"
ALARM = (
    "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Erinnerung\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\n"
)


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CalendarServer]:
    with radicale_server(tmp_path_factory.mktemp("radicale")) as server:
        yield server


def _event(n: int) -> Event:
    return Event(
        uid=f"ev-{n:02d}",
        cohort="mim-10",
        event_kind="module",
        title=f"Workshop {n}",
        start=datetime(2026, 2, 1 + n, 9, tzinfo=BERLIN),
        end=datetime(2026, 2, 1 + n, 16, tzinfo=BERLIN),
        location="stiwl, Münster",
        audience={"mentees", "mentors"},
    )


class Pusher:
    """A store with ten events on one calendar, synced by one fresh target per pass."""

    def __init__(self, tmp: Path, server: CalendarServer) -> None:
        self.server = server
        self.store = Store.open(tmp / "store.db")
        self.store.put(cohort_10())
        for n in range(10):
            self.store.put(_event(n))
        self.mapping = mapping(server, "restore", CALENDAR)

    def sync(self) -> RuleResult:
        target = CalendarTarget(self.server.url, self.server.user, self.server.password)
        try:
            engine = build_engine(self.store, self.mapping, {"kalender": target}, Options())
            [result] = engine.sync()
        finally:
            target.close()
        assert result.error is None and not result.problems, (result.error, result.problems)
        return result

    def url(self, uid: str) -> str:
        remote_id = self.store.links(rule_key(self.mapping, self.mapping.rules[0]))[uid].remote_id
        return self.server.url.rstrip("/") + remote_id

    def raw(self, uid: str) -> str:
        answer = requests.get(self.url(uid), auth=self.auth, timeout=30)
        answer.raise_for_status()
        return answer.text

    @property
    def auth(self) -> tuple[str, str]:
        return (self.server.user, self.server.password)


@pytest.fixture
def pusher(tmp_path: Path, radicale: CalendarServer) -> Pusher:
    return Pusher(tmp_path, radicale)


def test_ten_canonical_pushes_are_eleven_requests_and_keep_what_others_added(
    pusher: Pusher,
) -> None:
    """One REPORT and ten PUTs, no GET; an alarm and an unknown property another client
    added survive the push."""
    assert pusher.sync().counts == {"create": 10}
    theirs = pusher.raw("ev-03")
    assert pusher.url("ev-03").startswith("http")
    edited = theirs.replace("END:VEVENT", ALARM + "X-OTHER-CLIENT:behalten\r\nEND:VEVENT")
    put = requests.put(
        pusher.url("ev-03"),
        data=edited.encode(),
        headers={"Content-Type": "text/calendar; charset=utf-8"},
        auth=pusher.auth,
        timeout=30,
    )
    assert put.status_code in (201, 204), put.text
    assert not pusher.sync().counts  # the other client's edit is seen, nothing to write
    for n in range(10):
        event = pusher.store.get(f"ev-{n:02d}")
        assert isinstance(event, Event)
        pusher.store.put(event.touched(title=f"Workshop {n} (verlegt)"))
    result = pusher.sync()
    assert result.counts == {"update": 10}
    assert result.requests == 11
    text = pusher.raw("ev-03")
    assert "SUMMARY:Workshop 3 (verlegt)" in text
    assert "BEGIN:VALARM" in text and "TRIGGER:-PT15M" in text
    assert "X-OTHER-CLIENT:behalten" in text
    assert pusher.sync().requests == 1  # and the pass after is one REPORT


def test_a_push_over_an_edit_it_has_not_seen_is_refused_not_lost(pusher: Pusher) -> None:
    """The kept text is stale when another client wrote after the last pass: the PUT's
    If-Match fails, nothing is overwritten, and the next pass merges both edits."""
    pusher.sync()
    theirs = pusher.raw("ev-05")
    edited = theirs.replace("END:VEVENT", ALARM + "END:VEVENT")
    requests.put(
        pusher.url("ev-05"),
        data=edited.encode(),
        headers={"Content-Type": "text/calendar; charset=utf-8"},
        auth=pusher.auth,
        timeout=30,
    ).raise_for_status()
    event = pusher.store.get("ev-05")
    assert isinstance(event, Event)
    pusher.store.put(event.touched(title="Workshop 5 (verlegt)"))
    pusher.sync()
    text = pusher.raw("ev-05")
    assert "SUMMARY:Workshop 5 (verlegt)" in text
    assert "BEGIN:VALARM" in text
