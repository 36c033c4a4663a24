"""The engine with a real Radicale: the Fahrplan goes out, calendar edits come back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from connector.base import Collection
from connector.calendars import CalendarTarget
from connector.testing.calendar_servers import CalendarServer, radicale_server
from mappings.schema import MappingFile
from sync.engine import Options, RuleResult
from sync.factory import build_engine
from sync.model import BERLIN, Event
from sync.store import Store
from tests.factories import cohort_10

CALENDAR = "mim-10-fahrplan"


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CalendarServer]:
    with radicale_server(tmp_path_factory.mktemp("radicale")) as server:
        yield server


def mapping(server: CalendarServer, on_delete: str, calendar: str) -> MappingFile:
    fields = [
        {"remote": "summary", "canonical": "title", "policy": "newest"},
        {"remote": "location", "canonical": "location", "policy": "newest"},
        {"remote": "start", "canonical": "start", "policy": "newest"},
        {"remote": "end", "canonical": "end", "policy": "newest"},
        {"remote": "all_day", "canonical": "all_day", "direction": "out"},
    ]
    return MappingFile.model_validate(
        {
            "name": "t",
            "programme": "mim",
            "cohort": "mim-10",
            "targets": {
                "kalender": {
                    "kind": "caldav",
                    "url": server.url,
                    "user": server.user,
                    "audience": "participants",
                }
            },
            "rules": [
                {
                    "name": "fahrplan",
                    "entity": "event",
                    "target": "kalender",
                    "on_remote_delete": on_delete,
                    "calendar": {"calendar": calendar, "display_name": "Fahrplan"},
                    "fields": fields,
                }
            ],
        }
    )


class World:
    """A store with two Fahrplan events, an engine, and a second calendar client."""

    def __init__(
        self, tmp: Path, server: CalendarServer, on_delete: str, calendar: str | None = None
    ) -> None:
        calendar = calendar or f"{CALENDAR}-{on_delete}"
        self.store = Store.open(tmp / "store.db")
        self.store.put(cohort_10())
        for uid, title, day in (
            ("ev-start", "Startworkshop", 22),
            ("ev-mid", "Zwischenbilanz", 29),
        ):
            self.store.put(
                Event(
                    uid=uid,
                    cohort="mim-10",
                    event_kind="start_workshop",
                    title=title,
                    start=datetime(2026, 1, day, 9, tzinfo=BERLIN),
                    end=datetime(2026, 1, day, 16, tzinfo=BERLIN),
                    location="stiwl, Münster",
                    audience={"mentees", "mentors"},
                )
            )
        self.mapping = mapping(server, on_delete, calendar)
        self.ours = CalendarTarget(server.url, server.user, server.password)
        self.theirs = CalendarTarget(server.url, server.user, server.password)
        self.collection = Collection(calendar, {"display_name": "Fahrplan"})

    def sync(self) -> RuleResult:
        engine = build_engine(self.store, self.mapping, {"kalender": self.ours}, Options())
        return engine.sync()[0]

    def event_on_calendar(self, uid: str) -> Any:
        return next(
            r for r in self.theirs.changes(self.collection, None).records if r.marker == uid
        )


@pytest.fixture
def world(tmp_path: Path, radicale: CalendarServer, request: pytest.FixtureRequest) -> World:
    return World(tmp_path, radicale, getattr(request, "param", "restore"))


def test_a_move_and_a_new_place_in_the_calendar_come_back(world: World) -> None:
    assert world.sync().counts == {"create": 2}
    event = world.event_on_calendar("ev-start")
    world.theirs.update(
        world.collection,
        event.remote_id,
        {
            "start": "2026-01-23T10:00:00+01:00",
            "end": "2026-01-23T17:00:00+01:00",
            "location": "Kreishaus Steinfurt",
        },
        event.etag,
    )
    result = world.sync()
    assert result.error is None and result.counts == {"update": 1}, result.summary()
    moved = world.store.get("ev-start")
    assert isinstance(moved, Event)
    assert moved.start == datetime(2026, 1, 23, 10, tzinfo=BERLIN)
    assert moved.end == datetime(2026, 1, 23, 17, tzinfo=BERLIN)
    assert moved.location == "Kreishaus Steinfurt"
    assert world.sync().counts == {}


@pytest.mark.parametrize("world", ["restore"], indirect=True)
def test_an_event_deleted_in_the_calendar_is_restored_when_the_rule_says_so(
    world: World,
) -> None:
    world.sync()
    event = world.event_on_calendar("ev-mid")
    world.theirs.delete(world.collection, event.remote_id, event.etag)
    assert world.sync().counts == {"restore": 1}
    assert world.event_on_calendar("ev-mid").fields["summary"] == "Zwischenbilanz"


@pytest.mark.parametrize("world", ["tombstone"], indirect=True)
def test_an_event_deleted_in_the_calendar_is_tombstoned_when_the_rule_says_so(
    world: World,
) -> None:
    world.sync()
    event = world.event_on_calendar("ev-mid")
    world.theirs.delete(world.collection, event.remote_id, event.etag)
    assert world.sync().counts == {"tombstone": 1}
    assert world.store.get("ev-mid") is None and world.store.is_deleted("ev-mid")
    assert world.store.get("ev-start") is not None


def test_links_deleted_outside_a_pass_are_found_again_by_their_markers(
    tmp_path: Path, radicale: CalendarServer
) -> None:
    """Rows of the links table deleted by hand (or a store restored in part): the records are
    still on the calendar under their markers. The next pass lists the calendar whole and
    adopts them, instead of creating them anew (every create would answer 412 and fail)."""
    world = World(tmp_path, radicale, "restore", calendar=f"{CALENDAR}-unlinked")
    assert world.sync().counts == {"create": 2}
    assert world.sync().counts == {}
    world.store.db.execute("DELETE FROM links WHERE uid = 'ev-mid'")
    world.store.db.commit()
    again = world.sync()
    assert again.error is None and not again.failures, again.summary()
    assert again.counts == {"adopt": 1}
    assert "ev-mid" in world.store.links("mim-10:fahrplan")
    assert [r.marker for r in world.theirs.changes(world.collection, None).records].count(
        "ev-mid"
    ) == 1
    assert world.sync().counts == {}
