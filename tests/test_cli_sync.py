"""`connector plan`, `sync`, `show` and `conflicts` driven in-process against memory targets.

Every command goes through :func:`cli.main` (the one error handler), so exit codes and
messages are the ones an operator sees. Memory targets live in this process, so the test can
play the person editing a board between invocations.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import cli
from connector.memory import MemoryTarget
from sync.model import Organisation, Person, Tandem, Task
from sync.store import Store
from tests.factories import cohort_10

REVEAL = date(2026, 3, 10)
BEFORE = "2026-03-09"
ON_THE_DAY = REVEAL.isoformat()
BOARD = "Aufgaben"
TANDEMS = "Tandems"
TASKS = 4

CONFIG = """\
store = "cohort.db"
mappings = ["mapping.toml"]

[sync]
interval = 1
max_delete_share = 0.4
min_delete_count = 2
"""

MAPPING = """\
name = "CLI-Test"
programme = "mim"
cohort = "mim-10"

[targets.board]
kind = "memory"
url = "memory://board"
audience = "council"

[targets.mentees]
kind = "memory"
url = "memory://mentees"
audience = "mentees"

[[rules]]
name = "aufgaben"
entity = "task"
target = "board"
on_remote_delete = "tombstone"

[rules.deck]
board = "Aufgaben"
stacks = ["Offen", "Erledigt"]

[[rules.fields]]
remote = "title"
canonical = "title"
direction = "both"
policy = "ask"

[[rules.fields]]
remote = "stack"
canonical = "done"
values = { false = "Offen", true = "Erledigt" }
direction = "both"
policy = "remote"

[[rules]]
name = "tandems"
entity = "tandem"
target = "mentees"

[rules.deck]
board = "Tandems"
stacks = ["Tandems"]

[[rules.fields]]
remote = "title"
direction = "out"
template = "{mentee.name} ↔ {mentor.name}"
"""


@dataclass
class Result:
    """What one `connector` invocation printed and how it exited."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """Both streams, as a person at the terminal would see them."""
        return self.stdout + self.stderr


def invoke(*argv: str) -> Result:
    """Run :func:`cli.main` (the real entry point, with its error handler) in this process,
    so memory targets persist between invocations."""
    out, err = io.StringIO(), io.StringIO()
    saved, sys.argv = sys.argv, ["connector", *argv]
    code = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            cli.main()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    finally:
        sys.argv = saved
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture(autouse=True)
def fresh_memory() -> Iterator[None]:
    MemoryTarget.reset()
    yield
    MemoryTarget.reset()


def populate(path: Path) -> None:
    """A cohort revealed on REVEAL, four council tasks, a mentee, a mentor and their tandem."""
    with Store.open(path) as store:
        for org in ("org-greven", "org-rheine"):
            store.put(Organisation(uid=org, name=f"Stadt {org}", short_name=org, org_kind="Stadt"))
        store.put(cohort_10(reveal_on=REVEAL, organisations=["org-greven", "org-rheine"]))
        for uid, given, family, org, role in (
            ("p-anna", "Anna", "Beispiel", "org-greven", "mentee"),
            ("p-carla", "Carla", "Probe", "org-rheine", "mentor"),
        ):
            store.put(
                Person(
                    uid=uid,
                    given_name=given,
                    family_name=family,
                    email=f"{given.lower()}@example.org",
                    organisation=org,
                    roles={role},
                    cohorts={"mim-10"},
                )
            )
        store.put(
            Tandem(
                uid="tandem-1",
                cohort="mim-10",
                mentee="p-anna",
                mentor="p-carla",
                matched_on=date(2026, 1, 15),
            )
        )
        for i in range(TASKS):
            store.put(Task(uid=f"task-{i}", cohort="mim-10", title=f"Aufgabe {i}", done=i == 0))


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A working folder: connector.toml, mapping.toml and a populated store."""
    (tmp_path / "connector.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "mapping.toml").write_text(MAPPING, encoding="utf-8")
    populate(tmp_path / "cohort.db")
    return tmp_path


Connector = Callable[..., Result]


@pytest.fixture
def connector(work: Path) -> Connector:
    """Run ``connector --config WORK/connector.toml ARGS`` in this process."""

    def run(*args: str) -> Result:
        return invoke("--config", str(work / "connector.toml"), *args)

    return run


def board() -> MemoryTarget:
    return MemoryTarget("memory://board")


def mentees() -> MemoryTarget:
    return MemoryTarget("memory://mentees")


def titles(target: MemoryTarget, collection: str) -> list[str]:
    return sorted(str(r.fields["title"]) for r in target.records(collection).values())


def open_store(work: Path) -> Store:
    return Store.open(work / "cohort.db", create=False)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return result


# -- plan ----------------------------------------------------------------------------------


def test_plan_prints_creates_per_rule_and_writes_nothing(work: Path, connector: Connector) -> None:
    before = (work / "cohort.db").read_bytes()
    out = ok(connector("plan", "--today", ON_THE_DAY)).stdout
    assert f"aufgaben → board / {BOARD}: {TASKS} create" in out
    assert f"tandems → mentees / {TANDEMS}: 1 create" in out
    assert "+ create task »Aufgabe 0« [task-0]" in out and "title: 'Aufgabe 0'" in out
    assert "+ create tandem Anna Beispiel" in out and "[tandem-1]" in out
    assert "Anna Beispiel ↔ Carla Probe" in out
    assert (work / "cohort.db").read_bytes() == before
    assert board().space.collections == {} and mentees().space.collections == {}
    with open_store(work) as store:
        assert store.links("mim-10:aufgaben") == {} and store.last_passes() == []


def test_plan_json_lists_the_items(work: Path, connector: Connector) -> None:
    before = (work / "cohort.db").read_bytes()
    data = json.loads(ok(connector("plan", "--json", "--today", ON_THE_DAY)).stdout)
    by_rule = {entry["rule"]: entry for entry in data}
    assert set(by_rule) == {"aufgaben", "tandems"}
    tasks = by_rule["aufgaben"]
    assert tasks["counts"] == {"create": TASKS} and tasks["error"] is None
    assert sorted(i["uid"] for i in tasks["items"]) == [f"task-{i}" for i in range(TASKS)]
    first = next(i for i in tasks["items"] if i["uid"] == "task-0")
    assert first["action"] == "create"
    assert first["remote_changes"] == {"title": "Aufgabe 0", "stack": "Erledigt"}
    assert [i["uid"] for i in by_rule["tandems"]["items"]] == ["tandem-1"]
    assert (work / "cohort.db").read_bytes() == before
    assert board().space.collections == {}


# -- sync ----------------------------------------------------------------------------------


def test_sync_stats_then_nothing_to_do_then_json(work: Path, connector: Connector) -> None:
    out = ok(connector("sync", "--stats", "--today", ON_THE_DAY)).stdout
    lines = out.splitlines()
    [tasks_line] = [line for line in lines if line.startswith("aufgaben → board")]
    assert f"{TASKS} create" in tasks_line and "requests]" in tasks_line
    [tandem_line] = [line for line in lines if line.startswith("tandems → mentees")]
    assert "1 create" in tandem_line and "requests]" in tandem_line
    assert any(line.startswith("requests per target: board: ") for line in lines)
    assert titles(board(), BOARD) == [f"Aufgabe {i}" for i in range(TASKS)]
    stacks = {r.marker: r.fields["stack"] for r in board().records(BOARD).values()}
    assert stacks == {"task-0": "Erledigt", "task-1": "Offen", "task-2": "Offen", "task-3": "Offen"}
    assert titles(mentees(), TANDEMS) == ["Anna Beispiel ↔ Carla Probe"]

    again = ok(connector("sync", "--today", ON_THE_DAY)).stdout
    assert f"aufgaben → board / {BOARD}: nothing to do" in again
    assert f"tandems → mentees / {TANDEMS}: nothing to do" in again
    assert len(board().records(BOARD)) == TASKS and len(mentees().records(TANDEMS)) == 1

    data = json.loads(ok(connector("sync", "--json", "--today", ON_THE_DAY)).stdout)
    assert {entry["rule"]: entry["counts"] for entry in data} == {"aufgaben": {}, "tandems": {}}
    assert all(entry["error"] is None and entry["requests"] > 0 for entry in data)


def test_the_embargo_holds_through_the_cli_until_the_reveal_date(connector: Connector) -> None:
    out = ok(connector("sync", "--today", BEFORE)).stdout
    assert f"tandems → mentees / {TANDEMS}: nothing to do" in out
    assert mentees().records(TANDEMS) == {}
    assert len(board().records(BOARD)) == TASKS
    ok(connector("sync", "--today", BEFORE))
    assert mentees().records(TANDEMS) == {}

    out = ok(connector("sync", "--today", ON_THE_DAY)).stdout
    assert f"tandems → mentees / {TANDEMS}: 1 create" in out
    assert titles(mentees(), TANDEMS) == ["Anna Beispiel ↔ Carla Probe"]


def test_a_bad_today_is_an_input_error(connector: Connector) -> None:
    result = connector("sync", "--today", "31.02.2026")
    assert result.exit_code == 3
    assert "--today: '31.02.2026' is not a date like 2026-03-10 or 10.03.2026" in result.stderr
    assert board().space.collections == {}


# -- conflicts -----------------------------------------------------------------------------


def _make_conflict(work: Path, connector: Connector) -> tuple[str, int]:
    """Sync, then edit task-1's title on the board and in the store differently."""
    ok(connector("sync", "--today", ON_THE_DAY))
    [remote_id] = [i for i, r in board().records(BOARD).items() if r.marker == "task-1"]
    board().edit(BOARD, remote_id, title="Raum buchen (Beirat)")
    with open_store(work) as store:
        task = store.get("task-1")
        assert task is not None
        store.put(task.touched(title="Raum buchen (Koordination)"))
    parked = connector("sync", "--today", ON_THE_DAY)
    assert parked.exit_code == 7, parked  # a conflict waits for a person
    assert f"aufgaben → board / {BOARD}: 1 conflict" in parked.stdout
    with open_store(work) as store:
        [conflict] = store.conflicts()
    return remote_id, conflict.id


def test_conflict_list_show_resolve_remote(work: Path, connector: Connector) -> None:
    remote_id, conflict_id = _make_conflict(work, connector)
    # Parked: both sides keep their own value.
    assert board().records(BOARD)[remote_id].fields["title"] == "Raum buchen (Beirat)"

    listed = ok(connector("conflicts", "list")).stdout
    assert f"#{conflict_id} [open] mim-10:aufgaben task »Raum buchen (Koordination)« [task-1] " in (
        listed
    )
    assert ok(connector("conflicts")).stdout == listed
    assert "'Raum buchen (Koordination)'" in listed and "'Raum buchen (Beirat)'" in listed
    [entry] = json.loads(ok(connector("conflicts", "list", "--json")).stdout)
    assert entry["id"] == conflict_id and entry["field"] == "title"
    assert (entry["base"], entry["canonical"], entry["remote"]) == (
        "Aufgabe 1",
        "Raum buchen (Koordination)",
        "Raum buchen (Beirat)",
    )

    shown = ok(connector("conflicts", "show", str(conflict_id))).stdout
    assert "agreed before: 'Aufgabe 1'" in shown
    assert "canonical now: 'Raum buchen (Koordination)'" in shown
    assert "platform now:  'Raum buchen (Beirat)'" in shown

    resolved = ok(connector("conflicts", "resolve", str(conflict_id), "--take", "remote")).stdout
    assert "'Raum buchen (Beirat)'" in resolved
    ok(connector("sync", "--today", ON_THE_DAY))
    assert board().records(BOARD)[remote_id].fields["title"] == "Raum buchen (Beirat)"
    with open_store(work) as store:
        task = store.get("task-1")
        assert isinstance(task, Task) and task.title == "Raum buchen (Beirat)"
    assert ok(connector("conflicts", "list")).stdout.strip() == "No open conflicts."
    assert json.loads(ok(connector("conflicts", "list", "--json")).stdout) == []
    settled = ok(connector("conflicts", "list", "--all")).stdout
    assert f"#{conflict_id} [settled]" in settled
    # The platform's value is now the agreed one: nothing left to write anywhere.
    again = ok(connector("sync", "--today", ON_THE_DAY)).stdout
    assert f"aufgaben → board / {BOARD}: nothing to do" in again


def test_conflict_resolved_with_a_literal_value(work: Path, connector: Connector) -> None:
    remote_id, conflict_id = _make_conflict(work, connector)
    ok(connector("conflicts", "resolve", str(conflict_id), "--take", "Raum buchen (alle)"))
    ok(connector("sync", "--today", ON_THE_DAY))
    assert board().records(BOARD)[remote_id].fields["title"] == "Raum buchen (alle)"
    with open_store(work) as store:
        task = store.get("task-1")
        assert isinstance(task, Task) and task.title == "Raum buchen (alle)"
        assert store.conflicts() == []
    again = connector("conflicts", "resolve", str(conflict_id), "--take", "remote")
    assert again.exit_code == 3
    assert f"conflict {conflict_id} is already settled" in again.stderr


def test_unknown_conflict_ids_exit_3_without_a_traceback(connector: Connector) -> None:
    for args in (("resolve", "42", "--take", "remote"), ("show", "42")):
        result = connector("conflicts", *args)
        assert result.exit_code == 3, args
        assert result.stderr.startswith("error: no conflict with id 42")
        assert "conflicts list" in result.stderr
        assert "Traceback" not in result.stderr + result.stdout


# -- the mass-deletion guard ---------------------------------------------------------------


def test_mass_deletion_guard_through_the_cli(work: Path, connector: Connector) -> None:
    ok(connector("sync", "--today", ON_THE_DAY))
    for remote_id in sorted(board().records(BOARD))[: TASKS // 2]:
        board().remove(BOARD, remote_id)

    result = connector("sync", "--today", ON_THE_DAY)
    assert result.exit_code == 6, (result.stdout, result.stderr)
    assert "aufgaben: 2 of 4 linked records vanished" in result.stderr
    assert "(50%" in result.stderr
    assert "Traceback" not in result.stderr
    with open_store(work) as store:
        assert len(store.entities("task")) == TASKS
        assert len(store.links("mim-10:aufgaben")) == TASKS
    # The other rule is not held up by the guard.
    assert "tandems → mentees / Tandems: nothing to do" in result.stdout

    allowed = ok(connector("sync", "--today", ON_THE_DAY, "--allow-mass-delete", "aufgaben"))
    assert f"aufgaben → board / {BOARD}: 2 tombstone" in allowed.stdout
    with open_store(work) as store:
        assert len(store.entities("task")) == TASKS // 2
        assert len(store.entities("task", include_deleted=True)) == TASKS
    assert len(board().records(BOARD)) == TASKS // 2


# -- a target that is down -----------------------------------------------------------------


def test_a_target_that_is_down_exits_9_and_the_others_sync(
    work: Path, connector: Connector, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = MemoryTarget.__init__

    def init(self: MemoryTarget, url: str = "memory://default", *args: Any, **kw: Any) -> None:
        original(self, url, *args, **kw)
        self.outage = self.name == "board"

    monkeypatch.setattr(MemoryTarget, "__init__", init)
    result = connector("sync", "--today", ON_THE_DAY)
    assert result.exit_code == 9, (result.stdout, result.stderr)
    assert f"aufgaben → board / {BOARD}: ERROR: memory://board is down" in result.stdout
    assert result.stderr.startswith("error: 1 rule(s) did not finish")
    assert "Traceback" not in result.stderr
    assert f"tandems → mentees / {TANDEMS}: 1 create" in result.stdout
    assert titles(mentees(), TANDEMS) == ["Anna Beispiel ↔ Carla Probe"]
    assert board().space.collections == {}
    with open_store(work) as store:
        assert store.links("mim-10:aufgaben") == {}
        assert len(store.links("mim-10:tandems")) == 1

    monkeypatch.setattr(MemoryTarget, "__init__", original)
    out = ok(connector("sync", "--today", ON_THE_DAY)).stdout
    assert f"aufgaben → board / {BOARD}: {TASKS} create" in out
    assert f"tandems → mentees / {TANDEMS}: nothing to do" in out


def test_the_error_of_a_down_target_names_its_rule(
    connector: Connector, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = MemoryTarget.__init__

    def init(self: MemoryTarget, url: str = "memory://default", *args: Any, **kw: Any) -> None:
        original(self, url, *args, **kw)
        self.outage = self.name == "board"

    monkeypatch.setattr(MemoryTarget, "__init__", init)
    result = connector("sync", "--today", ON_THE_DAY)
    assert result.exit_code == 9
    # The one line on stderr is what a cron mail or a journal shows: it must say which rule.
    assert "aufgaben" in result.stderr, result.stderr


# -- show ----------------------------------------------------------------------------------


def test_show_prints_the_board_with_stacks_and_cards(connector: Connector) -> None:
    ok(connector("sync", "--today", ON_THE_DAY))
    lines = ok(connector("show", "aufgaben")).stdout.splitlines()
    assert lines == [
        "Board »Aufgaben«",
        "  Offen (3)",
        "    - Aufgabe 1",
        "    - Aufgabe 2",
        "    - Aufgabe 3",
        "  Erledigt (1)",
        "    - Aufgabe 0",
    ]
    shown = json.loads(ok(connector("show", "mim-10:aufgaben", "--json")).stdout)
    assert sorted(r["fields"]["title"] for r in shown) == [f"Aufgabe {i}" for i in range(TASKS)]


def test_show_of_an_unknown_rule_lists_the_known_ones(connector: Connector) -> None:
    result = connector("show", "beirat")
    assert result.exit_code == 3
    assert "no rule 'beirat'" in result.stderr
    assert "mim-10:aufgaben" in result.stderr and "mim-10:tandems" in result.stderr
    assert "Traceback" not in result.stderr


# -- configuration errors ------------------------------------------------------------------


def test_no_mapping_configured_is_a_clear_error(work: Path, connector: Connector) -> None:
    (work / "connector.toml").write_text('store = "cohort.db"\n', encoding="utf-8")
    for command in ("sync", "plan", "show"):
        args = [command, "aufgaben"] if command == "show" else [command]
        result = connector(*args)
        assert result.exit_code == 3, command
        assert "no mapping files configured" in result.stderr, command
        assert "Traceback" not in result.stderr
    assert board().space.collections == {}


def test_a_store_in_a_missing_folder_is_a_store_error_for_sync_too(
    tmp_path: Path, connector: Connector
) -> None:
    missing = tmp_path / "nowhere" / "cohort.db"
    for command in ("plan", "sync"):
        result = connector("--store", str(missing), command)
        assert result.exit_code == 4, (command, result.stderr)
        assert f"{missing}: no store here" in result.stderr, command
        assert "internal error" not in result.stderr


def test_a_resolution_the_platform_cannot_take_is_refused(work: Path, connector: Connector) -> None:
    ok(connector("sync", "--today", ON_THE_DAY))
    with open_store(work) as store:
        conflict_id = store.add_conflict(
            "mim-10:aufgaben", "task-1", "stack", "Offen", "Erledigt", "Offen"
        )
    refused = connector("conflicts", "resolve", str(conflict_id), "--take", "selected")
    assert refused.exit_code == 3, refused.output
    assert "choose one of: Erledigt, Offen" in refused.stderr
    assert "Traceback" not in refused.output
    # A value from the map is fine, and may be changed until a sync applied it.
    ok(connector("conflicts", "resolve", str(conflict_id), "--take", "Erledigt"))
    ok(connector("conflicts", "resolve", str(conflict_id), "--take", "Offen"))
    with open_store(work) as store:
        conflict = store.conflict(conflict_id)
        assert conflict is not None and conflict.resolution == "Offen"
