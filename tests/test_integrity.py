"""Cross-entity rules: references, cross-mentoring, roles, and what a decision on an
application means for the applicant."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from sync.integrity import Overlay, Problem, check, consequences, keep_selections
from sync.model import (
    Application,
    ApplicationStatus,
    Cohort,
    Event,
    EventKind,
    Organisation,
    Person,
    Role,
    Tandem,
    Task,
)
from sync.store import Store
from tests.conftest import STADT


def tandem(mentee: str = "p-anna", mentor: str = "p-carla", **changes: Any) -> Tandem:
    data: dict[str, Any] = {
        "uid": "t-3",
        "cohort": "mim-10",
        "mentee": mentee,
        "mentor": mentor,
        "matched_on": date(2025, 12, 1),
    }
    return Tandem(**(data | changes))


def person(store: Store, uid: str) -> Person:
    found = store.get(uid)
    assert isinstance(found, Person)
    return found


def test_cross_mentoring_partners_pass(cohort_store: Store) -> None:
    assert check(tandem(), cohort_store) == []


def test_mentee_and_mentor_from_the_same_organisation_are_rejected(cohort_store: Store) -> None:
    assert check(tandem(mentor="p-bernd"), cohort_store) == [
        Problem(
            "mentor",
            "tandem t-3: mentee Anna Beispiel and mentor Bernd Muster both belong to "
            "Stadt Greven; cross-mentoring needs partners from different organisations",
        )
    ]


def test_a_partner_without_organisation_cannot_be_checked_so_is_rejected(
    cohort_store: Store,
) -> None:
    cohort_store.put(person(cohort_store, "p-carla").touched(organisation=None))
    [problem] = check(tandem(), cohort_store)
    assert "Carla Probe has no organisation" in problem.message


@given(mentee_org=st.sampled_from(["org-greven", "org-rheine"]), mentor_org=st.booleans())
def test_same_organisation_is_flagged_exactly_when_it_is_the_same(
    mentee_org: str, mentor_org: bool
) -> None:
    other = "org-rheine" if mentee_org == "org-greven" else "org-greven"
    people = {
        "m1": Person(uid="m1", given_name="A", family_name="B", email="a@x.example",
                     organisation=mentee_org, roles={Role.MENTEE}, cohorts={"mim-10"}),
        "m2": Person(uid="m2", given_name="C", family_name="D", email="c@x.example",
                     organisation=mentee_org if mentor_org else other, roles={Role.MENTOR},
                     cohorts={"mim-10"}),
    }  # fmt: skip
    lookup = Overlay(_Empty())
    for entity in people.values():
        lookup.put(entity)
    flagged = any("cross-mentoring" in p.message for p in check(tandem("m1", "m2"), lookup))
    assert flagged == mentor_org


class _Empty:
    def get(self, uid: str) -> None:
        return None

    def entities(self, kind: str) -> list[Any]:
        return []


def test_roles_must_fit(cohort_store: Store) -> None:
    problems = check(tandem(mentee="p-carla", mentor="p-dora"), cohort_store)
    assert [p.field for p in problems] == ["mentee", "mentor", "mentor"]
    assert "Carla Probe is not a mentee (roles: mentor)" in problems[0].message
    assert "Dora Rat is not a mentor (roles: council)" in problems[1].message


def test_missing_references_are_named(cohort_store: Store) -> None:
    assert check(tandem(mentee="p-nobody"), cohort_store) == [
        Problem("mentee", "there is no person 'p-nobody'")
    ]
    application = Application(uid="a", cohort="mim-99", applicant="org-greven")
    assert check(application, cohort_store) == [
        Problem("cohort", "there is no cohort 'mim-99'"),
        Problem("applicant", "'org-greven' is an organisation, not a person"),
    ]


def test_events_and_tasks_refer_to_what_exists(cohort_store: Store) -> None:
    meeting = Event(
        uid="e",
        cohort="mim-10",
        event_kind=EventKind.TANDEM_MEETING,
        title="Tandemtreffen 1",
        start="2026-02-05T14:00",
        end="2026-02-05T15:30",
        tandem="t-404",
    )
    assert check(meeting, cohort_store) == [Problem("tandem", "there is no tandem 't-404'")]
    assert check(meeting.model_copy(update={"tandem": None}), cohort_store) == [
        Problem("tandem", "a tandem meeting needs its tandem")
    ]
    task = Task(uid="k", cohort="mim-10", title="Räume buchen", assignee="p-anna")
    assert check(task, cohort_store) == [
        Problem("assignee", "Anna Beispiel is neither on the council nor staff")
    ]
    assert check(task.model_copy(update={"assignee": "p-dora"}), cohort_store) == []


def test_a_cohorts_organisations_and_council_must_exist(cohort_store: Store) -> None:
    cohort = cohort_store.get("mim-10")
    assert isinstance(cohort, Cohort)
    broken = cohort.model_copy(
        update={"organisations": ["org-greven", "org-ahlen"], "council": ["p-dora", "p-anna"]}
    )
    assert check(broken, cohort_store) == [
        Problem("organisations", "there is no organisation 'org-ahlen'"),
        Problem("council", "Anna Beispiel is on the council but has no role council"),
    ]


def test_an_applicant_must_come_from_a_member_organisation(cohort_store: Store) -> None:
    ahlen = Organisation(uid="org-ahlen", name="Stadt Ahlen", short_name="Ahlen", org_kind=STADT)
    cohort_store.put(ahlen)
    cohort_store.put(person(cohort_store, "p-anna").touched(organisation="org-ahlen"))
    application = cohort_store.get("app-anna")
    assert application is not None
    assert check(application, cohort_store) == [
        Problem(
            "applicant",
            "Anna Beispiel belongs to Stadt Ahlen, which does not take part in Durchgang 10",
        )
    ]


def test_selection_makes_the_applicant_a_mentee_of_the_cohort(cohort_store: Store) -> None:
    cohort_store.put(person(cohort_store, "p-carla").touched(memberships={}))
    application = Application(uid="app-c", cohort="mim-10", applicant="p-carla", status="selected")
    [changed] = consequences(application, cohort_store)
    assert isinstance(changed, Person)
    assert changed.roles == {Role.MENTEE} and changed.cohorts == {"mim-10"}


def test_declining_takes_role_and_cohort_away(cohort_store: Store) -> None:
    declined = Application(uid="app-anna", cohort="mim-10", applicant="p-anna", status="declined")
    overlay = Overlay(cohort_store)
    overlay.put(declined)
    [changed] = consequences(declined, overlay)
    assert isinstance(changed, Person)
    assert Role.MENTEE not in changed.roles and "mim-10" not in changed.cohorts


def test_another_selected_application_keeps_the_role(cohort_store: Store) -> None:
    cohort_store.put(
        Application(uid="app-anna-11", cohort="mim-11", applicant="p-anna", status="selected")
    )
    cohort_store.put(
        person(cohort_store, "p-anna").touched(
            memberships={"mim-10": {Role.MENTEE}, "mim-11": {Role.MENTEE}}
        )
    )
    withdrawn = Application(
        uid="app-anna-11", cohort="mim-11", applicant="p-anna", status=ApplicationStatus.WITHDRAWN
    )
    overlay = Overlay(cohort_store)
    overlay.put(withdrawn)
    [changed] = consequences(withdrawn, overlay)
    assert isinstance(changed, Person)
    assert changed.roles == {Role.MENTEE} and changed.cohorts == {"mim-10"}


def test_nothing_follows_when_nothing_changes(cohort_store: Store) -> None:
    selected = cohort_store.get("app-anna")
    assert selected is not None
    assert consequences(selected, cohort_store) == []
    assert consequences(tandem(), cohort_store) == []


def test_a_people_list_without_roles_keeps_the_selection(cohort_store: Store) -> None:
    bare = person(cohort_store, "p-anna").model_copy(update={"memberships": {}})
    kept = keep_selections(bare, cohort_store)
    assert kept.roles == {Role.MENTEE} and kept.cohorts == {"mim-10"}


def test_the_overlay_shadows_the_store(cohort_store: Store) -> None:
    overlay = Overlay(cohort_store)
    moved = person(cohort_store, "p-bernd").touched(organisation="org-rheine")
    overlay.put(moved)
    assert overlay.get("p-bernd") == moved
    assert moved in overlay.entities("person")
    assert len(overlay.entities("person")) == 4
    assert check(tandem(mentee="p-anna", mentor="p-bernd"), overlay) == []


def test_declining_keeps_the_other_roles_of_that_cohort(cohort_store: Store) -> None:
    both = {Role.MENTEE, Role.COUNCIL}
    cohort_store.put(person(cohort_store, "p-anna").touched(memberships={"mim-10": both}))
    declined = Application(uid="app-anna", cohort="mim-10", applicant="p-anna", status="declined")
    overlay = Overlay(cohort_store)
    overlay.put(declined)
    [changed] = consequences(declined, overlay)
    assert isinstance(changed, Person)
    assert changed.memberships == {"mim-10": {Role.COUNCIL}}


def test_a_tandem_needs_the_roles_of_its_own_cohort(cohort_store: Store) -> None:
    carla = person(cohort_store, "p-carla")
    cohort_store.put(carla.touched(memberships={"mim-9": {Role.MENTOR}, "mim-10": set()}))
    [problem] = check(tandem(), cohort_store)
    assert problem == Problem("mentor", "Carla Probe is not a mentor (roles: none)")
