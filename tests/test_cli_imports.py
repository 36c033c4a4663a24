"""Starting the CLI loads what every command needs, not what one command needs: the adapters'
HTTP stack, iCalendar, the mapping checks and the Fahrplan load when a command uses them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


#: What a pass in which no event changed never needs (issue 14: a no-op ``connector sync``
#: is mostly the interpreter loading modules): iCalendar parses and renders events, the doctor
#: diagnoses calendars, Mailman is another platform.
QUIET_PASS_DEFERS = ("icalendar", "connector.calendar_doctor", "connector.mailman", "dateutil")

NO_PASS_LOADS = ("requests", "urllib3", "charset_normalizer", "idna", "urllib.request")

_LOADED_AT_EXIT = """\
import atexit, runpy, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write(" ".join(sorted(sys.modules))))
sys.argv = ["connector", *sys.argv[2:]]
runpy.run_module("cli", run_name="__main__")
"""


def test_a_quiet_calendar_pass_loads_no_icalendar(tmp_path: Path) -> None:
    """A ``connector sync`` of an unchanged calendar does not load what only changed events
    need."""
    from connector.testing.calendar_servers import radicale_server
    from tests.calendar_folder import write_folder

    with radicale_server(tmp_path / "radicale") as server:
        write_folder(tmp_path, server, secret='{ env = "QUIET_CALDAV_PASSWORD" }', calendar="ruhig")
        env = {**os.environ, "QUIET_CALDAV_PASSWORD": server.password}
        args = ["--config", str(tmp_path / "connector.toml"), "sync"]
        passes = []
        for n in range(3):
            loaded = tmp_path / f"loaded-{n}.txt"
            done = subprocess.run(
                [sys.executable, "-c", _LOADED_AT_EXIT, str(loaded), *args],
                capture_output=True,
                text=True,
                timeout=120,
                env=env,
                cwd=tmp_path,
            )
            assert done.returncode == 0, done.stdout + done.stderr
            passes.append((done.stdout, set(loaded.read_text().split())))
    # The first pass writes three events; the second reads the platform's answer to those
    # writes (their new ETags) once; the third has nothing to read.
    (_, first_loaded), _, (third, third_loaded) = passes
    assert "icalendar" in first_loaded
    assert "nothing to do" in third, third
    assert [name for name in QUIET_PASS_DEFERS if name in third_loaded] == []
    # No pass, writing ones included, loads a third-party HTTP stack (~90 ms of start-up):
    # the connector speaks HTTP through the standard library (connector/http_wire.py).
    for _, loaded_modules in passes:
        assert [name for name in NO_PASS_LOADS if name in loaded_modules] == []


def test_the_objects_the_cli_imports_are_kept_out_of_the_collector() -> None:
    """Issue 14: a quiet pass spent a fifth of its time in the cyclic collector, traversing
    the modules' objects while they were imported and again at exit. The console script
    imports the CLI with the collector paused and freezes what the import made."""
    code = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count(), gc.isenabled()))\n"
        "sys.argv = ['connector', '--help']\n"
        "from connector.entry import main\n"
        "main()\n"
    )
    env = {**os.environ, "CONNECTOR_HELP_CACHE": "off"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    words = done.stdout.split()
    assert words[-3] == "frozen", done.stdout + done.stderr
    assert int(words[-2]) > 10_000  # typer, pydantic and the models: tens of thousands
    assert words[-1] == "True"  # what the command allocates is collected as usual


def test_the_commands_parameters_need_no_evaluation() -> None:
    """typer reads every command's parameters on every call; annotations kept as strings
    (``from __future__ import annotations``) were compiled and evaluated twice each, 40 ms of
    every command (issue 14). cli.py's annotations are objects."""
    import inspect

    import cli

    callbacks = [info.callback for info in cli.app.registered_commands]
    callbacks += [
        info.callback for group in cli.app.registered_groups if group.typer_instance
        for info in group.typer_instance.registered_commands
    ]  # fmt: skip
    assert len(callbacks) > 20
    as_text = {
        f"{fn.__name__}.{name}"
        for fn in callbacks
        if fn is not None
        for name, value in inspect.get_annotations(fn).items()
        if isinstance(value, str)
    }
    assert as_text == set()
