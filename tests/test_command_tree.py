"""The CLI builds the click commands of the command a line names, not of all of them."""

from __future__ import annotations

from typing import Any

import pytest
import typer.main

import cli
from sync.command_tree import named_only


def _built(monkeypatch: pytest.MonkeyPatch, words: list[str]) -> list[str]:
    """The names of the commands typer builds while running ``connector WORDS``."""
    built: list[str] = []
    original = typer.main.get_command_from_info

    def spy(command_info: Any, **kwargs: Any) -> Any:
        command = original(command_info, **kwargs)
        built.append(str(command.name))
        return command

    monkeypatch.setattr(typer.main, "get_command_from_info", spy)
    monkeypatch.setattr("sys.argv", ["connector", *words])
    with pytest.raises(SystemExit):
        cli.main()
    return built


def test_a_command_line_builds_only_the_command_it_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _built(monkeypatch, ["--store", str(tmp_path / "s.db"), "status"]) == ["status"]
    assert set(_built(monkeypatch, ["mappings", "check"])) == {"check", "show"}  # the group's


def test_help_and_unknown_commands_build_the_whole_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    every = len(cli.app.registered_commands)
    assert len(_built(monkeypatch, ["status", "--help"])) > every
    assert len(_built(monkeypatch, ["snyc"])) > every


def test_the_app_keeps_every_command_afterwards() -> None:
    before = list(cli.app.registered_commands), list(cli.app.registered_groups)
    with named_only(cli.app, ["sync"]):
        assert [c.callback.__name__ for c in cli.app.registered_commands if c.callback] == ["sync"]
        assert cli.app.registered_groups == []
    assert (cli.app.registered_commands, cli.app.registered_groups) == before
