"""Matching support: candidates beside the mentee's goals, the tandem check with its exit code,
and the council-only candidates field of mappings (rejected on any other audience)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from mappings.load import check_mapping
from mappings.templates import render_template
from sync.importer import import_file
from sync.matching import candidates, check_cohort
from sync.model import Application, Entity, Person, Role, Tandem
from sync.store import Store
from tests.conftest import EXAMPLES, example_files, run_connector


def _tandem(uid: str, mentee: str, mentor: str) -> Tandem:
    return Tandem(uid=uid, cohort="mim-10", mentee=mentee, mentor=mentor, matched_on=date.today())


def test_candidates_come_from_other_organisations(cohort_store: Store) -> None:
    cohort_store.put(
        Application(
            uid="app-anna",
            cohort="mim-10",
            applicant="p-anna",
            status="selected",
            position="Teamleitung",
            goals="Konfliktgespräche führen",
            topics=["Führungsrolle finden"],
        )
    )
    found = candidates(cohort_store, "anna.beispiel@example.org")
    assert [c.uid for c in found.candidates] == ["p-carla"]  # Bernd is from Greven as well
    assert found.candidates[0].flags == [] and found.mentee_flags == []
    assert found.goals.goals == "Konfliktgespräche führen" and found.goals.position == "Teamleitung"
    everyone = candidates(cohort_store, "p-anna", everyone=True)
    bernd = next(c for c in everyone.candidates if c.uid == "p-bernd")
    assert bernd.flags == [
        "mentee Anna Beispiel and mentor Bernd Muster both belong to Stadt Greven; "
        "cross-mentoring needs partners from different organisations"
    ]
    assert cohort_store.entities("tandem") == []  # nothing paired automatically


def test_paired_mentors_and_mentees_are_flagged(cohort_store: Store) -> None:
    cohort_store.put(_tandem("t-1", "p-anna", "p-carla"))
    found = candidates(cohort_store, "p-anna", everyone=True)
    assert found.mentee_flags == ["Anna Beispiel already has tandem t-1"]
    carla = next(c for c in found.candidates if c.uid == "p-carla")
    assert "already paired in this cohort" in carla.flags
    assert candidates(cohort_store, "p-anna").candidates == []


def test_a_person_who_is_not_a_mentee_is_flagged(cohort_store: Store) -> None:
    found = candidates(cohort_store, "p-dora", "mim-10")
    assert found.mentee_flags == ["Dora Rat is not a mentee of mim-10 (not selected?)"]


def test_check_lists_every_problem_with_exit_code_3(cohort_store: Store, tmp_path: Path) -> None:
    cohort_store.put(_tandem("t-1", "p-anna", "p-carla"))
    ok = run_connector(
        "--store", str(tmp_path / "cohort.db"), "match", "check", "--cohort", "mim-10"
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines() == ["mim-10: 1 tandems checked, 0 problems"]
    cohort_store.put(_tandem("t-2", "p-anna", "p-bernd"))  # same organisation, second mentor
    cohort_store.put(_tandem("t-3", "p-dora", "p-carla"))  # Dora is on the council
    bad = run_connector(
        "--store", str(tmp_path / "cohort.db"), "match", "check", "--cohort", "mim-10"
    )
    assert bad.returncode == 3
    assert bad.stderr.splitlines() == [
        "error: mim-10: 5 problems in the tandems",
        "tandem t-1: mentee: Anna Beispiel already has tandem t-2 in this cohort",
        "tandem t-2: mentor: mentee Anna Beispiel and mentor Bernd Muster both belong to "
        "Stadt Greven; cross-mentoring needs partners from different organisations",
        "tandem t-2: mentee: Anna Beispiel already has tandem t-1 in this cohort",
        "tandem t-3: mentee: Dora Rat is not a mentee (roles: council) "
        "(is the application selected?)",
        "tandem t-3: mentor: mentee Dora Rat and mentor Carla Probe both belong to Stadt "
        "Rheine; cross-mentoring needs partners from different organisations",
    ]
    data = json.loads(
        run_connector(
            "--store", str(tmp_path / "cohort.db"), "match", "check", "--cohort", "mim-10", "--json"
        ).stdout
    )
    assert data["tandems"] == 3 and len(data["problems"]) == 5


def test_check_unknown_person_and_cohort(cohort_store: Store, tmp_path: Path) -> None:
    store = str(tmp_path / "cohort.db")
    done = run_connector("--store", store, "match", "candidates", "nobody@example.org")
    assert done.returncode == 3
    assert done.stderr.startswith("error: there is no person with uid or e-mail")
    done = run_connector("--store", store, "match", "check", "--cohort", "mim-99")
    assert done.returncode == 3 and "no cohort 'mim-99'" in done.stderr


def test_the_example_cohort_is_clean(tmp_path: Path) -> None:
    with Store.open(tmp_path / "cohort.db") as store:
        for kind, file in example_files(EXAMPLES / "muensterland-10"):
            assert import_file(store, kind, file).written
        result = check_cohort(store, "mim-10")
        assert (result.tandems, result.problems, result.unpaired) == (18, [], [])
        # Every selected mentee is paired; two of the 20 mentors are still free.
        mentee = next(
            p for p in store.entities("person") if p.email == "mareike.boeckenholt@buende.example"
        )
        found = candidates(store, mentee.uid, everyone=True)
        free = [c.name for c in found.candidates if not c.flags]
        assert free == ["Jonas Tenhagen", "Detlef Rottmann"]


class _PassLookup:
    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, uid: str) -> Entity | None:
        return self.store.get(uid)

    def all(self, kind: str) -> list[Entity]:
        return self.store.entities(kind)


COUNCIL_MAPPING = """\
name = "Beirat"
programme = "mim"
cohort = "mim-10"

[targets.nextcloud]
kind = "deck"
url = "https://cloud.example.org"
user = "admin"
secret = { env = "DECK_APP_PASSWORD" }
audience = "AUDIENCE"

[[rules]]
name = "bewerbungen"
entity = "application"
target = "nextcloud"

[rules.deck]
board = "Beirat"
stacks = ["Bewerbungen"]

[[rules.fields]]
remote = "description"
direction = "out"
template = "Vorschläge: {applicant.match_candidates}"
"""


def test_council_board_can_show_candidates(cohort_store: Store, tmp_path: Path) -> None:
    council = tmp_path / "council.toml"
    council.write_text(COUNCIL_MAPPING.replace("AUDIENCE", "council"), encoding="utf-8")
    assert check_mapping(council) == []
    application = cohort_store.get("app-anna")
    assert application is not None
    text = render_template(
        "Vorschläge: {applicant.match_candidates}",
        application,
        _PassLookup(cohort_store),
        tandems=True,
    )
    assert text == "Vorschläge: Carla Probe (Rheine, ohne Funktion)"
    cohort_store.put(_tandem("t-1", "p-anna", "p-carla"))
    assert (
        render_template(
            "{applicant.match_candidates}", application, _PassLookup(cohort_store), tandems=True
        )
        == ""
    )  # paired: nothing to suggest


def test_candidates_never_reach_a_mentee_or_mentor_target(tmp_path: Path) -> None:
    for audience in ("mentees", "mentors", "participants"):
        path = tmp_path / f"{audience}.toml"
        path.write_text(COUNCIL_MAPPING.replace("AUDIENCE", audience), encoding="utf-8")
        assert check_mapping(path) == [
            f"{path}:24: rules[0].fields[0].template: {{applicant.match_candidates}}: "
            f"applicant.match_candidates is for the council only (matching ideas); this rule's "
            f'audience is {audience}. Use it on a rule with audience = "council"'
        ]


def test_candidates_are_only_for_mentees(cohort_store: Store) -> None:
    dora = cohort_store.get("p-dora")
    assert isinstance(dora, Person) and Role.MENTEE not in dora.roles
    from mappings.derived import match_candidates

    assert match_candidates(dora, _PassLookup(cohort_store)) == []
