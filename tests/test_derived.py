"""Derived values: who an event is for."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from mappings.load import check_mapping
from mappings.paths import read
from sync.catalog import Catalog
from sync.model import BERLIN, Cohort, Event, Person, Tandem


def people() -> list[Person]:
    def person(uid: str, roles: set[str], group: str | None = None, consent: bool = True) -> Person:
        return Person(
            uid=uid,
            given_name=uid,
            family_name="X",
            email=f"{uid}@x.example",
            roles=roles,
            cohorts={"c-1"},
            regional_group=group,  # type: ignore[arg-type]
            consent_lists=consent,
        )

    return [
        person("mentee-nord", {"mentee"}, "Nord"),
        person("mentee-sued", {"mentee"}, "Süd"),
        person("mentor", {"mentor"}),
        person("beirat", {"council"}),
        person("no-mail", {"mentee"}, "Nord", consent=False),
    ]


def event(**changes: object) -> Event:
    data: dict[str, object] = dict(
        uid="ev",
        cohort="c-1",
        event_kind="networking_meeting",
        title="Treffen",
        start=datetime(2026, 3, 1, 16, tzinfo=BERLIN),
        end=datetime(2026, 3, 1, 18, tzinfo=BERLIN),
        audience={"mentees"},
    )
    data.update(changes)
    return Event.model_validate(data)


def catalog(*extra: object) -> Catalog:
    cohort = Cohort(
        uid="c-1",
        programme="p",
        number=1,
        title="C",
        period_start=date(2025, 1, 1),
        period_end=date(2027, 1, 1),
    )
    return Catalog([cohort, *people(), *extra])  # type: ignore[list-item]


def test_attendees_follow_audience_region_and_consent() -> None:
    lookup = catalog()
    assert read(event(), "attendee_emails", lookup) == [
        "mentee-nord@x.example",
        "mentee-sued@x.example",
    ]
    nord = event(regional_group="Nord")
    assert read(nord, "attendee_emails", lookup) == ["mentee-nord@x.example"]
    everyone = event(audience={"participants", "council"})
    assert read(everyone, "attendee_emails", lookup) == [
        "beirat@x.example",
        "mentee-nord@x.example",
        "mentee-sued@x.example",
        "mentor@x.example",
    ]


def test_a_tandem_meeting_is_for_the_two_partners_only() -> None:
    tandem = Tandem(
        uid="t-1", cohort="c-1", mentee="mentee-sued", mentor="mentor", matched_on=date(2026, 1, 1)
    )
    meeting = event(
        uid="m-1", event_kind="tandem_meeting", tandem="t-1", audience={"mentees", "mentors"}
    )
    assert read(meeting, "attendee_emails", catalog(tandem)) == [
        "mentee-sued@x.example",
        "mentor@x.example",
    ]


def test_a_mapping_may_send_attendees_out(tmp_path: Path) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        """name = "t"
programme = "mim"
cohort = "mim-10"

[targets.kalender]
kind = "caldav"
url = "https://cloud.example.org/remote.php/dav"
user = "connector"
secret = { env = "CALDAV_PASSWORD" }
audience = "participants"

[[rules]]
name = "termine"
entity = "event"
target = "kalender"

[rules.calendar]
calendar = "termine"
display_name = "Termine"

[[rules.fields]]
remote = "summary"
canonical = "title"

[[rules.fields]]
remote = "attendees"
canonical = "attendee_emails"
direction = "out"
""",
        encoding="utf-8",
    )
    assert check_mapping(mapping) == []
