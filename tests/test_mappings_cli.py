"""``connector mappings check`` and ``show``, and the report logic behind them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mappings.load import load_mapping
from mappings.report import (
    AUDIENCE_LABELS,
    EMBARGO_NOTE,
    carries_tandems,
    check_files,
    show,
    target_warnings,
)
from mappings.schema import MappingFile

ROOT = Path(__file__).resolve().parent.parent
MENTORING = ROOT / "mappings" / "muensterland-mentoring.toml"
PILOT = ROOT / "mappings" / "nachwuchsfoerderkreis.toml"
BROKEN = ROOT / "tests" / "mappings_broken" / "duplicate_stack.toml"
CONNECTOR = Path(sys.executable).with_name("connector")
ARROWS = ("↔", "→", "←")


def connector(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed ``connector`` command, wide enough that table cells do not wrap."""
    return subprocess.run(
        [str(CONNECTOR), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "COLUMNS": "250"},
    )


def mapping_with(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the shipped mentoring mapping with one text replaced."""
    path = tmp_path / "mapping.toml"
    path.write_text(MENTORING.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    return path


def test_show_lists_every_rule_with_direction_and_audience() -> None:
    result = connector("mappings", "show", str(MENTORING))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    mapping = load_mapping(MENTORING)
    for rule in mapping.rules:
        [line] = [text for text in lines if text.startswith(f"│ {rule.name} ")]
        assert any(arrow in line for arrow in ARROWS), line
        assert AUDIENCE_LABELS[mapping.audience_of(rule)] in line, line
    for label in ("Beirat", "Mentees", "Mentor:innen", "alle Teilnehmenden"):
        assert label in result.stdout


def test_show_json_has_one_row_per_rule_and_field() -> None:
    result = connector("mappings", "show", str(MENTORING), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    mapping = load_mapping(MENTORING)
    assert len(data["rows"]) == sum(len(rule.fields) for rule in mapping.rules)
    assert {row["rule"] for row in data["rows"]} == {rule.name for rule in mapping.rules}
    first = data["rows"][0]
    assert first["direction"] in ("both", "out", "in") and first["visible_to"] == "Beirat"
    assert set(data["targets"]) == {"nextcloud", "kalender", "listen"}
    assert data["warnings"] == []


def test_check_accepts_the_shipped_mappings() -> None:
    result = connector("mappings", "check", str(MENTORING), str(PILOT))
    assert result.returncode == 0, result.stderr
    assert f"ok: {MENTORING} (12 rules, 3 targets)" in result.stdout
    assert f"ok: {PILOT} (5 rules, 3 targets)" in result.stdout


def test_check_reports_bad_files_and_still_names_good_ones() -> None:
    result = connector("mappings", "check", str(MENTORING), str(BROKEN))
    assert result.returncode == 3
    assert f"ok: {MENTORING}" in result.stdout
    assert f"{BROKEN}:23: rules[0].deck.stacks[2]: duplicate stack 'Offen'" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_show_of_a_broken_file_prints_its_problems() -> None:
    result = connector("mappings", "show", str(BROKEN))
    assert result.returncode == 3
    assert f"{BROKEN}:23:" in result.stderr and "Traceback" not in result.stderr


def test_mappings_commands_have_help() -> None:
    result = connector("mappings", "--help")
    assert result.returncode == 0
    for command in ("check", "show"):
        assert command in result.stdout
    assert "Missing" not in connector("mappings", "check", "--help").stdout


def test_show_warns_about_unverified_tls_and_plain_http(tmp_path: Path) -> None:
    path = mapping_with(
        tmp_path,
        'url = "http://127.0.0.1:8081"\nuser = "admin"',
        'url = "http://cloud.example.org"\nuser = "admin"\nverify_tls = false',
    )
    warnings = target_warnings(load_mapping(path))
    assert len(warnings) == 2
    assert "verify_tls = false" in warnings[0] and "plain http" in warnings[1]
    result = connector("mappings", "show", str(path))
    assert result.returncode == 0
    assert "warning: target 'nextcloud'" in result.stderr
    assert target_warnings(load_mapping(MENTORING)) == []


def test_embargo_note_only_for_tandems_outside_the_council(tmp_path: Path) -> None:
    noted = {row.rule for row in show(load_mapping(MENTORING)) if row.note}
    assert noted == {"fahrplan"}  # events can belong to a tandem; the council's are exempt
    council = 'entity = "tandem"\ntarget = "nextcloud"\naudience = "council"'
    shown = mapping_with(tmp_path, council, council.replace('"council"', '"mentees"'))
    notes = {row.rule: row.note for row in show(load_mapping(shown))}
    assert notes["tandems"] == EMBARGO_NOTE
    assert notes["bewerbungen"] == ""


def test_paths_through_a_tandem_count_as_carrying_tandems(tmp_path: Path) -> None:
    path = mapping_with(tmp_path, 'template = "{description}"', 'template = "{tandem.mentor.name}"')
    mapping: MappingFile = load_mapping(path)
    council = next(rule for rule in mapping.rules if rule.name == "beirat-termine")
    assert carries_tandems(council)
    assert not any(row.note for row in show(mapping) if row.rule == "beirat-termine")


def test_check_files_summarises() -> None:
    ok, problems = check_files([MENTORING, BROKEN])
    assert ok == [f"ok: {MENTORING} (12 rules, 3 targets)"]
    assert problems and all(problem.startswith(f"{BROKEN}:") for problem in problems)
