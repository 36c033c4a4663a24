"""Start and stop the local servers the demo syncs against.

``python -m connector.testing.demo_servers start DIR`` starts, in the background, the Deck test
double (port 8081), a real Radicale (5232) and a real Mailman 3 core (8001, REST only), with
passwords made up for this run, and writes ``DIR/servers.env`` with the ``export`` lines the
shipped mapping reads its secrets from. ``stop DIR`` ends them. The ports are the ones in
``mappings/muensterland-mentoring.toml``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

DECK_PORT, RADICALE_PORT, MAILMAN_PORT = 8081, 5232, 8001


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _wait_for(port: int, name: str, log: Path, seconds: float = 90.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _port_free(port):
            return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
    raise SystemExit(f"{name} did not start on port {port} within {seconds:.0f} s:\n{tail}")


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


def start(directory: Path, deck_users: list[str] | None = None) -> None:
    """Start all three servers; write servers.env and the pids.

    ``deck_users`` are Nextcloud accounts to create in the Deck double, all in group
    ``beirat`` (the council's group in the shipped mapping).
    """
    directory.mkdir(parents=True, exist_ok=True)
    busy = [p for p in (DECK_PORT, RADICALE_PORT, MAILMAN_PORT) if not _port_free(p)]
    if busy:
        raise SystemExit(f"ports already in use: {busy}; run `stop` first or free them")
    secrets_ = {
        "DECK_APP_PASSWORD": secrets.token_urlsafe(18),
        "CALDAV_PASSWORD": secrets.token_urlsafe(18),
        "MAILMAN_REST_PASSWORD": secrets.token_urlsafe(18),
    }
    env = {**os.environ, **secrets_}
    python = sys.executable
    council = deck_users or ["beirat"]
    accounts = [arg for user in council for arg in ("--user", f"{user}:{secrets.token_hex(8)}")]
    pids = [
        _spawn(
            [
                python,
                "-m",
                "connector.testing.deck_server",
                "--port",
                str(DECK_PORT),
                "--user",
                f"admin:{secrets_['DECK_APP_PASSWORD']}:Koordination",
                *accounts,
                "--group",
                "beirat:" + ",".join(council),
            ],
            directory / "deck.log",
            env,
        ),
        _spawn(
            [
                python,
                "-m",
                "connector.testing.calendar_servers",
                "radicale",
                "--port",
                str(RADICALE_PORT),
                "--dir",
                str(directory / "radicale"),
            ],
            directory / "radicale.log",
            env,
        ),
        _spawn(
            [
                python,
                "-m",
                "connector.testing.mailman_server",
                "--port",
                str(MAILMAN_PORT),
                "--dir",
                str(directory / "mailman"),
                "--user",
                "restadmin",
            ],
            directory / "mailman.log",
            env,
        ),
    ]
    (directory / "pids").write_text(" ".join(map(str, pids)))
    for port, name, log in (
        (DECK_PORT, "Deck double", directory / "deck.log"),
        (RADICALE_PORT, "Radicale", directory / "radicale.log"),
        (MAILMAN_PORT, "Mailman", directory / "mailman.log"),
    ):
        _wait_for(port, name, log)
    lines = [f"export {key}={value}" for key, value in secrets_.items()]
    env_file = directory / "servers.env"
    env_file.write_text("\n".join(lines) + "\n")
    env_file.chmod(0o600)
    print(f"Deck double on :{DECK_PORT}, Radicale on :{RADICALE_PORT}, Mailman on :{MAILMAN_PORT}")
    print(f"secrets for the mapping: source {env_file}")


def stop(directory: Path) -> None:
    """End the servers started by :func:`start` (and what they started)."""
    pids_file = directory / "pids"
    if not pids_file.exists():
        return
    for pid in map(int, pids_file.read_text().split()):
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all(
        _port_free(p) for p in (DECK_PORT, RADICALE_PORT, MAILMAN_PORT)
    ):
        time.sleep(0.3)
    pids_file.unlink()
    print("demo servers stopped")


def main(argv: list[str] | None = None) -> int:
    """Command line: start DIR | stop DIR."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--deck-user", action="append", default=[], help="council account")
    args = parser.parse_args(argv)
    if args.action == "start":
        start(args.dir.resolve(), args.deck_user)
    else:
        stop(args.dir.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
