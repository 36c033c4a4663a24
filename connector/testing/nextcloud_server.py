"""A real Nextcloud 29.0.6 + Deck 1.13.10 on 127.0.0.1, for tests and benchmarks.

The distribution is the archive described in ``../shared/nextcloud/README.md``: found at
``$NEXTCLOUD_DIST`` (the path of the ``.tar.xz``) or in ``../shared/nextcloud/`` beside the
project, checked against its sha256. PHP comes from Debian; when ``php`` is missing and we
are root, it is installed with apt-get. The code is unpacked once into
``.cache/nextcloud-dist/``; an installed template (SQLite, Deck enabled, users, the group
``beirat``, app passwords) is built once into ``.cache/nextcloud-template-*`` and copied into
a fresh folder for every server, which then gets its own data, config, logs and port::

    with nextcloud_server(tmp_dir) as nc:
        nc.url, nc.app_passwords["admin"], nc.request_count(), nc.reset_bruteforce()

``php -S`` runs in its own process group and is stopped by that id. Its request log (one
line per request) goes to ``access.log``: :meth:`NextcloudInstance.requests_since` counts
what a client sent. A distribution that is missing raises :class:`NextcloudMissing` (callers
decide whether that skips or fails); one that is present but does not come up raises
:class:`NextcloudHarnessError` with the log tail.

    python -m connector.testing.nextcloud_server --prepare      # PHP, unpack, template
    python -m connector.testing.nextcloud_server --port 8080    # serve until SIGTERM
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests

from connector.testing.calendar_servers import free_port
from connector.testing.nextcloud_dist import (
    CACHE,
    DIST_SHA256,
    ROOT,
    NextcloudHarnessError,
    NextcloudMissing,
    code_dir,
    ensure_php,
    find_dist,
    locked,
    read_config,
    site_config,
    write_config,
)

#: The accounts every server has besides ``admin``; all but alice are in ``beirat``.
PEOPLE = {"alice": "Alice", "bob": "Bob", "carol": "Carol"}
GROUP = "beirat"
START_TIMEOUT = 60.0
#: Bumped when the template's contents change, so stale caches are rebuilt.
TEMPLATE_VERSION = "1"
_REQUEST_LINE = re.compile(r"\] 127\.0\.0\.1:\d+ \[(\d{3})\]: ([A-Z]+) (\S+)")


# -- the running server -----------------------------------------------------------------------


@dataclass
class NextcloudInstance:
    """A running Nextcloud: its URL, accounts and app passwords, its folder and logs."""

    url: str
    port: int
    home: Path
    code: Path
    php: str
    passwords: dict[str, str]
    app_passwords: dict[str, str]
    groups: dict[str, list[str]]
    pid: int = 0
    _made: int = field(default=0, repr=False)

    @property
    def access_log(self) -> Path:
        return self.home / "access.log"

    @property
    def log(self) -> Path:
        return self.home / "nextcloud.log"

    def env(self) -> dict[str, str]:
        return {**os.environ, "NEXTCLOUD_CONFIG_DIR": f"{self.home / 'config'}/"}

    def occ(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        """Run ``occ`` on this instance; its output, or a harness error with it."""
        done = subprocess.run(
            [self.php, str(self.code / "occ"), "--no-interaction", *args],
            capture_output=True,
            text=True,
            env={**self.env(), **(env or {})},
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise NextcloudHarnessError(f"occ {' '.join(args)}: {done.stdout}{done.stderr}")
        return done.stdout

    def reset_bruteforce(self) -> None:
        """Forget failed logins from 127.0.0.1 (each one slows every later login)."""
        self.occ("security:bruteforce:reset", "127.0.0.1")

    # -- the request log --

    def requests(self) -> list[tuple[int, str, str]]:
        """Every request served so far: (status, method, path with query)."""
        text = self.access_log.read_text(errors="replace")
        return [(int(s), m, p) for s, m, p in _REQUEST_LINE.findall(text)]

    def mark(self) -> int:
        """A position in the request log, for :meth:`requests_since`."""
        time.sleep(0.05)  # php -S writes its log line just after the answer
        return len(self.requests())

    def requests_since(self, mark: int) -> list[tuple[int, str, str]]:
        time.sleep(0.05)
        return self.requests()[mark:]

    # -- accounts --

    def ocs(
        self, method: str, path: str, data: Mapping[str, object] | None = None, user: str = "admin"
    ) -> dict[str, object]:
        """An OCS v2 call as ``user`` (app password); the ``data`` of its answer."""
        answer = requests.request(
            method,
            f"{self.url}/ocs/v2.php{path}",
            data=dict(data or {}) or None,
            auth=(user, self.app_passwords[user]),
            headers={"OCS-APIRequest": "true", "Accept": "application/json"},
            timeout=60,
        )
        if answer.status_code >= 300:
            raise NextcloudHarnessError(f"OCS {method} {path}: {answer.status_code} {answer.text}")
        result: dict[str, object] = answer.json()["ocs"]["data"] or {}
        return result

    def new_user(self, prefix: str = "w", groups: Sequence[str] = ()) -> tuple[str, str]:
        """A fresh account (login, app password): boards of one test stay out of another's."""
        self._made += 1
        login = f"{prefix}{os.getpid()}x{self._made}x{secrets.token_hex(2)}"
        password = "Pw-" + secrets.token_urlsafe(18)
        fields: dict[str, object] = {"userid": login, "password": password}
        if groups:
            fields["groups[]"] = list(groups)
        self.ocs("POST", "/cloud/users", fields)
        token = _app_password(self.url, login, password)
        self.passwords[login], self.app_passwords[login] = password, token
        return login, token


def _app_password(url: str, login: str, password: str) -> str:
    answer = requests.get(
        f"{url}/ocs/v2.php/core/getapppassword",
        auth=(login, password),
        headers={"OCS-APIRequest": "true", "Accept": "application/json"},
        timeout=60,
    )
    if answer.status_code != 200:
        raise NextcloudHarnessError(f"app password for {login}: {answer.status_code}")
    token: str = answer.json()["ocs"]["data"]["apppassword"]
    return token


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({path} not written)"


def _serve(instance: NextcloudInstance, workers: int) -> subprocess.Popen[bytes]:
    log = instance.access_log.open("ab")
    command = [
        instance.php, "-d", "opcache.enable_cli=1", "-d", "memory_limit=512M",
        "-S", f"127.0.0.1:{instance.port}", "-t", str(instance.code),
    ]  # fmt: skip
    env = {**instance.env(), "PHP_CLI_SERVER_WORKERS": str(workers)}
    process = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=True,  # its own process group: stopped with its workers by PID
    )
    log.close()
    instance.pid = process.pid
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        with contextlib.suppress(requests.RequestException, ValueError):
            status = requests.get(f"{instance.url}/status.php", timeout=10).json()
            if status.get("installed") is True:
                return process
        time.sleep(0.2)
    _stop(process)
    raise NextcloudHarnessError(
        f"Nextcloud on port {instance.port} did not come up within {START_TIMEOUT:.0f} s\n"
        f"access log:\n{_tail(instance.access_log)}\nnextcloud.log:\n{_tail(instance.log)}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


# -- the template -----------------------------------------------------------------------------


def template_dir(php: str, code: Path, council: Sequence[str] = (), *, log: bool = False) -> Path:
    """An installed Nextcloud (config, data, accounts.json), built once per account list."""
    key = hashlib.sha256(
        f"{TEMPLATE_VERSION}:{DIST_SHA256}:{','.join(sorted(council))}".encode()
    ).hexdigest()[:16]
    target = CACHE / f"nextcloud-template-{key}"
    with locked("nextcloud-template"):
        if (target / "accounts.json").exists():
            return target
        started = time.monotonic()
        building = target.with_name(target.name + ".building")
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir(parents=True)
        _build_template(php, code, building, council)
        shutil.rmtree(target, ignore_errors=True)
        building.rename(target)
        if log:
            print(f"nextcloud template built in {time.monotonic() - started:.1f} s", flush=True)
    return target


def _build_template(php: str, code: Path, home: Path, council: Sequence[str]) -> None:
    admin_password = "Admin-" + secrets.token_urlsafe(18)
    port = free_port()
    instance = NextcloudInstance(
        f"http://127.0.0.1:{port}", port, home, code, php, {"admin": admin_password}, {}, {}
    )
    (home / "data").mkdir()
    (home / "config").mkdir()
    instance.occ(
        "maintenance:install", "--database", "sqlite", "--database-name", "nextcloud",
        "--data-dir", str(home / "data"), "--admin-user", "admin", "--admin-pass", admin_password,
    )  # fmt: skip
    base = read_config(php, home / "config")
    write_config(home / "config", site_config(base, home, port))
    instance.occ("app:enable", "deck")
    instance.occ("group:add", GROUP)
    token = instance.occ(
        "user:add-app-password", "--password-from-env", "admin", env={"NC_PASS": admin_password}
    )
    instance.app_passwords["admin"] = token.strip().splitlines()[-1].strip()
    process = _serve(instance, 4)
    try:
        people = {**PEOPLE, **{login: login for login in council}}
        passwords = {login: "Pw-" + secrets.token_urlsafe(18) for login in people}

        def add(login: str) -> None:
            extra: dict[str, object] = {} if login == "alice" else {"groups[]": [GROUP]}
            fields = {"userid": login, "password": passwords[login], "displayName": people[login]}
            instance.ocs("POST", "/cloud/users", {**fields, **extra})

        for login in people:  # one at a time: SQLite answers parallel writes with lock errors
            add(login)
        instance.passwords.update(passwords)
        for login in PEOPLE:
            instance.app_passwords[login] = _app_password(instance.url, login, passwords[login])
    finally:
        _stop(process)
    accounts = {
        "passwords": instance.passwords,
        "app_passwords": instance.app_passwords,
        "groups": {GROUP: [u for u in people if u != "alice"]},
        "config": read_config(php, home / "config"),
    }
    (home / "access.log").unlink(missing_ok=True)
    (home / "nextcloud.log").unlink(missing_ok=True)
    (home / "accounts.json").write_text(json.dumps(accounts, indent=1))


def prepare(council: Sequence[str] = (), *, log: bool = False) -> tuple[str, Path, Path]:
    """(php, code, template): everything a server needs, built where missing."""
    dist = find_dist()
    php = ensure_php()
    code = code_dir(dist)
    return php, code, template_dir(php, code, council, log=log)


@contextlib.contextmanager
def nextcloud_server(
    home: Path, council: Sequence[str] = (), *, port: int = 0, workers: int = 4
) -> Iterator[NextcloudInstance]:
    """A running Nextcloud with its data in ``home`` (created fresh from the template)."""
    php, code, template = prepare(council)
    home.mkdir(parents=True, exist_ok=True)
    shutil.copytree(template / "data", home / "data")
    accounts = json.loads((template / "accounts.json").read_text())
    port = port or free_port()
    write_config(home / "config", site_config(accounts["config"], home, port))
    instance = NextcloudInstance(
        f"http://127.0.0.1:{port}",
        port,
        home,
        code,
        php,
        dict(accounts["passwords"]),
        dict(accounts["app_passwords"]),
        {k: list(v) for k, v in accounts["groups"].items()},
    )
    process = _serve(instance, workers)
    try:
        yield instance
    finally:
        _stop(process)


def example_council(folder: Path | None = None) -> list[str]:
    """The Nextcloud accounts the bundled example's people carry (``deck_user``)."""
    from sync.importing import cells
    from sync.importing.columns import by_name
    from sync.importing.csvread import read_table

    table = read_table((folder or ROOT / "examples" / "muensterland-10") / "people.csv")
    columns = by_name("person")
    fields = {h: getattr(columns.get(cells.normalise(h)), "field", None) for h in table.header}
    header = next((h for h, name in fields.items() if name == "deck_user"), None)
    if header is None:
        return []
    return sorted({row.cells[header] for row in table.rows if row.cells.get(header)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m connector.testing.nextcloud_server")
    parser.add_argument("--prepare", action="store_true", help="install and build, then exit")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--dir", type=Path, default=None, help="the server's folder")
    args = parser.parse_args(argv)
    council = example_council()
    try:
        if args.prepare:
            prepare(council, log=True)
            return 0
        home = args.dir or CACHE / f"nextcloud-run-{os.getpid()}"
        with nextcloud_server(home, council, port=args.port) as nc:
            print(nc.url, json.dumps(nc.app_passwords), flush=True)
            stop = False

            def halt(*_: object) -> None:
                nonlocal stop
                stop = True

            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, halt)
            while not stop:
                time.sleep(0.2)
    except (NextcloudMissing, NextcloudHarnessError) as error:
        print(f"nextcloud_server: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
