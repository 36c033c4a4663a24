"""A real GNU Mailman 3 core, REST runner only, for tests, benchmarks and the demo.

Mailman's dependencies clash with the project's, so it lives in a virtualenv of its own
(``.cache/mailman-venv`` under the project root, or ``$MAILMAN_VENV``), built once and reused.
Each server gets a fresh config in a directory of the caller's choosing: SQLite, the null MTA,
no runner but REST (so no mail can leave and startup takes seconds), and an admin user and
password made up for this run. A server that does not come up raises
:class:`MailmanHarnessError` with its log tail: tests fail loudly, never skip.

    python -m connector.testing.mailman_server --install-only
    python -m connector.testing.mailman_server --port 8001 --dir DIR   # until SIGTERM
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

#: What the venv holds; SQLAlchemy 2.1 makes every member listing answer 500.
REQUIREMENTS = ("mailman==3.3.10", "sqlalchemy<2.1")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
#: Every runner Mailman 3.3 defines besides ``rest``; all are switched off.
OTHER_RUNNERS = (
    "archive", "bounces", "command", "in", "lmtp", "nntp",
    "out", "pipeline", "retry", "task", "virgin", "digest",
)  # fmt: skip
_READY_MARK = ".cohort-connector-ready"


class MailmanHarnessError(RuntimeError):
    """The Mailman venv could not be built or the server did not come up (log included)."""


@dataclass(frozen=True)
class MailmanInstance:
    """A running Mailman core: its REST root and the admin credentials of this run."""

    url: str
    user: str
    password: str


def venv_dir() -> Path:
    """Where Mailman's own virtualenv lives: ``$MAILMAN_VENV`` or ``.cache/mailman-venv``."""
    override = os.environ.get("MAILMAN_VENV")
    if override:
        return Path(override).expanduser().resolve()
    return Path(__file__).resolve().parents[2] / ".cache" / "mailman-venv"


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"({path} not written)"
    return "\n".join(text.splitlines()[-lines:]) or f"({path} is empty)"


def _ready(venv: Path) -> bool:
    mark = venv / _READY_MARK
    wanted = "\n".join(REQUIREMENTS)
    return (venv / "bin" / "mailman").exists() and mark.exists() and mark.read_text() == wanted


def _build(venv: Path) -> None:
    if venv.exists() and any(venv.iterdir()) and not (venv / "pyvenv.cfg").exists():
        raise MailmanHarnessError(f"{venv} exists and is no virtualenv: not overwriting it")
    log = venv.parent / f"{venv.name}-install.log"
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *REQUIREMENTS],
    ]
    with log.open("w") as out:
        for step in steps:
            if subprocess.run(step, stdout=out, stderr=subprocess.STDOUT).returncode:
                raise MailmanHarnessError(
                    f"cannot build the Mailman venv at {venv} ({' '.join(step)} failed):\n"
                    + _tail(log)
                )
    (venv / _READY_MARK).write_text("\n".join(REQUIREMENTS))


def ensure_venv(venv: Path | None = None) -> Path:
    """Build Mailman's virtualenv unless a complete one exists; return its ``mailman`` command."""
    venv = venv or venv_dir()
    if not _ready(venv):
        venv.parent.mkdir(parents=True, exist_ok=True)
        # Two test runs starting at once must not build into the same directory together.
        with (venv.parent / f"{venv.name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not _ready(venv):
                _build(venv)
    return venv / "bin" / "mailman"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(var_dir: Path, port: int, user: str, password: str, workers: int = 1) -> Path:
    """Write a ``mailman.cfg`` that keeps everything in ``var_dir`` and runs REST only, with
    ``workers`` REST worker processes (one saves memory in tests; Mailman's default is 2)."""
    runners = "".join(f"[runner.{name}]\nstart: no\n\n" for name in OTHER_RUNNERS)
    text = f"""\
[mailman]
layout: harness
site_owner: postmaster@example.org

[paths.harness]
var_dir: {var_dir}

[webservice]
hostname: 127.0.0.1
port: {port}
admin_user: {user}
admin_pass: {password}
workers: {workers}

# NullMTA: list creation writes no alias maps. Outgoing mail needs the "out" runner, which
# is off, so queued mail (welcome, goodbye, posts) stays in var/queue where tests read it.
[mta]
incoming: mailman.mta.null.NullMTA
smtp_host: 127.0.0.1

# A REST runner that cannot bind gives up fast, so the master exits and we report it.
[runner.rest]
max_restarts: 2

{runners}"""
    config = var_dir / "mailman.cfg"
    config.write_text(text)
    return config


def _command(mailman: Path, config: Path, *args: str) -> list[str]:
    root = ["--run-as-root"] if os.geteuid() == 0 else []
    return [str(mailman), *root, "-C", str(config), *args]


def _answers(instance: MailmanInstance) -> bool:
    try:
        response = requests.get(
            f"{instance.url}/3.1/system/versions",
            auth=(instance.user, instance.password),
            timeout=2.0,
        )
    except requests.RequestException:
        return False
    return response.status_code == 200


def _master_pid(var_dir: Path) -> int | None:
    try:
        return int((var_dir / "master.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _failure(message: str, var_dir: Path) -> MailmanHarnessError:
    return MailmanHarnessError(
        f"{message}\n--- start.log ---\n{_tail(var_dir / 'start.log')}"
        f"\n--- logs/mailman.log ---\n{_tail(var_dir / 'logs' / 'mailman.log')}"
    )


def _wait_until_up(instance: MailmanInstance, var_dir: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    master: int | None = None
    while time.monotonic() < deadline:
        if _answers(instance):
            return
        # The master removes its pid file when it gives up, so remember the pid once seen.
        master = _master_pid(var_dir) or master
        if master is not None and not _alive(master):
            raise _failure(f"Mailman's master exited before {instance.url} answered", var_dir)
        time.sleep(0.2)
    raise _failure(f"Mailman did not answer on {instance.url} within {timeout:.0f} s", var_dir)


def _stop(mailman: Path, config: Path, var_dir: Path) -> None:
    pid = _master_pid(var_dir)
    with (var_dir / "start.log").open("a") as log:
        subprocess.run(
            _command(mailman, config, "stop"), stdout=log, stderr=subprocess.STDOUT, timeout=30
        )
    if pid is None:
        return
    deadline = time.monotonic() + STOP_TIMEOUT
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    # The master is a session leader (setsid), so its group holds exactly our runners.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _clear_stale_pid(var_dir: Path) -> None:
    pid = _master_pid(var_dir)
    if pid is not None and _alive(pid):
        raise MailmanHarnessError(f"a Mailman master (pid {pid}) already runs from {var_dir}")
    (var_dir / "master.pid").unlink(missing_ok=True)


def _start(mailman: Path, config: Path, var_dir: Path, timeout: float) -> None:
    with (var_dir / "start.log").open("w") as log:
        try:
            started = subprocess.run(
                _command(mailman, config, "start", "--force"),
                stdout=log, stderr=subprocess.STDOUT, cwd=var_dir, timeout=timeout,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            message = f"`mailman start` did not return within {timeout:.0f} s"
            raise _failure(message, var_dir) from None
    if started.returncode:
        raise _failure(f"`mailman start` exited with {started.returncode}", var_dir)


@contextlib.contextmanager
def mailman_server(
    tmpdir: Path | str,
    *,
    port: int | None = None,
    timeout: float = START_TIMEOUT,
    user: str | None = None,
    password: str | None = None,
    workers: int = 1,
) -> Iterator[MailmanInstance]:
    """Run a Mailman core with its data under ``tmpdir``; stop it (and all it started) on exit.

    The REST admin ``user``/``password`` are made up for this run unless given.
    Raises :class:`MailmanHarnessError` (with the log tail) if it is not up within ``timeout``.
    """
    mailman = ensure_venv()
    var_dir = Path(tmpdir).resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    _clear_stale_pid(var_dir)
    port = port or free_port()
    instance = MailmanInstance(
        url=f"http://127.0.0.1:{port}",
        user=user or f"admin-{secrets.token_hex(4)}",
        password=password or secrets.token_urlsafe(18),
    )
    config = write_config(var_dir, port, instance.user, instance.password, workers)
    try:
        _start(mailman, config, var_dir, timeout)
        _wait_until_up(instance, var_dir, timeout)
        yield instance
    finally:
        _stop(mailman, config, var_dir)


def main(argv: list[str] | None = None) -> int:
    """Build the venv (``--install-only``) or serve in the foreground until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--install-only", action="store_true", help="only build the venv")
    parser.add_argument("--port", type=int, default=None, help="REST port (default: free)")
    parser.add_argument("--dir", type=Path, default=None, help="data directory (required)")
    parser.add_argument(
        "--user",
        default=None,
        help="REST admin user (default: made up); the password comes from the environment "
        "variable MAILMAN_REST_PASSWORD if set, never from the command line",
    )
    args = parser.parse_args(argv)
    if args.install_only:
        print(f"Mailman venv ready: {ensure_venv().parent.parent}")
        return 0
    if args.dir is None:
        parser.error("--dir is required unless --install-only is given")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        password = os.environ.get("MAILMAN_REST_PASSWORD")
        with mailman_server(
            args.dir, port=args.port, user=args.user, password=password
        ) as instance:
            shown = "(from MAILMAN_REST_PASSWORD)" if password else instance.password
            print(f"url={instance.url} user={instance.user} password={shown}")
            sys.stdout.flush()
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    except MailmanHarnessError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
