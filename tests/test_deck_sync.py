"""The real engine with the Deck adapter against the Deck double and the real Nextcloud 29 +
Deck 1.13 (tests/deck_sites.py): council workflows end to end.

Two rules share one Nextcloud target: the cohort's applications on the council board (the
council decides by moving cards between stacks) and the council's tasks on a task board
(cards may be added by hand, archived or deleted there). The double's clock moves one second
after every pass, as passes minutes apart would (on the real server the test waits for the
next second); "a person" acts as bob through raw HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from connector.deck import DeckTarget
from connector.errors import ConfigError
from connector.testing.deck_server import DeckServer
from mappings.schema import MappingFile
from sync.engine import Engine, Options, RuleResult
from sync.factory import build_engine
from sync.model import Application, Cohort, Entity, Organisation, Person, Task
from sync.store import Store
from tests.deck_sites import BOTH, DoubleSite, Site, either_site
from tests.test_deck import GROUPS, PASSWORDS, Clock
from tests.test_deck import Person as Someone

APPLICATIONS = "Mentoring 10 – Beirat"
TASKS = "Mentoring 10 – Aufgaben"
STATUS_STACKS = {
    "received": "Bewerbungen", "presented": "Vorgestellt", "selected": "Ausgewählt",
    "declined": "Abgelehnt", "withdrawn": "Zurückgezogen",
}  # fmt: skip
TODAY = date(2026, 3, 1)
ACL = [{"group": "beirat", "edit": True}]


def mapping(url: str, title_policy: str = "ask", group: str = "beirat") -> MappingFile:
    """Applications and tasks of cohort mim-10 on two boards of one Nextcloud."""
    applications = {
        "name": "bewerbungen", "entity": "application", "target": "nextcloud",
        "deck": {"board": APPLICATIONS, "stacks": list(STATUS_STACKS.values()),
                 "organisation_labels": True, "acl": [{"group": group, "edit": True}]},
        "fields": [
            {"remote": "title", "direction": "out",
             "template": "{applicant.name} ({applicant.organisation.short_name})"},
            {"remote": "description", "direction": "out",
             "template": "**Funktion:** {position}\n**Fachbereich:** {department}"},
            {"remote": "stack", "canonical": "status", "values": STATUS_STACKS},
            {"remote": "labels", "canonical": "applicant.organisation", "lookup": "short_name"},
        ],
    }  # fmt: skip
    tasks = {
        "name": "aufgaben", "entity": "task", "target": "nextcloud",
        "deck": {"board": TASKS, "stacks": ["Offen", "In Arbeit", "Erledigt"],
                 "labels": ["Finanzen"], "acl": ACL},
        "fields": [
            {"remote": "title", "canonical": "title", "policy": title_policy},
            {"remote": "description", "canonical": "notes"},
            {"remote": "due", "canonical": "due"},
            {"remote": "labels", "canonical": "tags"},
            {"remote": "assignees", "canonical": "assignee", "lookup": "deck_user"},
            {"remote": "archived", "canonical": "done"},
        ],
        "create_from_remote": True, "create_when": {"stack": "Offen"},
        "defaults": {"cohort": "mim-10"}, "on_remote_delete": "tombstone",
    }  # fmt: skip
    return MappingFile.model_validate({
        "name": "Deck-Test", "programme": "mim", "cohort": "mim-10",
        "targets": {"nextcloud": {"kind": "deck", "url": url, "user": "admin",
                                  "secret": {"env": "DECK_APP_PASSWORD"}, "audience": "council"}},
        "rules": [applications, tasks],
    })  # fmt: skip


def cohort() -> list[Entity]:
    """Two organisations, two applicants, a council member and one task."""
    return [
        Organisation(uid="org-greven", name="Stadt Greven", short_name="Greven", org_kind="Stadt"),
        Organisation(uid="org-rheine", name="Stadt Rheine", short_name="Rheine", org_kind="Stadt"),
        Cohort(uid="mim-10", programme="mim", number=10, title="Durchgang 10",
               period_start=date(2025, 9, 1), period_end=date(2027, 6, 30),
               organisations=["org-greven", "org-rheine"]),
        Person(uid="p-anna", given_name="Anna", family_name="Beispiel", email="anna@greven.de",
               organisation="org-greven", cohorts={"mim-10"}),
        Person(uid="p-bernd", given_name="Bernd", family_name="Muster", email="bernd@rheine.de",
               organisation="org-rheine", cohorts={"mim-10"}),
        Person(uid="p-bob", given_name="Bob", family_name="Beirat", email="bob@rheine.de",
               organisation="org-rheine", cohorts={"mim-10"}, roles={"council"}, deck_user="bob"),
        Application(uid="app-anna", cohort="mim-10", applicant="p-anna",
                    position="Sachgebietsleitung", department="Bauen"),
        Application(uid="app-bernd", cohort="mim-10", applicant="p-bernd",
                    position="Stabsstelle Digitalisierung", department="Verwaltung"),
        Task(uid="task-raum", cohort="mim-10", title="Raum für den Auftakt buchen",
             due=date(2026, 3, 5), assignee="p-bob", tags={"Finanzen"}, notes="bei stiwl"),
    ]  # fmt: skip


@dataclass
class World:
    """The Deck site, the store, and the engine of one test."""

    site: Site
    store: Store
    target: DeckTarget
    title_policy: str = "ask"
    passes: list[dict[str, RuleResult]] = field(default_factory=list)

    @property
    def srv(self) -> DeckServer:
        """The double behind this world (for tests that reach into its state)."""
        return double(self)

    @property
    def clock(self) -> Clock:
        """The double's clock."""
        assert isinstance(self.site, DoubleSite)
        return self.site.clock

    def engine(self) -> Engine:
        rules = mapping(self.site.url, self.title_policy)
        return build_engine(self.store, rules, {"nextcloud": self.target}, Options(today=TODAY))

    def sync(self, *, clean: bool = True) -> dict[str, RuleResult]:
        """One pass; the clock then moves on a second."""
        results = {r.rule: r for r in self.engine().sync()}
        self.site.tick()
        self.passes.append(results)
        if clean:
            assert [(r.rule, r.error, r.problems) for r in results.values()] == [
                (r.rule, None, []) for r in results.values()
            ]
        return results

    def settle(self) -> None:
        """Passes until one writes nothing (at most three)."""
        for _ in range(3):
            if not any(r.counts for r in self.sync().values()):
                return
        raise AssertionError(f"no quiet pass: {[r.counts for r in self.passes[-1].values()]}")

    def links(self, rule: str) -> dict[str, Any]:
        engine = self.engine()
        return self.store.links(engine.key(next(r for r in engine.mapping.rules if r.name == rule)))

    def card(self, rule: str, uid: str) -> dict[str, Any]:
        remote_id = self.links(rule)[uid].remote_id
        return self.site.card(self.board(rule), int(remote_id))

    def board(self, rule: str) -> int:
        return self.site.board_id(board_of(rule))

    def stack(self, rule: str, title: str) -> int:
        return self.site.stack_id(board_of(rule), title)

    def entity(self, uid: str) -> Any:
        return self.store.get(uid)

    def put(self, entity: Entity) -> None:
        self.store.put(entity)


def board_of(rule: str) -> str:
    return APPLICATIONS if rule == "bewerbungen" else TASKS


@pytest.fixture(params=BOTH)
def site(request: pytest.FixtureRequest) -> Iterator[Site]:
    """A fresh double with its clock, or the session's real Nextcloud (cleaned)."""
    yield from either_site(request, PASSWORDS, GROUPS)


@pytest.fixture
def world(tmp_path: Path, request: pytest.FixtureRequest, site: Site) -> Iterator[World]:
    store = Store.open(tmp_path / "store.db")
    for entity in cohort():
        store.put(entity)
    target = DeckTarget(site.url, site.writer, site.password(site.writer), sleep=site.sleep)
    policy = getattr(request, "param", "ask")
    yield World(site, store, target, policy)
    target.close()
    store.close()


@pytest.fixture
def bob(world: World) -> Someone:
    return Someone(world.site)


def double(world: World) -> DeckServer:
    """The double behind ``world`` (for tests that inject errors)."""
    assert isinstance(world.site, DoubleSite)
    return world.site.server


# -- (1) a cohort onto a fresh board, then quiet passes ---------------------------------------


def test_applications_land_on_a_fresh_board_and_a_noop_pass_is_cheap(world: World) -> None:
    first = world.sync()
    assert first["bewerbungen"].counts == {"create": 2} and first["aufgaben"].counts == {
        "create": 1
    }
    site = world.site
    assert site.stack_titles(APPLICATIONS) == list(STATUS_STACKS.values())
    assert {"Greven", "Rheine"} <= {lb["title"] for lb in site.board(APPLICATIONS)["labels"]}
    assert site.acl(APPLICATIONS) == site.acl(TASKS) == [(1, "beirat")]
    anna = world.card("bewerbungen", "app-anna")
    assert anna["title"] == "Anna Beispiel (Greven)"
    assert [lb["title"] for lb in anna["labels"]] == ["Greven"]
    assert anna["description"].endswith("cohort-connector: `app-anna`")
    task = world.card("aufgaben", "task-raum")
    assert task["duedate"] == "2026-03-04T23:00:00+00:00"  # 5 March, midnight in Berlin
    assert [u["participant"]["uid"] for u in task["assignedUsers"]] == ["bob"]
    world.settle()
    rows = []
    for _ in range(2):
        world.site.reset_requests()
        results = world.sync()
        seen = len(world.site.requests())
        rows.append((seen, {r.rule: r.requests for r in results.values()}))
        assert not any(r.counts for r in results.values())
        assert seen == sum(r.requests for r in results.values())
        assert all(r.requests <= 2 for r in results.values())
    where = "real server" if world.site.real else "double"
    print(f"\nno-op passes, 2 boards, {where}: (requests seen, per rule)", *rows, sep="\n  ")


# -- (2) simultaneous edits of one card ------------------------------------------------------


def test_simultaneous_edits_of_the_same_card_both_survive(world: World, bob: Someone) -> None:
    world.settle()
    anna = world.card("bewerbungen", "app-anna")
    bob.move(world.board("bewerbungen"), anna["id"], world.stack("bewerbungen", "Ausgewählt"))
    application = world.entity("app-anna")
    world.put(application.touched(position="Fachbereichsleitung"))
    task = world.card("aufgaben", "task-raum")
    bob.edit(world.board("aufgaben"), task["id"], title="Großen Raum für den Auftakt buchen")
    world.put(world.entity("task-raum").touched(due=date(2026, 3, 12)))
    world.site.tick()
    results = world.sync()
    assert results["bewerbungen"].counts == {"update": 1} and results["aufgaben"].counts == {
        "update": 1
    }
    anna = world.card("bewerbungen", "app-anna")
    assert anna["stackId"] == world.stack("bewerbungen", "Ausgewählt")
    assert anna["description"].startswith("**Funktion:** Fachbereichsleitung")
    assert world.entity("app-anna").status == "selected"
    task = world.card("aufgaben", "task-raum")
    assert task["title"] == "Großen Raum für den Auftakt buchen"
    assert task["duedate"] == "2026-03-11T23:00:00+00:00"
    assert world.entity("task-raum").title == "Großen Raum für den Auftakt buchen"
    assert world.entity("task-raum").due == date(2026, 3, 12)
    assert not any(r.counts for r in world.sync().values())


# -- (3) the same field on both sides --------------------------------------------------------


def _both_edit_the_title(world: World, bob: Someone, canonical_at: datetime | None) -> None:
    world.settle()
    task = world.entity("task-raum")
    edited = task.touched(title="Saal buchen (Kanzlei)")
    if canonical_at is not None:
        edited = Task.model_validate({**edited.model_dump(), "updated_at": canonical_at})
    world.put(edited)
    card = world.card("aufgaben", "task-raum")
    bob.edit(world.board("aufgaben"), card["id"], title="Saal buchen (Beirat)")
    world.site.tick()


@pytest.mark.parametrize("world", ["ask"], indirect=True)
def test_same_field_with_policy_ask_parks_a_conflict(world: World, bob: Someone) -> None:
    _both_edit_the_title(world, bob, None)
    world.site.reset_requests()
    results = world.sync()
    assert results["aufgaben"].counts == {"conflict": 1}
    assert [m for m, _ in world.site.requests() if m != "GET"] == [], "no side was written"
    [conflict] = world.store.conflicts()
    assert (conflict.uid, conflict.field) == ("task-raum", "title")
    assert world.entity("task-raum").title == "Saal buchen (Kanzlei)"
    assert world.card("aufgaben", "task-raum")["title"] == "Saal buchen (Beirat)"


@pytest.mark.parametrize("world", ["canonical"], indirect=True)
def test_same_field_with_policy_canonical_lets_the_coordinator_win(
    world: World, bob: Someone
) -> None:
    _both_edit_the_title(world, bob, None)
    assert world.sync()["aufgaben"].counts == {"update": 1}
    assert world.card("aufgaben", "task-raum")["title"] == "Saal buchen (Kanzlei)"
    assert world.entity("task-raum").title == "Saal buchen (Kanzlei)"
    assert world.store.conflicts() == []


@pytest.mark.parametrize(
    ("world", "canonical_later", "winner"),
    [("newest", True, "Saal buchen (Kanzlei)"), ("newest", False, "Saal buchen (Beirat)")],
    indirect=["world"],
)
def test_same_field_with_policy_newest_follows_the_timestamps(
    world: World, bob: Someone, canonical_later: bool, winner: str
) -> None:
    offset = 3600 if canonical_later else -3600
    canonical_at = datetime.fromtimestamp(world.site.now() + offset, UTC)
    _both_edit_the_title(world, bob, canonical_at)
    world.sync()
    assert world.card("aufgaben", "task-raum")["title"] == winner
    assert world.entity("task-raum").title == winner
    assert world.store.conflicts() == []


# -- (4) a card added by hand ----------------------------------------------------------------


def test_a_card_added_by_hand_in_the_intake_stack_becomes_a_task(
    world: World, bob: Someone
) -> None:
    world.settle()
    board = world.board("aufgaben")
    made = bob("POST", f"/boards/{board}/stacks/{world.stack('aufgaben', 'Offen')}/cards",
               {"title": "Catering anfragen", "description": "für 40 Personen"})  # fmt: skip
    bob("POST", f"/boards/{board}/stacks/{world.stack('aufgaben', 'Erledigt')}/cards",
        {"title": "Alte Notiz"})  # fmt: skip
    world.site.tick()
    assert world.sync()["aufgaben"].counts == {"import": 1}
    imported = [t for t in world.store.entities("task") if t.uid != "task-raum"]
    assert [(t.title, t.notes, t.cohort) for t in imported] == [  # type: ignore[attr-defined]
        ("Catering anfragen", "für 40 Personen", "mim-10")
    ]
    assert world.links("aufgaben")[imported[0].uid].remote_id == str(made["id"])
    assert not any(r.counts for r in world.sync().values())


# -- (5) archiving and deleting cards ---------------------------------------------------------


def test_archiving_sets_done_and_deleting_tombstones_the_task(world: World, bob: Someone) -> None:
    world.put(Task(uid="task-flyer", cohort="mim-10", title="Flyer drucken"))
    world.settle()
    board = world.board("aufgaben")
    raum, flyer = world.card("aufgaben", "task-raum"), world.card("aufgaben", "task-flyer")
    bob.edit(board, raum["id"], archived=True)
    bob("DELETE", f"/boards/{board}/stacks/0/cards/{flyer['id']}")
    world.site.tick()
    counts = world.sync()["aufgaben"].counts
    assert counts == {"update": 1, "tombstone": 1}
    assert world.entity("task-raum").done is True
    assert world.store.is_deleted("task-flyer") and world.entity("task-flyer") is None
    stored = world.site.card(board, raum["id"])
    assert stored["archived"] and not stored["deletedAt"]
    assert not any(r.counts for r in world.sync().values())
    world.put(world.entity("task-raum").touched(done=False, notes="doch noch offen"))
    world.sync()
    raum = world.card("aufgaben", "task-raum")
    assert raum["archived"] is False and raum["description"].startswith("doch noch offen")


# -- a bad card does not stop the pass --------------------------------------------------------


@pytest.mark.parametrize("site", ["double"], indirect=True)
def test_a_card_deck_refuses_is_reported_and_the_pass_goes_on(world: World) -> None:
    world.settle()
    for uid in ("app-anna", "app-bernd"):
        world.put(world.entity(uid).touched(department="Neu"))
    bad = world.links("bewerbungen")["app-anna"].remote_id
    # 4 attempts of the PUT, in both rounds of the pass (a failed item is tried again within
    # the pass while the others wrote something).
    double(world).fail_next("PUT", rf"/cards/{bad}$", 500, times=8)
    results = world.sync(clean=False)
    assert results["bewerbungen"].error is None and results["bewerbungen"].counts["update"] >= 1
    [problem] = results["bewerbungen"].problems
    assert "app-anna" in problem and f"card {bad}" in problem and "500" in problem
    assert world.card("bewerbungen", "app-bernd")["description"].endswith(
        "cohort-connector: `app-bernd`"
    )
    assert "**Fachbereich:** Neu" in world.card("bewerbungen", "app-bernd")["description"]
    world.sync()
    assert "**Fachbereich:** Neu" in world.card("bewerbungen", "app-anna")["description"]


# -- a share with a group Nextcloud does not know ----------------------------------------------


def test_a_misspelt_group_stops_its_rule_before_any_write_and_the_others_go_on(
    world: World,
) -> None:
    misspelt = mapping(world.site.url, group="Beirat")
    engine = build_engine(world.store, misspelt, {"nextcloud": world.target}, Options(today=TODAY))
    world.site.reset_requests()
    results = {r.rule: r for r in engine.sync()}
    error = results["bewerbungen"].error
    assert isinstance(error, ConfigError) and error.exit_code == 3
    assert "shared with group 'Beirat'" in str(error) and "deck.acl" in str(error)
    assert results["aufgaben"].error is None and results["aufgaben"].counts == {"create": 1}
    boards = [b["title"] for b in world.site.call("GET", "/boards") if not b["deletedAt"]]
    assert APPLICATIONS not in boards, "nothing was written for the rule"
