"""The ``connector`` console script: answers ``--help`` from a cache, runs :mod:`cli` otherwise.

Importing :mod:`cli` (typer, rich and the command modules) costs several hundred milliseconds,
more than a person waits for a help page. The help a command prints depends only on the code,
the installed packages, the language, the terminal and the ``CONNECTOR_*`` variables; so the
first ``connector [COMMAND ...] --help`` (or a bare ``connector``) runs :mod:`cli` as usual and
records what it printed and its exit code, and later identical calls print the record without
importing anything heavy. The record's name is a hash of all those inputs: editing a source file
or the German catalog, upgrading a package, changing ``LANG`` or resizing the terminal is a
cache miss, never stale help.

The cache lives in ``$XDG_CACHE_HOME/cohort-connector/help`` (``~/.cache/...``);
``CONNECTOR_HELP_CACHE=off`` disables it. A cache that cannot be written is skipped silently:
the help is then printed the slow way.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path  # already imported by the interpreter's start-up

TYPE_CHECKING = False  # typing costs as much to import as the rest of this module
if TYPE_CHECKING:
    from hashlib import sha256
    from typing import IO, Any
else:
    try:  # the built-in module: hashlib loads OpenSSL first, a few ms of a fast path
        from _sha256 import sha256
    except ImportError:  # other Python builds
        from hashlib import sha256

#: The packages whose code makes the help (cli.py sits next to them).
_ROOT = Path(__file__).resolve().parent.parent
_SOURCES = ("connector", "sync", "mappings")
#: Environment variables that change what typer and rich print.
_ENVIRONMENT = (
    "LANGUAGE",
    "LC_ALL",
    "LC_MESSAGES",
    "LANG",
    "COLUMNS",
    "LINES",
    "TERM",
    "COLORTERM",
    "NO_COLOR",
    "FORCE_COLOR",
    "TTY_COMPATIBLE",
    "TTY_INTERACTIVE",
    "TERMINAL_WIDTH",
)
_HELP = ("--help",)


def cacheable(args: list[str]) -> bool:
    """Whether ``args`` only asks for help: nothing, or command words followed by ``--help``."""
    if not args:
        return True
    *words, last = args
    return last in _HELP and all(_is_word(word) for word in words)


def _is_word(word: str) -> bool:
    return word[:1].isalpha() and word.isascii() and word.replace("-", "").isalnum()


def _terminal() -> str:
    parts = []
    for stream in (sys.stdout, sys.stderr):
        try:
            tty = stream.isatty()
            size = os.get_terminal_size(stream.fileno()) if tty else None
        except (AttributeError, OSError, ValueError):
            tty, size = False, None
        parts.append(f"{tty}:{size.columns if size else ''}")
    return ",".join(parts)


def stamp(path: str) -> str:
    """A file's path, size and modification time (``path:-`` if it is missing)."""
    try:
        found = os.stat(path)
    except OSError:
        return f"{path}:-"
    return f"{path}:{found.st_size}:{found.st_mtime_ns}"


def _code() -> bytes:
    """A digest of every source file and catalog the help is made of (path, size and
    modification time, as Python's own bytecode cache checks them) and of what is installed."""
    digest = sha256(sys.version.encode())
    folders = [str(_ROOT / package) for package in _SOURCES]
    stamps = [stamp(os.path.join(_ROOT, "cli.py"))]
    while folders:
        try:
            entries = list(os.scandir(folders.pop()))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir():
                if entry.name != "__pycache__":
                    folders.append(entry.path)
            elif entry.name.endswith((".py", ".mo")):
                stamps.append(stamp(entry.path))
    digest.update("\0".join(sorted(stamps)).encode())
    # The installed distributions, versions included (``typer-0.x.dist-info``).
    for folder in sys.path:
        if folder.endswith("site-packages"):
            with contextlib.suppress(OSError):
                digest.update("\0".join(sorted(os.listdir(folder))).encode())
    return digest.digest()


def key(args: list[str]) -> str:
    """The cache key of a help call with ``args`` in this environment."""
    digest = sha256(_code())
    digest.update("\0".join(args).encode())
    digest.update(_terminal().encode())
    names = sorted(n for n in os.environ if n.startswith(("CONNECTOR_", "TYPER_", "_TYPER")))
    for name in (*_ENVIRONMENT, *names):
        digest.update(f"\0{name}={os.environ.get(name, '')}".encode())
    return digest.hexdigest()[:32]


def cache_root() -> Path:
    """The connector's cache folder: ``$XDG_CACHE_HOME/cohort-connector`` (``~/.cache/...``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cohort-connector"


def cache_dir() -> Path:
    """Where recorded help pages are kept."""
    return cache_root() / "help"


class _Recorder:
    """A stream that writes through to ``stream`` and keeps a copy (so the terminal, colours
    and width that typer and rich see are the real ones)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        written = self._stream.write(text)  # first: click probes with write(b"")
        self.parts.append(text)
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _replay(path: Path) -> int | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    header, _, rest = data.partition(b"\n")
    if not header.startswith(b"connector-help-1 "):
        return None
    try:
        code, out_size = (int(x) for x in header.split()[1:3])
    except ValueError:
        return None
    out, err = rest[:out_size], rest[out_size:]
    sys.stdout.buffer.write(out)
    sys.stdout.flush()
    sys.stderr.buffer.write(err)
    sys.stderr.flush()
    return code


def _record(path: Path, code: int, out: str, err: str) -> None:
    body = out.encode(), err.encode()
    header = f"connector-help-1 {code} {len(body[0])}\n".encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        partial.write_bytes(header + body[0] + body[1])
        os.replace(partial, path)
    except OSError:
        pass


def _run_cli() -> None:
    import gc

    # Importing the CLI creates some hundred thousand objects that live until the process
    # ends. Collecting while they are made traverses them again and again, and every later
    # full collection (the interpreter's last ones at exit among them) would traverse them
    # once more: a fifth of a quiet pass's time. So no collection while importing, and the
    # imported objects are moved out of the collector's sight (``gc.freeze``); whatever the
    # command itself allocates is collected as usual.
    gc.disable()
    # pydantic looks for plugins in every installed distribution's entry points when it
    # builds its first model (~5 ms of each command); the connector uses none. Whoever wants
    # one sets the variable (to "" for all).
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        from cli import main as cli_main
    finally:
        gc.enable()
    gc.freeze()
    cli_main()


def main() -> None:
    """Entry point of the ``connector`` command."""
    args = sys.argv[1:]
    if os.environ.get("CONNECTOR_HELP_CACHE", "") == "off" or not cacheable(args):
        if "sync" in args:
            from sync import opening

            opening.start(args)  # a pass's first requests go out while the CLI loads
        _run_cli()
        return
    path = cache_dir() / key(args)
    recorded = _replay(path)
    if recorded is not None:
        sys.exit(recorded)
    out, err = _Recorder(sys.stdout), _Recorder(sys.stderr)
    sys.stdout, sys.stderr = out, err
    code: int | None = None
    try:
        _run_cli()
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        raise
    finally:
        sys.stdout, sys.stderr = out._stream, err._stream
        if code in (0, 2):  # help, or typer's usage error: both depend on the inputs only
            _record(path, code, "".join(out.parts), "".join(err.parts))
