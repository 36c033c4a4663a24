"""What an operator's tools read: `status --json` figures, `status --check`, `--log-format
json`, and the passes table's migration. Driven in-process through :func:`cli.main`."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from connector.memory import MemoryTarget
from sync.model import utcnow
from sync.store import PASS_FIGURES, SCHEMA_VERSION, Store
from tests.test_cli_sync import BEFORE, BOARD, ON_THE_DAY, TASKS, board, invoke
from tests.test_exit_codes import board_down, fresh_memory, work

__all__ = ["fresh_memory", "work"]  # fixtures shared with the exit-code scenarios


def run(work: Path, *args: str) -> Any:
    return invoke("--config", str(work / "connector.toml"), *args)


def status_json(work: Path) -> dict[str, Any]:
    result = run(work, "status", "--json")
    assert result.exit_code == 0, result
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_status_json_has_the_last_pass_figures_per_target(work: Path) -> None:
    assert run(work, "sync", "--today", BEFORE).exit_code == 0
    passes = {p["target"]: p for p in status_json(work)["last_passes"]}
    assert sorted(passes) == ["board", "mentees"]
    assert set(PASS_FIGURES) <= set(passes["board"])
    assert passes["board"]["changes"] == TASKS and passes["board"]["requests"] > 0
    assert passes["board"]["failures"] == passes["board"]["conflicts"] == 0
    assert passes["board"]["duration"] >= 0 and passes["board"]["started_at"]
    # Before the reveal date the tandem is withheld from the mentees' board.
    assert passes["mentees"]["withheld"] == 1 and passes["mentees"]["changes"] == 0
    text = run(work, "status").stdout
    assert f"{TASKS} changes, 0 conflicts, 0 failed, 0 withheld" in text


def test_status_check_ok_warning_critical(work: Path) -> None:
    never = run(work, "status", "--check")
    assert never.exit_code == 2 and never.stdout.startswith("CONNECTOR CRITICAL - no sync pass")

    assert run(work, "sync", "--today", ON_THE_DAY).exit_code == 0
    fine = run(work, "status", "--check")
    assert fine.exit_code == 0 and fine.stdout.startswith("CONNECTOR OK"), fine

    # A conflict: fine while it is fresh, a warning once it waits longer than allowed.
    [remote_id] = [i for i, r in board().records(BOARD).items() if r.marker == "task-1"]
    board().edit(BOARD, remote_id, title="Raum (Beirat)")
    with Store.open(work / "cohort.db", create=False) as store:
        task = store.get("task-1")
        assert task is not None
        store.put(task.touched(title="Raum (Koordination)"))
    assert run(work, "sync", "--today", ON_THE_DAY).exit_code == 7
    assert run(work, "status", "--check").exit_code == 0
    with Store.open(work / "cohort.db", create=False) as store:
        old = (utcnow() - timedelta(hours=100)).isoformat()
        store.db.execute("UPDATE conflicts SET created_at = ?", (old,))
    warned = run(work, "status", "--check")
    assert warned.exit_code == 1, warned
    assert "1 conflict(s) wait longer than 72 h" in warned.stdout
    assert run(work, "status", "--check", "--conflict-hours", "200").exit_code == 0
    data = json.loads(run(work, "status", "--check", "--json").stdout)
    assert data["state"] == "WARNING" and data["exit_code"] == 1

    # No pass for more than 3 intervals (1 s each here): critical.
    with Store.open(work / "cohort.db", create=False) as store:
        store.db.execute(
            "UPDATE passes SET finished_at = ?", ((utcnow() - timedelta(seconds=10)).isoformat(),)
        )
    stale = run(work, "status", "--check", "--conflict-hours", "200")
    assert stale.exit_code == 2 and "board: no pass for" in stale.stdout, stale
    assert (
        run(work, "status", "--check", "--conflict-hours", "200", "--intervals", "60").exit_code
        == 0
    )


def test_status_check_is_critical_when_the_last_pass_failed(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    board_down(monkeypatch)
    assert run(work, "sync", "--today", ON_THE_DAY).exit_code == 9
    failed = run(work, "status", "--check")
    assert failed.exit_code == 2, failed
    assert "board: last pass failed: memory://board is down" in failed.stdout
    assert "mentees" not in failed.stdout  # the other target is fine
    monkeypatch.undo()
    assert run(work, "sync", "--today", ON_THE_DAY).exit_code == 0
    assert run(work, "status", "--check").exit_code == 0


def test_log_format_json_has_one_line_per_pass_and_per_item_and_no_names(work: Path) -> None:
    result = run(work, "--log-format", "json", "sync", "--today", ON_THE_DAY)
    assert result.exit_code == 0, result
    records = [json.loads(line) for line in result.stderr.splitlines()]
    items = [r for r in records if r.get("event") == "item"]
    assert sorted(r["uid"] for r in items if r["rule"] == "mim-10:aufgaben") == [
        f"task-{i}" for i in range(TASKS)
    ]
    assert [r["uid"] for r in items if r["rule"] == "mim-10:tandems"] == ["tandem-1"]
    [done] = [r for r in records if r.get("event") == "pass"]
    assert done["changes"] == TASKS + 1 and done["failures"] == 0 and done["exit_code"] == 0
    assert all({"time", "level", "logger"} <= set(r) for r in records)
    for name in ("Anna", "Beispiel", "Carla", "Probe", "@example.org", "Aufgabe"):
        assert name not in result.stderr
    # A quiet pass: only the pass (and rule) lines; text format logs no events at all.
    again = run(work, "--log-format", "json", "sync", "--today", ON_THE_DAY)
    assert [json.loads(line)["event"] for line in again.stderr.splitlines()] == [
        "rule",
        "rule",
        "pass",
    ]
    assert run(work, "sync", "--today", ON_THE_DAY).stderr == ""
    bad = run(work, "--log-format", "xml", "status")
    assert bad.exit_code == 3 and "--log-format: 'xml'" in bad.stderr


#: Migration 6 (the change sequence) undone, for tests that rebuild an older schema.
UNDO_CHANGE_SEQ = """
DROP TRIGGER entities_seq_insert; DROP TRIGGER entities_seq_update;
DROP TRIGGER entities_seq_delete; DROP TRIGGER links_seq_insert; DROP TRIGGER links_seq_update;
DROP TRIGGER links_seq_delete;
DROP INDEX entities_seq; DROP INDEX links_seq; DROP TABLE change_seq;
ALTER TABLE entities DROP COLUMN seq; ALTER TABLE links DROP COLUMN seq;
ALTER TABLE cursors DROP COLUMN planned;
"""

#: Migration 7 (erased addresses) undone.
UNDO_ERASED_ADDRESSES = "DROP TABLE erasure_key; DROP TABLE erased_addresses;"


def test_the_passes_figures_migration_keeps_old_passes(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with Store.open(path) as store:
        store.record_pass("board", utcnow(), "ok", {"rules": []})
        store.db.execute("DROP INDEX passes_target")
        store.db.execute("ALTER TABLE passes DROP COLUMN figures")
        store.db.execute("DROP TABLE remote_bodies")  # migration 5, after the figures
        store.db.executescript(UNDO_CHANGE_SEQ)  # migration 6
        store.db.executescript(UNDO_ERASED_ADDRESSES)  # migration 7
        # The schema just before the figures were added (migration 4).
        store.db.execute("PRAGMA user_version = 3")
    with Store.open(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        [old] = store.last_passes()
        assert old["outcome"] == "ok" and old["changes"] is None
    db = sqlite3.connect(path)
    assert "figures" in [row[1] for row in db.execute("PRAGMA table_info(passes)")]
    db.close()


def test_a_rule_error_quoting_an_address_is_logged_without_it(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from connector.errors import RetryLater

    def down(self: MemoryTarget) -> None:
        raise RetryLater("GET /3.1/addresses/anna@example.org/memberships: 503")

    monkeypatch.setattr(MemoryTarget, "_call", down)
    result = run(work, "--log-format", "json", "sync", "--today", ON_THE_DAY)
    assert result.exit_code == 9
    rules = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert [r["error"] for r in rules if r.get("event") == "rule"] == [
        "GET /3.1/addresses/<address>/memberships: 503"
    ] * 2
    logged = "\n".join(line for line in result.stderr.splitlines() if line.startswith("{"))
    assert "anna@example.org" not in logged
