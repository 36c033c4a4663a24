"""Start, stop and look at the local servers the demo and the README's tour sync against.

``connector servers start`` (or ``python -m connector.testing.demo_servers start DIR``) starts,
in the background, the Deck test double, a real Radicale and a real Mailman 3 core (REST only),
each with a user and a password made up for this run, on free ports (or the ports named by
``CONNECTOR_DECK_PORT``, ``CONNECTOR_RADICALE_PORT``, ``CONNECTOR_MAILMAN_PORT``). What runs is
recorded in ``DIR/state.json``, so that ``stop`` and ``status`` find it and a second ``start``
never orphans the servers of an earlier one. The ``export`` lines a mapping needs (secrets and
``CONNECTOR_URL_<TARGET>`` overrides) are printed and written to ``DIR/servers.env``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connector.errors import InputError, TargetError
from mappings.schema import MappingFile
from sync.store import Store
from sync.targets import url_variable

#: The servers in start order: name, target kind it serves, environment variable of its port.
SERVERS: tuple[tuple[str, str, str], ...] = (
    ("deck", "deck", "CONNECTOR_DECK_PORT"),
    ("radicale", "caldav", "CONNECTOR_RADICALE_PORT"),
    ("mailman", "mailman", "CONNECTOR_MAILMAN_PORT"),
)
LABELS = {"deck": "Deck double", "radicale": "Radicale", "mailman": "Mailman 3 core"}
#: The accounts the servers get; the shipped mappings log in as these.
USERS = {"deck": "admin", "radicale": "connector", "mailman": "restadmin"}
STATE_FILE = "state.json"
ENV_FILE = "servers.env"
START_TIMEOUT = 120.0


@dataclass(frozen=True)
class TargetNeed:
    """What a mapping target expects from a local server: its name, kind and secret variable."""

    name: str
    kind: str
    secret_env: str | None


#: The targets of the shipped mappings, used when no configuration names others.
DEFAULT_TARGETS = (
    TargetNeed("nextcloud", "deck", "DECK_APP_PASSWORD"),
    TargetNeed("kalender", "caldav", "CALDAV_PASSWORD"),
    TargetNeed("listen", "mailman", "MAILMAN_REST_PASSWORD"),
)


@dataclass
class Servers:
    """The recorded state of one folder's servers."""

    directory: Path
    servers: dict[str, dict[str, Any]] = field(default_factory=dict)
    council: dict[str, str] = field(default_factory=dict)

    @property
    def state_file(self) -> Path:
        """Where this state is kept."""
        return self.directory / STATE_FILE

    def save(self) -> None:
        """Write the state (readable only by its owner: it holds passwords)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        data = {"servers": self.servers, "council": self.council}
        self.state_file.write_text(json.dumps(data, indent=2) + "\n")
        self.state_file.chmod(0o600)

    @classmethod
    def load(cls, directory: Path) -> Servers | None:
        """The state recorded in ``directory``, or None."""
        path = directory / STATE_FILE
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return cls(directory)
        return cls(directory, dict(data.get("servers", {})), dict(data.get("council", {})))

    def running(self) -> dict[str, bool]:
        """Per server: is its process still alive?"""
        return {name: _alive(int(info["pid"])) for name, info in self.servers.items()}


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True
    # A zombie (state Z) has exited; only its parent has not collected it yet.
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_holder(port: int) -> str:
    """Who listens on ``port``: ``pid 123 (python3 -m radicale …)``, or why that is unknown."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            listening = len(parts) > 9 and parts[3] == "0A"  # state LISTEN
            if listening and int(parts[1].rpartition(":")[2], 16) == port:
                inodes.add(parts[9])
    if not inodes:
        return "an unknown process"
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").strip()
                    command = cmdline.decode(errors="replace")
                    shown = command if len(command) <= 80 else command[:79] + "…"
                    return f"pid {proc.name} ({shown})"
        except OSError:
            continue
    return "a process of another user"


def _ports(environ: dict[str, str]) -> dict[str, int]:
    ports: dict[str, int] = {}
    for name, _kind, variable in SERVERS:
        wanted = environ.get(variable, "").strip()
        if not wanted:
            ports[name] = free_port()
            continue
        if not wanted.isdigit() or not 0 < int(wanted) < 65536:
            raise InputError(f"{variable}={wanted!r} is not a port number (1-65535)")
        port = int(wanted)
        if not _port_free(port):
            error = TargetError(
                f"port {port} ({variable}, for the {LABELS[name]}) is in use by {port_holder(port)}"
            )
            error.hint = f"Stop that process, or choose another port: export {variable}=PORT"
            raise error
        ports[name] = port
    return ports


def _spawn(args: list[str], log: Path, env: dict[str, str]) -> int:
    with open(log, "ab") as out:
        process = subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    return process.pid


def _commands(
    directory: Path, ports: dict[str, int], passwords: dict[str, str], council: dict[str, str]
) -> dict[str, list[str]]:
    python = sys.executable
    accounts = [arg for user, pw in council.items() for arg in ("--user", f"{user}:{pw}")]
    htpasswd = directory / "radicale.htpasswd"
    htpasswd.write_text(f"{USERS['radicale']}:{passwords['radicale']}\n")
    htpasswd.chmod(0o600)
    return {
        "deck": [
            python, "-m", "connector.testing.deck_server", "--port", str(ports["deck"]),
            "--user", f"{USERS['deck']}:{passwords['deck']}:Koordination", *accounts,
            "--group", "beirat:" + ",".join(council),
        ],
        "radicale": [
            python, "-m", "radicale", "--config", "",
            "--server-hosts", f"127.0.0.1:{ports['radicale']}",
            "--storage-filesystem-folder", str(directory / "radicale"),
            "--auth-type", "htpasswd",
            "--auth-htpasswd-filename", str(htpasswd),
            "--auth-htpasswd-encryption", "plain",
            "--logging-level", "warning",
        ],
        "mailman": [
            python, "-m", "connector.testing.mailman_server", "--port", str(ports["mailman"]),
            "--dir", str(directory / "mailman"), "--user", USERS["mailman"],
        ],
    }  # fmt: skip


def _wait_for(name: str, pid: int, port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if not _alive(pid):
            break
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-1500:] if log.exists() else "(no log)"
    state = "exited" if not _alive(pid) else f"did not answer within {START_TIMEOUT:.0f} s"
    error = TargetError(f"the {LABELS[name]} on port {port} {state}; its log ends:\n{tail}")
    error.hint = f"See {log}; the servers already started were stopped again."
    raise error


def start(directory: Path, council_users: Iterable[str] = ()) -> tuple[Servers, bool]:
    """Start the three servers in ``directory``; return their state and whether they are new.

    If this folder's servers of an earlier run are all still up, they are kept (False). Any
    left over from a broken run are stopped first. ``council_users`` are Nextcloud accounts
    to create in the Deck double, all in the council's group ``beirat``. If one server does
    not come up, the others are stopped again and :class:`TargetError` says why.
    """
    directory = directory.resolve()
    earlier = Servers.load(directory)
    if earlier is not None and earlier.servers:
        running = earlier.running()
        if len(running) == len(SERVERS) and all(running.values()):
            return earlier, False
        stop(directory)
    directory.mkdir(parents=True, exist_ok=True)
    ports = _ports(dict(os.environ))
    passwords = {name: secrets.token_urlsafe(18) for name, _k, _v in SERVERS}
    council = {user: secrets.token_urlsafe(12) for user in (list(council_users) or ["beirat"])}
    env = {**os.environ, "MAILMAN_REST_PASSWORD": passwords["mailman"]}
    state = Servers(directory, council=council)
    commands = _commands(directory, ports, passwords, council)
    try:
        for name, kind, _variable in SERVERS:
            log = directory / f"{name}.log"
            pid = _spawn(commands[name], log, env)
            state.servers[name] = {
                "pid": pid,
                "port": ports[name],
                "kind": kind,
                "url": f"http://127.0.0.1:{ports[name]}" + ("/" if kind == "caldav" else ""),
                "user": USERS[name],
                "password": passwords[name],
                "log": str(log),
            }
            state.save()  # before waiting: a crash now still leaves what `stop` needs
            _wait_for(name, pid, ports[name], log)
    except BaseException:
        stop(directory)
        raise
    return state, True


def stop(directory: Path, timeout: float = 20.0) -> list[str]:
    """End the servers recorded in ``directory`` (and what they started); their names."""
    state = Servers.load(directory.resolve())
    if state is None:
        return []
    pids = {name: int(info["pid"]) for name, info in state.servers.items()}
    for pid in pids.values():
        try:
            os.killpg(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            continue
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids.values()):
        _reap()
        time.sleep(0.2)
    for pid in pids.values():
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
    _reap()
    state.state_file.unlink(missing_ok=True)
    (state.directory / ENV_FILE).unlink(missing_ok=True)
    return list(pids)


def _reap() -> None:
    """Collect exited children of this process (when the CLI runs inside a test)."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def export_lines(state: Servers, targets: Iterable[TargetNeed] = DEFAULT_TARGETS) -> list[str]:
    """The ``export`` lines that point ``targets`` at these servers, with their secrets."""
    by_kind = {info["kind"]: info for info in state.servers.values()}
    lines = []
    for need in targets:
        info = by_kind.get(need.kind)
        if info is None:
            continue
        lines.append(f"export {url_variable(need.name)}={info['url']}")
        if need.secret_env:
            lines.append(f"export {need.secret_env}={info['password']}")
    return list(dict.fromkeys(lines))


def target_needs(mappings: Iterable[MappingFile]) -> list[TargetNeed]:
    """What the targets of ``mappings`` expect from local servers (shipped ones if none)."""
    needs = [
        TargetNeed(name, spec.kind, spec.secret.env if spec.secret else None)
        for mapping in mappings
        for name, spec in mapping.targets.items()
    ]
    return needs or list(DEFAULT_TARGETS)


def council_users(store: Store) -> list[str]:
    """The Nextcloud accounts of the council in ``store`` (tasks are assigned to them)."""
    users = {getattr(person, "deck_user", None) for person in store.entities("person")}
    return sorted(user for user in users if user)


def write_env(state: Servers, lines: list[str]) -> Path:
    """Write ``lines`` to ``servers.env`` in the state's folder (owner-readable only)."""
    path = state.directory / ENV_FILE
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def status_rows(state: Servers | None) -> list[dict[str, Any]]:
    """Per server: name, url, pid, running (JSON-able; no passwords)."""
    if state is None:
        return []
    running = state.running()
    return [
        {
            "server": name,
            "url": info["url"],
            "user": info["user"],
            "pid": info["pid"],
            "running": running[name],
            "log": info["log"],
        }
        for name, info in state.servers.items()
    ]


def main(argv: list[str] | None = None) -> int:
    """Command line: start DIR | stop DIR | status DIR (the CLI's `connector servers`)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--deck-user", action="append", default=[], help="council account")
    args = parser.parse_args(argv)
    if args.action == "start":
        state, _new = start(args.dir, args.deck_user)
        print("\n".join(export_lines(state)))
    elif args.action == "stop":
        stop(args.dir)
    else:
        print(json.dumps(status_rows(Servers.load(args.dir.resolve())), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
