"""The canonical model: validation a coordinator can read, enums, Berlin times."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from sync.model import (
    BERLIN,
    REFERENCES,
    ApplicationStatus,
    Cohort,
    Entity,
    Event,
    EventKind,
    Person,
    Role,
    Tandem,
    describe_validation_error,
    entity_type,
)


def problems(cls: type[Entity], **data: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        cls.model_validate(data)
    return describe_validation_error(caught.value)


def person(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "uid": "person-1",
        "given_name": "Anna",
        "family_name": "Beispiel",
        "email": "anna.beispiel@greven.example",
    }
    return data | changes


def event(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "uid": "event-1",
        "cohort": "mim-10",
        "event_kind": "start_workshop",
        "title": "Startworkshop",
        "start": "2026-01-22T09:00",
        "end": "2026-01-22T17:00",
    }
    return data | changes


def test_a_bad_email_is_named_with_its_field_and_value() -> None:
    assert problems(Person, **person(email="anna.greven.example")) == [
        ("email", "'anna.greven.example' is not an e-mail address")
    ]


def test_email_domain_is_lowercased_but_the_local_part_kept() -> None:
    assert Person(**person(email=" Anna.B@Greven.EXAMPLE ")).email == "Anna.B@greven.example"


def test_uid_rules_are_explained() -> None:
    [(field, message)] = problems(Person, **person(uid="Anna Beispiel"))
    assert field == "uid"
    assert "lower-case letters, digits" in message and "'Anna Beispiel'" in message


def test_every_problem_of_a_record_is_reported_at_once() -> None:
    fields = {f for f, _ in problems(Person, uid="p", email="x", memberships={"mim-10": ["boss"]})}
    assert fields == {"given_name", "family_name", "email", "memberships.mim-10.0"}


def test_roles_belong_to_a_cohort() -> None:
    shorthand = Person(**person(roles={"mentor", "council"}, cohorts={"mim-10", "mim-11"}))
    assert shorthand.memberships == {"mim-10": {Role.MENTOR, Role.COUNCIL}} | {
        "mim-11": {Role.MENTOR, Role.COUNCIL}
    }
    mixed = Person(**person(memberships={"mim-10": {"mentee"}, "mim-11": {"mentor"}}))
    assert mixed.roles == {Role.MENTEE, Role.MENTOR} and mixed.cohorts == {"mim-10", "mim-11"}
    assert mixed.roles_in({"mim-11"}) == {Role.MENTOR} and mixed.roles_in({"mim-12"}) == set()
    [(field, message)] = problems(Person, **person(roles={"mentee"}))
    assert (field, message) == ("(record)", "roles belong to a cohort: name the cohorts too")
    assert Person(**person()).consent_lists is False  # consent is given, never assumed


def test_unknown_fields_are_refused() -> None:
    [(field, _)] = problems(Person, **person(phone="0251 1234"))
    assert field == "phone"


def test_period_in_wrong_order_reads_plainly() -> None:
    [(field, message)] = problems(
        Cohort,
        uid="mim-10",
        programme="mim",
        number=10,
        title="Durchgang 10",
        period_start="2026-12-31",
        period_end="2025-03-01",
    )
    assert (field, message) == ("(record)", "period_end lies before period_start")


def test_tandem_of_one_person_is_refused() -> None:
    [(_, message)] = problems(
        Tandem, uid="t", cohort="c", mentee="p", mentor="p", matched_on="2025-12-01"
    )
    assert message == "mentee and mentor must be two different people"


def test_enums_are_strings_with_stable_values() -> None:
    assert [s.value for s in ApplicationStatus] == [
        "received",
        "presented",
        "selected",
        "declined",
        "withdrawn",
    ]
    assert Role("mentee") is Role.MENTEE and Role.MENTEE == "mentee"
    [(field, message)] = problems(Person, **person(memberships={"mim-10": ["Chef"]}))
    assert field == "memberships.mim-10.0" and "'mentee'" in message


def test_naive_times_are_berlin_times() -> None:
    winter = Event(**event())
    summer = Event(**event(start="2026-06-18T09:00", end="2026-06-18T17:00"))
    assert winter.start.tzinfo is BERLIN
    assert winter.start.utcoffset() == timedelta(hours=1)
    assert summer.start.utcoffset() == timedelta(hours=2)


def test_utc_times_are_converted_to_berlin() -> None:
    started = Event(**event(start=datetime(2026, 1, 22, 8, 0, tzinfo=UTC)))
    assert started.start.tzinfo is BERLIN and started.start.hour == 9


def test_a_date_means_midnight_in_berlin() -> None:
    whole_day = Event(**event(start=date(2025, 6, 1), end=date(2025, 8, 31), all_day=True))
    assert whole_day.start == datetime(2025, 6, 1, tzinfo=BERLIN)


def test_an_event_cannot_end_before_it_starts() -> None:
    [(_, message)] = problems(Event, **event(end="2026-01-22T08:00"))
    assert message == "the event ends before it starts"


def test_event_kinds_cover_the_fahrplan() -> None:
    for station in ("presentation_day", "start_workshop", "midterm_review", "closing_ceremony"):
        assert EventKind(station)


def test_reveal_date_decides_the_secret() -> None:
    cohort = Cohort(
        uid="mim-10",
        programme="mim",
        number=10,
        title="Durchgang 10",
        period_start=date(2025, 3, 1),
        period_end=date(2026, 12, 31),
        reveal_on=date(2026, 1, 22),
    )
    assert not cohort.revealed(date(2026, 1, 21))
    assert cohort.revealed(date(2026, 1, 22))


def test_touched_validates_and_bumps_updated_at() -> None:
    anna = Person(**person(updated_at="2020-01-01T00:00:00+00:00"))
    moved = anna.touched(position="Teamleitung")
    assert moved.updated_at > anna.updated_at and moved.position == "Teamleitung"
    with pytest.raises(ValidationError):
        anna.touched(email="nope")


def test_references_name_existing_kinds_and_fields() -> None:
    for (kind, field), target in REFERENCES.items():
        assert field in entity_type(kind).model_fields
        assert entity_type(target)


def test_unknown_kind_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known: programme"):
        entity_type("mentee")
