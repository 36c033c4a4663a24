"""Starting the CLI loads what every command needs, not what one command needs: the adapters'
HTTP stack, iCalendar, the mapping checks and the Fahrplan load when a command uses them."""

from __future__ import annotations

import subprocess
import sys

#: Modules only some commands need (``connector/lazy.py`` defers them in ``cli.py``).
DEFERRED = ("requests", "icalendar", "mappings.fahrplan", "mappings.report", "sync.doctor")


def test_importing_the_cli_defers_the_command_modules() -> None:
    code = "import sys, cli; print(' '.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(done.stdout.split())
    assert "typer" in loaded
    assert [name for name in DEFERRED if name in loaded] == []


def test_a_deferred_name_behaves_as_the_real_one() -> None:
    from connector import lazy

    (dumps,) = lazy.names("json", "dumps")
    assert dumps({"a": 1}) == '{"a": 1}'
    (path,) = lazy.names("pathlib", "PurePosixPath")
    assert path("a", "b").name == "b"
    assert path.__name__ == "PurePosixPath"  # attributes of a deferred class
