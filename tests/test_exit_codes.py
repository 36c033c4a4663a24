"""The README's exit-code table, read from the README, each code produced by a real scenario.

The table and the order in which codes win ("3 > 4 > …") are parsed from the markdown, so a
code added to the table without a scenario here, or a scenario exiting otherwise, fails.
Scenarios run the real entry point (:func:`cli.main`) in this process, against memory targets
and the Deck double (real HTTP: a refused password, a card the server fails to create).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.memory import MemoryTarget
from connector.testing.deck_server import DeckServer
from sync.engine import Engine
from sync.outcome import SEVERITY
from sync.store import Store
from tests.test_cli_sync import (
    BEFORE,
    BOARD,
    CONFIG,
    MAPPING,
    ON_THE_DAY,
    TASKS,
    Result,
    board,
    invoke,
    populate,
)

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_exit_codes() -> dict[int, str]:
    """``code: meaning`` of every row of the README's exit-code table."""
    text = README.read_text(encoding="utf-8")
    head = re.search(r"^\| exit code \| meaning \|.*\n\|[- |]+\|\n((?:\|.*\n)+)", text, re.M)
    assert head is not None, "README has no exit-code table"
    codes: dict[int, str] = {}
    for row in head.group(1).splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        for code in re.findall(r"\d+", cells[0]):
            codes[int(code)] = cells[1]
    return codes


def readme_severity() -> tuple[int, ...]:
    """The order stated under the table: ``3 > 4 > … > 7``."""
    text = README.read_text(encoding="utf-8")
    found = re.search(r"most severe code wins:\s*`?((?:\d+\s*>\s*)+\d+)`?", text)
    assert found is not None, "README does not state which exit code wins"
    return tuple(int(c) for c in re.findall(r"\d+", found.group(1)))


@pytest.fixture(autouse=True)
def fresh_memory() -> Iterator[None]:
    MemoryTarget.reset()
    yield
    MemoryTarget.reset()


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "connector.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "mapping.toml").write_text(MAPPING, encoding="utf-8")
    populate(tmp_path / "cohort.db")
    return tmp_path


DECK_MAPPING = """\
name = "Exit-Deck"
programme = "mim"
cohort = "mim-10"

[targets.nextcloud]
kind = "deck"
url = "{url}"
user = "admin"
secret = {{ env = "EXIT_TEST_DECK_PASSWORD" }}
audience = "council"

[[rules]]
name = "aufgaben"
entity = "task"
target = "nextcloud"

[rules.deck]
board = "Aufgaben"
stacks = ["Offen", "Erledigt"]

[[rules.fields]]
remote = "title"
canonical = "title"
"""


@pytest.fixture
def deck(tmp_path: Path) -> Iterator[tuple[DeckServer, Path]]:
    """The Deck double and a working folder whose one rule puts the tasks on a board."""
    folder = tmp_path / "deck"
    folder.mkdir()
    with DeckServer(users={"admin": "richtig"}) as srv:
        (folder / "connector.toml").write_text(CONFIG, encoding="utf-8")
        (folder / "mapping.toml").write_text(DECK_MAPPING.format(url=srv.url), encoding="utf-8")
        populate(folder / "cohort.db")
        yield srv, folder


def run(folder: Path, *args: str) -> Result:
    return invoke("--config", str(folder / "connector.toml"), *args)


Scenario = Callable[..., Result]


def done(work: Path, **_: Any) -> Result:
    """A clean pass before the reveal date: the tandem is withheld, and that is fine."""
    result = run(work, "sync", "--today", BEFORE)
    assert "tandems → mentees / Tandems: nothing to do, 1 withheld until the reveal date" in (
        result.stdout
    ), result.stdout
    assert "1 withheld (embargo)" in result.stdout
    return result


def usage(work: Path, **_: Any) -> Result:
    return run(work, "sync", "--no-such-option")


def bad_input(work: Path, **_: Any) -> Result:
    (work / "connector.toml").write_text(CONFIG + "\nunknown_key = 1\n", encoding="utf-8")
    return run(work, "sync")


def store_unusable(work: Path, **_: Any) -> Result:
    return invoke("--store", str(work / "missing" / "cohort.db"), "status")


def credentials(deck: tuple[DeckServer, Path], monkeypatch: pytest.MonkeyPatch, **_: Any) -> Result:
    monkeypatch.setenv("EXIT_TEST_DECK_PASSWORD", "falsch")
    return run(deck[1], "sync", "--today", ON_THE_DAY)


def guard(work: Path, **_: Any) -> Result:
    assert run(work, "sync", "--today", ON_THE_DAY).exit_code == 0
    for remote_id in sorted(board().records(BOARD))[: TASKS // 2]:
        board().remove(BOARD, remote_id)
    return run(work, "sync", "--today", ON_THE_DAY)


def conflicts(work: Path, **_: Any) -> Result:
    assert run(work, "sync", "--today", ON_THE_DAY).exit_code == 0
    [remote_id] = [i for i, r in board().records(BOARD).items() if r.marker == "task-1"]
    board().edit(BOARD, remote_id, title="Raum buchen (Beirat)")
    with Store.open(work / "cohort.db", create=False) as store:
        task = store.get("task-1")
        assert task is not None
        store.put(task.touched(title="Raum buchen (Koordination)"))
    first = run(work, "sync", "--today", ON_THE_DAY)
    assert first.exit_code == 7
    # Still waiting at the next pass, which has nothing new to do: still 7.
    return run(work, "sync", "--today", ON_THE_DAY)


def item_failed(deck: tuple[DeckServer, Path], monkeypatch: pytest.MonkeyPatch, **_: Any) -> Result:
    srv, folder = deck
    monkeypatch.setenv("EXIT_TEST_DECK_PASSWORD", "richtig")
    srv.fail_next("POST", r"/cards$", 500, times=TASKS)  # Deck fails every card of the pass
    result = run(folder, "sync", "--today", ON_THE_DAY)
    # Every card was tried (one failure does not stop the others) and each is reported.
    assert f"nothing to do, {TASKS} failed" in result.stdout, result.stdout
    assert result.stdout.count("problem: mim-10:aufgaben: task-") == TASKS, result.stdout
    assert f"{TASKS} item(s) failed" in result.stderr
    again = run(folder, "sync", "--today", ON_THE_DAY)  # the next pass creates them
    assert again.exit_code == 0 and f"{TASKS} create" in again.stdout, again
    return result


def board_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on memory://board answers every call with RetryLater."""
    original = MemoryTarget.__init__

    def init(self: MemoryTarget, url: str = "memory://default", *args: Any, **kw: Any) -> None:
        original(self, url, *args, **kw)
        self.outage = self.name == "board"

    monkeypatch.setattr(MemoryTarget, "__init__", init)


def unavailable(work: Path, monkeypatch: pytest.MonkeyPatch, **_: Any) -> Result:
    board_down(monkeypatch)
    return run(work, "sync", "--today", ON_THE_DAY)


def bug(work: Path, monkeypatch: pytest.MonkeyPatch, **_: Any) -> Result:
    def broken(*_args: Any, **_kw: Any) -> Any:
        return {}["a bug"]

    monkeypatch.setattr(Engine, "sync", broken)
    return run(work, "sync", "--today", ON_THE_DAY)


SCENARIOS: dict[int, Scenario] = {
    0: done,
    2: usage,
    3: bad_input,
    4: store_unusable,
    5: credentials,
    6: guard,
    7: conflicts,
    8: item_failed,
    9: unavailable,
    70: bug,
}


def test_every_code_in_the_readme_has_a_scenario_and_no_other() -> None:
    assert sorted(readme_exit_codes()) == sorted(SCENARIOS)


def test_the_readme_states_the_order_the_code_uses() -> None:
    assert readme_severity() == SEVERITY


@pytest.mark.parametrize("code", sorted(readme_exit_codes()))
def test_each_exit_code_of_the_readme_is_produced(
    code: int, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = SCENARIOS[code]
    needs = scenario.__code__.co_varnames[: scenario.__code__.co_argcount]
    fixtures = {name: request.getfixturevalue(name) for name in needs if name != "monkeypatch"}
    result = scenario(monkeypatch=monkeypatch, **fixtures)
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.output


def test_the_most_severe_code_wins(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A conflict waits (7) and the board is then down (9): 9 wins; a guard (6) beats both."""
    assert conflicts(work).exit_code == 7
    down = unavailable(work, monkeypatch)
    assert down.exit_code == 9, down
    assert "1 conflict(s) wait for a person" in down.stderr
    monkeypatch.undo()
    for remote_id in sorted(board().records(BOARD))[: TASKS // 2]:
        board().remove(BOARD, remote_id)
    guarded = run(work, "sync", "--today", ON_THE_DAY)
    assert guarded.exit_code == 6, guarded
