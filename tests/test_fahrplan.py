"""Fahrplan templates: the shipped ones give the domain's timeline; `connector cohort new`
creates a cohort from them, updates it when the template changes, never duplicates, leaves
the council's edits alone; broken template files are named by line."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest

from mappings.fahrplan import SHIPPED, inspect_template, load_template
from sync.fahrplan import apply_template
from sync.importer import import_file
from sync.model import BERLIN, Cohort, Event, EventKind, Task
from sync.store import Store
from tests.conftest import EXAMPLES, run_connector

MIM = SHIPPED / "muensterland-mentoring.toml"
NFK = SHIPPED / "nachwuchsfoerderkreis.toml"
BROKEN = sorted((Path(__file__).parent / "fahrplan_broken").glob("*.toml"))
EXPECT = re.compile(r"^# expect: (\d+): (.+)$")


@pytest.fixture
def programmes(tmp_path: Path) -> Iterator[Path]:
    """A store with both programmes and cohort 10 of Mentoring im Münsterland."""
    path = tmp_path / "cohort.db"
    with Store.open(path) as store:
        for folder, kinds in (
            ("muensterland-10", ("organisations", "programmes", "people", "cohorts")),
            ("nachwuchsfoerderkreis", ("organisations", "programmes")),
        ):
            for kind in kinds:
                assert import_file(store, kind, EXAMPLES / folder / f"{kind}.csv").written
    yield path


def new(store: Path, *args: str) -> dict[str, object]:
    done = run_connector("--store", str(store), "cohort", "new", *args, "--json")
    assert done.returncode == 0, done.stderr
    data: dict[str, object] = json.loads(done.stdout)
    return data


MIM_11 = ("--programme", "mim", "--number", "11", "--start", "2027-01-15")


def test_shipped_templates_are_valid() -> None:
    for path in (MIM, NFK):
        assert inspect_template(path)[1] == []


def test_mim_template_has_the_domain_timeline() -> None:
    template = load_template(MIM)
    kinds = [e.kind for e in template.events]
    for station in (
        EventKind.INFO_EVENT,
        EventKind.CONSTITUENT_MEETING,
        EventKind.APPLICATION_PHASE,
        EventKind.PRESENTATION_DAY,
        EventKind.MATCHING_PHASE,
        EventKind.START_WORKSHOP,
        EventKind.MIDTERM_REVIEW,
        EventKind.CLOSING_CEREMONY,
    ):
        assert station in kinds, station
    # The stations come in the order of the Fahrplan.
    days = [e.day for e in template.events if e.kind is not EventKind.COUNCIL_MEETING]
    assert days == sorted(days)
    networking = [e for e in template.events if e.kind is EventKind.NETWORKING_MEETING]
    assert len(networking) == 2 and all(e.per_group for e in networking)
    assert template.reveal == "start-workshop"


def test_cohort_new_creates_the_plan(programmes: Path) -> None:
    data = new(programmes, *MIM_11)
    assert data["counts"] == {"created": 36} and data["written"] is True
    with Store.open(programmes) as store:
        cohort = store.get("mim-11")
        assert isinstance(cohort, Cohort)
        assert cohort.title == "Mentoring im Münsterland – Durchgang 11 (2027/2028)"
        assert (cohort.period_start, cohort.period_end) == (date(2027, 1, 15), date(2028, 11, 15))
        assert cohort.reveal_on == date(2027, 12, 8)  # the start workshop: day 327
        assert cohort.fee_per_mentee == 500 and cohort.council == []
        ten = store.get("mim-10")
        assert isinstance(ten, Cohort) and cohort.organisations == ten.organisations
        events = {e.uid: e for e in store.entities("event") if isinstance(e, Event)}
        workshop = events["mim-11-start-workshop"]
        assert workshop.start == datetime(2027, 12, 8, 9, 0, tzinfo=BERLIN)
        assert workshop.end == datetime(2027, 12, 8, 17, 0, tzinfo=BERLIN)
        phase = events["mim-11-application-phase"]
        assert phase.all_day and (phase.start.date(), phase.end.date()) == (
            date(2027, 4, 17),
            date(2027, 7, 17),
        )
        rounds = sorted(
            (e.regional_group, e.start.date())
            for e in events.values()
            if e.cohort == "mim-11" and e.event_kind is EventKind.NETWORKING_MEETING
        )
        assert len(rounds) == 6  # two rounds for each of Nord, Süd, West
        assert ("Süd", date(2028, 1, 28)) in rounds and ("West", date(2028, 1, 30)) in rounds
        tasks = {t.uid: t for t in store.entities("task") if isinstance(t, Task)}
        assert tasks["mim-11-call-for-applications"].due == date(2027, 4, 10)  # 7 days before
        assert tasks["mim-11-review-profiles"].due == date(2027, 8, 1)  # 15 days after the end
        assert tasks["mim-11-invoices"].tags == {"Finanzen"}
        assert "mim-11-organise-networking-sued" in tasks


def test_running_again_changes_nothing_and_never_duplicates(programmes: Path) -> None:
    new(programmes, *MIM_11)
    again = new(programmes, *MIM_11)
    assert again["counts"] == {"unchanged": 36}
    with Store.open(programmes) as store:
        assert len([e for e in store.entities("event") if e.cohort_uids() == {"mim-11"}]) == 16


def test_template_changes_update_untouched_items_only(programmes: Path, tmp_path: Path) -> None:
    template = tmp_path / "mim.toml"
    shutil.copy(MIM, template)
    new(programmes, *MIM_11, "--template", str(template))
    with Store.open(programmes) as store:
        # The council moves the alignment and renames a task on its board.
        alignment = store.get("mim-11-alignment")
        assert isinstance(alignment, Event)
        store.put(alignment.touched(location="Rathaus Laer"))
        task = store.get("mim-11-invoices")
        assert isinstance(task, Task)
        store.put(task.touched(title="Rechnungen prüfen (Kreis Warendorf)"))
        store.tombstone("mim-11-press-release")  # not wanted this time
    text = template.read_text(encoding="utf-8")
    text = text.replace('time = "10:00-12:00"', 'time = "09:00-11:00"')  # the alignment
    text = text.replace("Online-Informationsveranstaltung", "Online-Infoveranstaltung")
    text = text.replace("offset = 68\n", "offset = 60\n")  # the invoices
    text = text.replace("offset = -26\n", "offset = -30\n")  # the press release
    text = text.replace(
        '[[tasks]]\nkey = "announce-info-event"',
        '[[tasks]]\nkey = "flyer"\ntitle = "Flyer"\n'
        'milestone = "info-event"\n\n[[tasks]]\nkey = "announce-info-event"',
    )
    template.write_text(text, encoding="utf-8")
    data = new(programmes, *MIM_11, "--template", str(template))
    outcomes = {o["uid"]: (o["action"], o["why"]) for o in data["outcomes"]}  # type: ignore[attr-defined]
    assert outcomes["mim-11-info-event"] == ("updated", "")
    assert outcomes["mim-11-alignment"] == ("kept", "changed by the council")
    assert outcomes["mim-11-invoices"] == ("kept", "changed by the council")
    assert outcomes["mim-11-press-release"] == ("kept", "deleted by the council")
    assert outcomes["mim-11-flyer"] == ("created", "")
    assert data["counts"] == {"unchanged": 32, "updated": 1, "kept": 3, "created": 1}
    with Store.open(programmes) as store:
        info = store.get("mim-11-info-event")
        assert isinstance(info, Event) and info.title == "Online-Infoveranstaltung"
        alignment = store.get("mim-11-alignment")
        assert isinstance(alignment, Event) and alignment.location == "Rathaus Laer"
        assert alignment.start.hour == 10  # the template's new time did not override the edit
        assert store.get("mim-11-press-release") is None  # not recreated
    # An item dropped from the template goes if untouched, stays if the council changed it.
    text = template.read_text(encoding="utf-8")
    for key in ("flyer", "invoices"):
        text = re.sub(rf'\[\[tasks\]\]\nkey = "{key}"\n(?:[^\[].*\n|\n)*', "", text)
    template.write_text(text, encoding="utf-8")
    data = new(programmes, *MIM_11, "--template", str(template))
    outcomes = {o["uid"]: (o["action"], o["why"]) for o in data["outcomes"]}  # type: ignore[attr-defined]
    assert outcomes["mim-11-flyer"] == ("removed", "")
    assert outcomes["mim-11-invoices"][0] == "kept"
    with Store.open(programmes) as store:
        assert store.get("mim-11-flyer") is None and store.get("mim-11-invoices") is not None


def test_nfk_template_qualification_series(programmes: Path) -> None:
    data = new(programmes, "--programme", "nfk", "--number", "2", "--start", "2023-04-01")
    assert data["counts"] == {"created": 19}
    with Store.open(programmes) as store:
        events = [e for e in store.entities("event") if isinstance(e, Event)]
        modules = [e for e in events if e.event_kind is EventKind.MODULE]
        assert len(modules) == 7  # kick-off and six modules with the trainer
        selection = store.get("nfk-2-joint-selection")
        assert isinstance(selection, Event) and selection.start.date() == date(2023, 3, 11)
        closing = store.get("nfk-2-closing-ceremony")
        assert isinstance(closing, Event) and closing.title == "Abschlussfeier des Durchgangs 2"
        titles = {t.title for t in store.entities("task") if isinstance(t, Task)}
        assert "Evaluation des Durchgangs auswerten" in titles
        assert "Externe Trainer/in auswählen und beauftragen" in titles


def test_dry_run_writes_nothing(programmes: Path) -> None:
    data = new(programmes, *MIM_11, "--dry-run")
    assert data["written"] is False and data["counts"] == {"created": 36}
    with Store.open(programmes) as store:
        assert store.get("mim-11") is None


def test_an_imported_cohort_is_not_overwritten(programmes: Path) -> None:
    done = run_connector(
        "--store", str(programmes), "cohort", "new", "--programme", "mim", "--number", "10",
        "--start", "2025-03-01",
    )  # fmt: skip
    assert done.returncode == 3
    assert "cohort mim-10 exists and was not made from a Fahrplan template" in done.stderr


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_templates_name_file_line_and_field(path: Path) -> None:
    found = EXPECT.match(path.read_text(encoding="utf-8").splitlines()[0])
    assert found, f"{path.name}: first line must be '# expect: LINE: fragment'"
    line, fragment = found.groups()
    done = run_connector("cohort", "check", str(path))
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert f"{path}:{line}: {fragment}" in done.stderr, done.stderr


def test_a_broken_template_leaves_the_store_alone(programmes: Path) -> None:
    broken = next(p for p in BROKEN if p.stem == "unknown_milestone")
    done = run_connector(
        "--store", str(programmes), "cohort", "new", *MIM_11, "--template", str(broken)
    )
    assert done.returncode == 3
    assert done.stderr.splitlines()[0] == f"error: {broken}: 1 problem in the Fahrplan template"
    with Store.open(programmes) as store:
        assert store.get("mim-11") is None


def test_apply_template_in_process(programmes: Path) -> None:
    """The same engine, called directly: a second cohort gets its own items."""
    with Store.open(programmes) as store:
        template = load_template(MIM)
        apply_template(store, template, "mim", number=11, start=date(2027, 1, 15))
        apply_template(store, template, "mim", number=12, start=date(2029, 1, 15))
        twelve = [e for e in store.entities("event") if e.cohort_uids() == {"mim-12"}]
        assert len(twelve) == 16


def test_readme_names_every_template_key() -> None:
    from mappings.fahrplan import EventItem, FahrplanTemplate, TaskItem

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### `connector cohort new`", 1)[1].split("\n### ", 1)[0]
    for model in (FahrplanTemplate, EventItem, TaskItem):
        for name, info in model.model_fields.items():
            if name not in ("events", "tasks"):
                assert f"`{info.alias or name}`" in section, name
