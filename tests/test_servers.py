"""`connector servers start|stop|status` and what the first `plan` says without secrets.

Process handling is checked with stand-in servers (Python's own HTTP server) so that it runs in
seconds; the real Deck double, Radicale and Mailman start in ``tests/test_tour.py``.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.errors import TargetError
from connector.testing import demo_servers
from connector.testing.demo_servers import Servers, export_lines, port_holder, start, stop
from tests.conftest import run_connector


def _stand_ins(fail: str | None = None):  # type: ignore[no-untyped-def]
    def commands(directory, ports, passwords, council):  # type: ignore[no-untyped-def]
        serve = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1"]
        exits = [sys.executable, "-c", "import sys; print('cannot start'); sys.exit(1)"]
        return {
            name: exits if name == fail else [*serve, str(ports[name])]
            for name, _kind, _env in demo_servers.SERVERS
        }

    return commands


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "servers"
    stop(tmp_path / "servers")


def _pids(state: Servers) -> list[int]:
    return [int(info["pid"]) for info in state.servers.values()]


def test_start_status_rerun_stop(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo_servers, "_commands", _stand_ins())
    state, new = start(folder, ["beirat-ahlen"])
    assert new and all(state.running().values()) and len(state.servers) == 3
    assert len({info["port"] for info in state.servers.values()}) == 3
    lines = export_lines(state)
    assert f"export CONNECTOR_URL_NEXTCLOUD={state.servers['deck']['url']}" in lines
    assert f"export CALDAV_PASSWORD={state.servers['radicale']['password']}" in lines
    assert (folder / "state.json").stat().st_mode & 0o077 == 0
    again, new = start(folder)
    assert not new and _pids(again) == _pids(state)
    # One server died: a rerun stops the others of that run instead of orphaning them.
    stop_one = Servers(folder, {"deck": state.servers["deck"]})
    stop_one.save()
    stop(folder)
    Servers(folder, state.servers, state.council).save()
    third, new = start(folder)
    assert new and set(_pids(third)).isdisjoint(_pids(state))
    assert not any(demo_servers._alive(pid) for pid in _pids(state))
    assert stop(folder) == ["deck", "radicale", "mailman"]
    assert not any(demo_servers._alive(pid) for pid in _pids(third))
    assert Servers.load(folder) is None


def test_a_failed_start_stops_the_servers_already_started(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_servers, "_commands", _stand_ins(fail="mailman"))
    spawned: list[int] = []
    spawn = demo_servers._spawn
    monkeypatch.setattr(
        demo_servers, "_spawn", lambda *args: spawned.append(spawn(*args)) or spawned[-1]
    )
    with pytest.raises(TargetError) as caught:
        start(folder)
    assert len(spawned) == 3
    assert not any(demo_servers._alive(pid) for pid in spawned)
    assert "Mailman 3 core" in str(caught.value) and "exited" in str(caught.value)
    assert "cannot start" in str(caught.value)
    assert "stopped again" in caught.value.hint
    assert Servers.load(folder) is None


def test_a_busy_port_names_its_holder(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert "pid " in port_holder(port) and "pytest" in port_holder(port)
        done = run_connector(
            "servers", "start", "--dir", str(tmp_path / "s"), env={"CONNECTOR_DECK_PORT": str(port)}
        )
    assert done.returncode == 8, done.stderr
    assert f"error: port {port} (CONNECTOR_DECK_PORT, for the Deck double) is in use by pid" in (
        done.stderr
    )
    assert "hint: Stop that process, or choose another port: export CONNECTOR_DECK_PORT=PORT" in (
        done.stderr
    )
    assert done.stdout == "" and not (tmp_path / "s" / "state.json").exists()


def test_servers_stop_and_status_without_servers(tmp_path: Path) -> None:
    status = run_connector("servers", "status", "--dir", str(tmp_path))
    assert status.returncode == 0 and "No local servers started here" in status.stdout
    stopped = run_connector("servers", "stop", "--dir", str(tmp_path))
    assert stopped.returncode == 0 and "No local servers were running." in stopped.stdout


def test_plan_without_secrets_names_every_missing_variable(tmp_path: Path) -> None:
    run_connector("init", str(tmp_path / "w"))
    env = {"CONNECTOR_CONFIG": str(tmp_path / "w" / "connector.toml")}
    for name in ("DECK_APP_PASSWORD", "CALDAV_PASSWORD", "MAILMAN_REST_PASSWORD"):
        env[name] = ""
    done = run_connector("plan", env=env)
    assert done.returncode == 3
    lines = done.stderr.splitlines()
    assert lines[0] == (
        "error: 3 secret(s) are not set in the environment: "
        "DECK_APP_PASSWORD, CALDAV_PASSWORD, MAILMAN_REST_PASSWORD"
    )
    assert lines[1] == "DECK_APP_PASSWORD: the password of target nextcloud (http://127.0.0.1:8081)"
    assert lines[-1].startswith("hint: set each with `export NAME=...`")
    assert 'eval "$(connector servers start)"' in lines[-1]


def test_a_target_url_comes_from_the_environment(tmp_path: Path) -> None:
    run_connector("init", str(tmp_path / "w"))
    env = {
        "CONNECTOR_CONFIG": str(tmp_path / "w" / "connector.toml"),
        "CONNECTOR_URL_KALENDER": "http://127.0.0.1:1/",
        "CALDAV_PASSWORD": "",
        "DECK_APP_PASSWORD": "x",
        "MAILMAN_REST_PASSWORD": "x",
    }
    done = run_connector("plan", env=env)
    assert "CALDAV_PASSWORD: the password of target kalender (http://127.0.0.1:1/)" in done.stderr
