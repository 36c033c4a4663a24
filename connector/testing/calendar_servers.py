"""Real CalDAV servers (Radicale, Xandikos) as subprocesses on 127.0.0.1, for tests and demos.

Each server runs from the current virtualenv on a free port (or a given one) with its storage
in a directory of the caller's choosing. A server that cannot start raises
:class:`ServerStartError` carrying its log: tests must fail loudly, never skip.

Run one in the foreground (for a demo script that puts it in the background)::

    python -m connector.testing.calendar_servers radicale --port 5232 --dir DIR
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

#: Both servers accept any credentials here; these are what tests send.
USER = "user"
PASSWORD = "secret"
START_TIMEOUT = 30.0


class ServerStartError(RuntimeError):
    """A calendar server did not come up; the message includes its log."""


@dataclass(frozen=True)
class CalendarServer:
    """A running server: where to reach it, whom to log in as, and where it keeps its data."""

    name: str
    url: str
    user: str
    password: str
    storage: Path
    log: Path
    pid: int


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def radicale_command(port: int, storage: Path, log_level: str = "warning") -> list[str]:
    """The command line that serves ``storage`` with Radicale, without any config file."""
    return [
        sys.executable, "-m", "radicale", "--config", "",
        "--server-hosts", f"127.0.0.1:{port}",
        "--storage-filesystem-folder", str(storage),
        "--auth-type", "none",
        "--logging-level", log_level,
    ]  # fmt: skip


def xandikos_command(port: int, storage: Path, state: Path) -> list[str]:
    """The command line that serves ``storage`` with Xandikos (principal ``/user/``)."""
    return [
        sys.executable, "-m", "xandikos", "serve",
        "-d", str(storage), "--defaults", "--state-dir", str(state),
        "-l", "127.0.0.1", "-p", str(port),
        "--no-detect-systemd",
    ]  # fmt: skip


def _answers(url: str) -> bool:
    try:
        requests.request("OPTIONS", url, timeout=1.0)
    except requests.RequestException:
        return False
    return True


def _wait_until_up(process: subprocess.Popen[bytes], url: str, log: Path, name: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerStartError(
                f"{name} exited with {process.returncode} before answering on {url}:\n"
                f"{log.read_text(errors='replace')}"
            )
        if _answers(url):
            return
        time.sleep(0.05)
    _stop(process)
    raise ServerStartError(
        f"{name} did not answer on {url} within {START_TIMEOUT:.0f} s:\n"
        f"{log.read_text(errors='replace')}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextlib.contextmanager
def _serve(name: str, command: list[str], port: int, tmpdir: Path) -> Iterator[CalendarServer]:
    log = tmpdir / f"{name}.log"
    url = f"http://127.0.0.1:{port}/"
    # The log goes to a file: a pipe nobody reads would block a chatty server.
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_up(process, url, log, name)
        yield CalendarServer(name, url, USER, PASSWORD, tmpdir / "storage", log, process.pid)
    finally:
        _stop(process)


@contextlib.contextmanager
def radicale_server(
    tmpdir: Path | str, *, port: int | None = None, log_level: str = "warning"
) -> Iterator[CalendarServer]:
    """Run Radicale on 127.0.0.1 with storage under ``tmpdir``; the principal is ``/user/``.

    With ``log_level="info"`` the log names every request, which a benchmark can count.
    """
    tmp = Path(tmpdir)
    (tmp / "storage").mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    with _serve("radicale", radicale_command(port, tmp / "storage", log_level), port, tmp) as srv:
        yield srv


@contextlib.contextmanager
def xandikos_server(tmpdir: Path | str, *, port: int | None = None) -> Iterator[CalendarServer]:
    """Run Xandikos on 127.0.0.1 with storage under ``tmpdir``; the principal is ``/user/``."""
    tmp = Path(tmpdir)
    (tmp / "state").mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    command = xandikos_command(port, tmp / "storage", tmp / "state")
    with _serve("xandikos", command, port, tmp) as server:
        yield server


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted (SIGINT or SIGTERM); print the URL once the server answers."""
    parser = argparse.ArgumentParser(prog="python -m connector.testing.calendar_servers")
    parser.add_argument("server", choices=["radicale", "xandikos"])
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--dir", type=Path, required=True, help="storage and log directory")
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    starter = radicale_server if args.server == "radicale" else xandikos_server
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        with starter(args.dir, port=args.port) as server:
            print(f"{server.name} serving {server.storage} at {server.url}", flush=True)
            while True:
                time.sleep(3600)
    except ServerStartError as exc:
        print(exc, file=sys.stderr)
        return 1
    except (KeyboardInterrupt, SystemExit):
        return 0


if __name__ == "__main__":
    sys.exit(main())
