"""The real `connector` command: init, import, status --json, the one error handler, and help
text for every command and option."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

import cli
from sync.importer import KINDS
from tests.conftest import example_files, run_connector


def test_init_import_status_json(tmp_path: Path, examples: Path) -> None:
    work = tmp_path / "work"
    created = run_connector("init", str(work))
    assert created.returncode == 0, created.stderr
    assert (work / "connector.toml").is_file() and (work / "cohort.db").is_file()
    config = str(work / "connector.toml")
    for kind, path in example_files(examples / "nachwuchsfoerderkreis"):
        done = run_connector("--config", config, "import", kind, str(path))
        assert done.returncode == 0, done.stderr
    assert "event: 10 created, 0 updated, 0 unchanged" in done.stdout or kind != "events"
    status = run_connector("--config", config, "status", "--json")
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    [pilot] = [c for c in data["cohorts"] if c["cohort"] == "nfk-1"]
    assert pilot["counts"] == {"cohort": 1, "person": 22, "event": 10, "task": 4}
    assert data["open_conflicts"] == 0 and data["last_passes"] == []


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    (tmp_path / "connector.toml").write_text("# mine\n")
    result = run_connector("init", str(tmp_path))
    assert result.returncode == 3
    assert result.stderr.startswith(f"error: {tmp_path / 'connector.toml'} already exists")
    assert (tmp_path / "connector.toml").read_text() == "# mine\n"


def test_bad_rows_are_listed_as_file_line_column_message(tmp_path: Path) -> None:
    bad = tmp_path / "orgs.csv"
    bad.write_text("Kurzname;Name;Art\nGreven;Stadt Greven;Stadt\n;Gemeinde Laer;Dorf\n")
    result = run_connector("--store", str(tmp_path / "s.db"), "import", "organisations", str(bad))
    assert result.returncode == 3
    assert result.stdout == ""
    assert result.stderr.splitlines()[:3] == [
        f"error: {bad}: 2 problems; nothing was imported",
        f"{bad}:3: Kurzname: a value is required",
        f"{bad}:3: Art: 'Dorf' is not one of: Landkreis, Jobcenter AöR, Stadt, Gemeinde, Kreis, "
        "Landschaftsverband, Jobcenter, Sonstige",
    ]
    assert "Traceback" not in result.stderr


def test_store_and_config_errors_have_their_exit_codes(tmp_path: Path) -> None:
    missing = run_connector("--store", str(tmp_path / "none.db"), "status")
    assert missing.returncode == 4
    assert "no store here" in missing.stderr and "Traceback" not in missing.stderr
    (tmp_path / "connector.toml").write_text("[sync]\nintervall = 5\n")
    broken = run_connector("status", cwd=tmp_path)
    assert broken.returncode == 3
    assert "connector.toml: sync.intervall: Extra inputs are not permitted" in broken.stderr


def test_the_store_can_come_from_the_environment(tmp_path: Path, examples: Path) -> None:
    orgs = examples / "nachwuchsfoerderkreis" / "organisations.csv"
    env = {"CONNECTOR_STORE": str(tmp_path / "env.db")}
    result = run_connector("import", "organisations", str(orgs), cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "env.db").exists() and not (tmp_path / "cohort.db").exists()
    status = run_connector("status", "--json", cwd=tmp_path, env=env)
    assert json.loads(status.stdout)["store"] == str(tmp_path / "env.db")


def test_import_kinds_are_the_importers_kinds() -> None:
    assert {k.value for k in cli.ImportKind} == set(KINDS)


def _commands(group: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(name, command) of every command below ``group``, sub-apps included."""
    found: list[tuple[str, Any]] = []
    for name, command in getattr(group, "commands", {}).items():
        found.append((f"{prefix}{name}", command))
        found += _commands(command, f"{prefix}{name} ")
    return found


def test_every_command_and_option_has_help_text() -> None:
    root = typer.main.get_command(cli.app)
    commands = _commands(root)
    assert {"init", "import", "status"} <= {name for name, _ in commands}
    for name, command in [("connector", root), *commands]:
        assert (command.help or "").strip(), f"{name} has no help text"
        for param in command.params:
            assert getattr(param, "help", None), f"{name} {param.name} has no help text"


def test_help_runs_for_every_command() -> None:
    runner = CliRunner()
    root = typer.main.get_command(cli.app)
    for name, _ in _commands(root):
        result = runner.invoke(cli.app, [*name.split(), "--help"])
        assert result.exit_code == 0, name
        assert "Usage" in result.output
