"""A rule that does not finish: its error reaches the operator whole, through `plan` and `sync`.

The CLI's one error says how many rules did not finish and names them, but it is still the
first rule's error: same class and exit code, its hint, its list of problems (one per line on
stderr) and a platform's ``Retry-After``. Memory targets in this process; the board's every
call fails with the error the test chooses.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import cli
from connector.errors import ConfigError, ConnectorError, RetryLater
from connector.memory import MemoryTarget
from sync.rule_errors import annotated
from tests.test_cli_sync import CONFIG, MAPPING, ON_THE_DAY, invoke, populate

PROBLEMS = ["mapping.toml:14: deck.board: no board 'Aufgaben' on memory://board", "second line"]


@pytest.fixture(autouse=True)
def fresh_memory() -> Iterator[None]:
    MemoryTarget.reset()
    yield
    MemoryTarget.reset()


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "connector.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "mapping.toml").write_text(MAPPING, encoding="utf-8")
    populate(tmp_path / "cohort.db")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def board_fails_with(monkeypatch: pytest.MonkeyPatch, error: ConnectorError) -> None:
    """From now on every call to memory://board raises ``error``."""
    original = MemoryTarget._call

    def call(self: MemoryTarget) -> None:
        original(self)
        if self.name == "board":
            raise error

    monkeypatch.setattr(MemoryTarget, "_call", call)


def config_error() -> ConfigError:
    error = ConfigError("the board's mapping does not fit", PROBLEMS)
    error.hint = "fix the mapping file, then run `connector mappings check`"
    return error


@pytest.mark.parametrize("command", ["plan", "sync"])
def test_the_problems_and_hint_of_a_failed_rule_are_printed(
    work: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    board_fails_with(monkeypatch, config_error())
    result = invoke(command, "--today", ON_THE_DAY)
    assert result.exit_code == 3, result
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: 1 rule(s) did not finish (aufgaben)"), result.stderr
    assert "the board's mapping does not fit" in lines[0]
    assert lines[1:3] == PROBLEMS, result.stderr
    assert lines[3] == "hint: fix the mapping file, then run `connector mappings check`"


@pytest.mark.parametrize("command", ["plan", "sync"])
def test_the_retry_after_of_a_throttled_rule_survives(
    work: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    throttled = RetryLater("memory://board answered 429", retry_after=120.0)
    throttled.hint = "the platform asked to wait"
    board_fails_with(monkeypatch, throttled)
    with pytest.raises(RetryLater) as raised:
        cli.app([command, "--today", ON_THE_DAY], standalone_mode=False)
    assert raised.value.retry_after == 120.0
    assert raised.value.exit_code == 9 and raised.value.hint == "the platform asked to wait"
    assert "1 rule(s) did not finish (aufgaben)" in str(raised.value)
    result = invoke(command, "--today", ON_THE_DAY)
    assert result.exit_code == 9, result
    assert "hint: the platform asked to wait" in result.stderr


def test_an_annotated_error_keeps_every_attribute_and_leaves_the_original_alone() -> None:
    original = config_error()
    copy = annotated(original, "2 rule(s) did not finish: the board's mapping does not fit")
    assert type(copy) is ConfigError and str(copy).startswith("2 rule(s) did not finish")
    assert copy.problems == PROBLEMS and copy.hint == original.hint and copy.exit_code == 3
    assert str(original) == "the board's mapping does not fit"
    throttled = annotated(RetryLater("down", retry_after=7.5), "1 rule(s): down")
    assert isinstance(throttled, RetryLater) and throttled.retry_after == 7.5
