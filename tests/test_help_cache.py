"""The console script's help cache (connector/entry.py): a repeated ``--help`` prints what the
full CLI printed, in the same language and with the same exit code, without importing it; any
change to the code, language or terminal is a miss."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from connector import entry

from .conftest import run_connector

#: Runs the entry point in-process and reports on stderr's last line whether ``cli`` was imported.
PROBE = (
    "import sys\n"
    "from connector import entry\n"
    "sys.argv = ['connector', *sys.argv[1:]]\n"
    "try:\n"
    "    entry.main()\n"
    "finally:\n"
    "    print('cli imported' if 'cli' in sys.modules else 'cli not imported', file=sys.stderr)\n"
)


def probe(cache: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=os.environ | {"XDG_CACHE_HOME": str(cache), "COLUMNS": "100"} | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_second_help_comes_from_the_cache_and_matches_the_first(tmp_path: Path) -> None:
    first = probe(tmp_path, "--help")
    second = probe(tmp_path, "--help")
    uncached = probe(tmp_path, "--help", CONNECTOR_HELP_CACHE="off")
    assert first.returncode == second.returncode == uncached.returncode == 0
    assert first.stderr.splitlines()[-1] == "cli imported"
    assert second.stderr.splitlines()[-1] == "cli not imported"
    assert uncached.stderr.splitlines()[-1] == "cli imported"
    assert "Usage: connector" in first.stdout
    assert second.stdout == first.stdout == uncached.stdout


def test_german_help_stays_german_and_english_is_a_separate_entry(tmp_path: Path) -> None:
    german = {"LANG": "de_DE.UTF-8", "LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": ""}
    english = german | {"LANG": "C.UTF-8"}
    probe(tmp_path, "sync", "--help", **german)
    cached = probe(tmp_path, "sync", "--help", **german)
    assert cached.stderr.splitlines()[-1] == "cli not imported"
    assert "Aufruf: connector sync" in cached.stdout
    other = probe(tmp_path, "sync", "--help", **english)
    assert other.stderr.splitlines()[-1] == "cli imported"
    assert "Usage: connector sync" in other.stdout


def test_a_bare_call_replays_its_usage_error_and_exit_code(tmp_path: Path) -> None:
    first = probe(tmp_path)
    second = probe(tmp_path)
    assert first.returncode == second.returncode == 2
    assert second.stderr.splitlines()[-1] == "cli not imported"
    assert second.stderr.splitlines()[:-1] == first.stderr.splitlines()[:-1]
    assert second.stdout == first.stdout
    assert "Usage: connector" in first.stdout


def test_only_help_calls_are_cached() -> None:
    assert entry.cacheable([])
    assert entry.cacheable(["--help"])
    assert entry.cacheable(["people", "import", "--help"])
    assert not entry.cacheable(["sync"])
    assert not entry.cacheable(["--store", "x.db", "--help"])
    assert not entry.cacheable(["status", "--json"])


def test_a_changed_source_file_catalog_language_or_width_is_a_miss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("cli.py", "sync/x.py", "sync/locale/de/LC_MESSAGES/connector.mo"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("a", encoding="utf-8")
    monkeypatch.setattr(entry, "_ROOT", tmp_path)
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("COLUMNS", "100")
    seen = {entry.key(["--help"])}
    (tmp_path / "sync/x.py").write_text("ab", encoding="utf-8")
    seen.add(entry.key(["--help"]))
    (tmp_path / "sync/locale/de/LC_MESSAGES/connector.mo").write_text("b!", encoding="utf-8")
    seen.add(entry.key(["--help"]))
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    seen.add(entry.key(["--help"]))
    monkeypatch.setenv("COLUMNS", "120")
    seen.add(entry.key(["--help"]))
    seen.add(entry.key(["sync", "--help"]))
    assert len(seen) == 6
    assert entry.key(["sync", "--help"]) in seen  # and the same inputs give the same key


def test_an_unwritable_cache_still_prints_the_help(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder", encoding="utf-8")
    done = run_connector("--help", env={"XDG_CACHE_HOME": str(blocked)})
    assert done.returncode == 0
    assert "Usage: connector" in done.stdout
