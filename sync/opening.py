"""Which requests a command sends ahead: the opening of the last identical `connector sync`.

After a pass, :func:`save` writes what each collection's reading started with
(:mod:`connector.ahead` noted it) to a record named by the command line, the directory it
ran in and the ``CONNECTOR_*`` variables. When the same command runs again, the console
script calls :func:`start` before it loads the CLI, and the requests of every collection
whose stored cursor is still the one they were made with go out at once. The requests are
sent ahead only if all of this holds, else nothing is:

- the configuration and mapping files have the size and modification time they had;
- the collection's cursor in the store is unchanged (a pass that saw changes moved it, and its
  next requests differ);
- its password comes from an environment variable that is set, or it needs none. A secret
  ``command`` is never run ahead: it may ask for a passphrase, and would run twice;
- the last time its requests went ahead, the pass used them. A collection whose first request
  went unused although the pass read it from the same cursor (the requests depend on more
  than the cursor) is left out until the files change.

The record holds URLs, user names, request bodies (sync tokens) and the store's path, never a
password; it lives in ``$XDG_CACHE_HOME/cohort-connector/ahead`` (``~/.cache/...``), readable
by its owner only. Each collection's requests are sealed with a MAC keyed by its password: a
record that anyone else wrote or changed sends nothing, so it cannot carry the password to
another server (nor is a record used that others may write). ``CONNECTOR_AHEAD=off`` turns
all of it off.

This module loads nothing heavy (it runs before the CLI is imported): the standard library
and :mod:`connector.ahead`.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import os
import sqlite3
from hashlib import sha256  # loaded by hmac anyway
from pathlib import Path
from typing import Any

from connector import ahead
from connector.entry import cache_root, stamp

_VERSION = 1
#: Records of command lines not run for this long are removed (a folder or config gone).
_KEEP_SECONDS = 30 * 24 * 3600
#: The command line :func:`start` was called with (none: nothing is recorded).
_args: list[str] | None = None


_SWITCH = "CONNECTOR_AHEAD"


def _disabled() -> bool:
    return os.environ.get(_SWITCH, "").lower() in ("off", "0", "no", "false")


def record_path(args: list[str]) -> Path:
    """The record of the command ``args`` run in this directory with these variables."""
    digest = sha256(os.getcwd().encode())
    digest.update("\0".join(args).encode())
    for name in sorted(n for n in os.environ if n.startswith("CONNECTOR_") and n != _SWITCH):
        digest.update(f"\0{name}={os.environ[name]}".encode())
    return cache_root() / "ahead" / digest.hexdigest()[:32]


def guard(cursor: str | None) -> str:
    """What the stored cursor must still be for a collection's requests to go ahead."""
    return "-" if cursor is None else sha256(cursor.encode()).hexdigest()[:32]


def start(args: list[str]) -> None:
    """Send ahead what the last run of ``args`` opened with, if it still applies; record this
    run's opening. Never fails: anything amiss means nothing is sent ahead."""
    global _args
    # A new command: nothing of an earlier one in this process (tests run many) carries over.
    _args = None
    ahead.reset()
    if _disabled() or "sync" not in args or "--watch" in args:
        return
    _args = list(args)
    ahead.enable()
    try:
        record = _read(record_path(args))
        if record is not None:
            _send(record)
    except (KeyError, TypeError, ValueError, AttributeError, sqlite3.Error, OSError):
        return


def _send(record: dict[str, Any]) -> None:
    if record.get("version") != _VERSION:
        return
    if any(stamp(path) != recorded for path, recorded in record["files"].items()):
        return
    cursors = _cursors(record["store"])
    missed = set(record["missed"])
    for key, entry in record["collections"].items():
        if key in missed or guard(cursors.get(key)) != entry["guard"]:
            continue
        user, verify, timeout = entry["client"]
        password = _password(entry["env"])
        if password is None or not hmac.compare_digest(entry["seal"], _seal(password, key, entry)):
            continue
        headers: dict[str, str] = {}
        if user is not None:
            from connector.http_wire import basic_auth

            headers["Authorization"] = basic_auth(user, password)
        channels: dict[int, list[ahead.Request]] = {}
        for channel, method, url, sent, body in entry["requests"]:
            content = None if body is None else base64.b64decode(body)
            request = ahead.request_key(method, url, {**sent, **headers}, content)
            channels.setdefault(int(channel), []).append(request)
        for requests in channels.values():
            ahead.send(
                key, requests, guard=entry["guard"], verify=bool(verify), timeout=float(timeout)
            )


def _read(path: Path) -> dict[str, Any] | None:
    """The record at ``path`` if its owner wrote it and nobody else may (else None)."""
    with path.open("rb") as handle:
        found = os.fstat(handle.fileno())
        if found.st_uid != os.getuid() or found.st_mode & 0o022:
            return None
        record = json.loads(handle.read())
    return record if isinstance(record, dict) else None


def _password(env: str | None) -> str | None:
    """The password from variable ``env`` ("" for none; None if the variable is not set)."""
    return "" if env is None else os.environ.get(env)


def _seal(password: str, key: str, entry: dict[str, Any]) -> str:
    """The MAC of what a collection's entry sends, keyed by its password."""
    what = [key, entry["client"], entry["env"], entry["requests"]]
    text = json.dumps(what, sort_keys=True, separators=(",", ":"))
    secret = f"cohort-connector sends ahead\0{password}".encode()
    return hmac.new(secret, text.encode(), sha256).hexdigest()


def _cursors(store: str) -> dict[str, str | None]:
    """Each collection's stored cursor (read-only: a running pass is not disturbed)."""
    if not os.path.exists(store):
        return {}
    db = sqlite3.connect(Path(store).as_uri() + "?mode=ro", uri=True, timeout=0.2)
    try:
        return dict(db.execute("SELECT rule, cursor FROM cursors").fetchall())
    finally:
        db.close()


def save(files: list[Path], store: Path) -> None:
    """After a pass: write its opening requests as the record of the command line that
    :func:`start` saw (without one, as in a test calling the CLI in-process, nothing)."""
    if _args is None:
        return
    path = record_path(_args)
    stamps = {str(Path(f).resolve()): stamp(str(Path(f).resolve())) for f in files}
    missed = ahead.missed()
    try:
        before = json.loads(path.read_bytes())
        if before.get("files") == stamps:
            missed |= set(before.get("missed", []))
    except (OSError, ValueError, AttributeError):
        pass
    collections = {}
    for key, noted in ahead.recorded().items():
        password = _password(noted["env"])
        if key in missed or password is None:
            continue
        entry = {
            "guard": noted["guard"],
            "env": noted["env"],
            "client": list(noted["client"]),
            "requests": [
                [channel, method, url, headers, None if body is None else _text(body)]
                for channel, method, url, headers, body in noted["requests"]
            ],
        }
        collections[key] = {**entry, "seal": _seal(password, key, entry)}
    record = {
        "version": _VERSION,
        "store": str(Path(store).resolve()),
        "files": stamps,
        "missed": sorted(missed),
        "collections": collections,
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _prune(path.parent)
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(record, out)
        os.replace(partial, path)
    except OSError as exc:  # like a cache: the next run is slower, nothing else
        logging.getLogger(__name__).debug("requests sent ahead: no record written (%s)", exc)


def _text(body: bytes) -> str:
    return base64.b64encode(body).decode("ascii")


def _prune(folder: Path) -> None:
    """Remove the records of command lines not run for a month."""
    import time

    old = time.time() - _KEEP_SECONDS
    for entry in os.scandir(folder):
        try:
            if entry.stat().st_mtime < old:
                os.unlink(entry.path)
        except OSError:
            continue
