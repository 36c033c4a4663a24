"""The tool's own configuration file, ``connector.toml``.

::

    store = "cohort.db"              # relative to this file
    mappings = ["mapping.toml"]      # relative to this file

    [sync]
    interval = 300                   # seconds between passes of `connector sync --watch`
    max_delete_share = 0.2           # guard: stop a collection losing more than this share...
    min_delete_count = 5             # ...of its linked records, and at least this many
    max_backoff = 3600               # longest wait for an unavailable target (Retry-After too)
    conflict_warn_hours = 72         # `status --check`: warn when a conflict waits longer
    stale_intervals = 3              # `status --check`: critical after this many missed passes

Every key is optional. Where the file is: ``--config PATH`` (env ``CONNECTOR_CONFIG``), else
``./connector.toml`` if present, else none (defaults). ``--store PATH`` (env
``CONNECTOR_STORE``) overrides the store; without any, the store is ``./cohort.db``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from connector.errors import ConfigError
from mappings.lines import MAX_NESTING, LineIndex, bracket_overflow, deepest_key
from sync.i18n import _
from sync.model import describe_validation_error

CONFIG_NAME = "connector.toml"
DEFAULT_STORE = "cohort.db"


class SyncSettings(BaseModel):
    """The ``[sync]`` table: the daemon's pace and its deletion guard."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    interval: int = Field(default=300, ge=1, description="seconds between passes")
    #: The longest a target rests after failing (doubling from ``interval``), also when its
    #: server asks for more with ``Retry-After``.
    max_backoff: int = Field(default=3600, ge=1, description="longest wait for a target")
    #: `connector status --check`: warn when a conflict waits longer than this many hours.
    conflict_warn_hours: float = Field(default=72, gt=0)
    #: `connector status --check`: critical when no pass ran for this many intervals.
    stale_intervals: int = Field(default=3, ge=1)
    max_delete_share: float = Field(default=0.2, ge=0, le=1)
    min_delete_count: int = Field(default=5, ge=0)


class _File(BaseModel):
    """What a ``connector.toml`` may contain (paths as written, not yet resolved)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    store: str = DEFAULT_STORE
    mappings: list[str] = Field(default_factory=list)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    timezone: str = "Europe/Berlin"


class Config(BaseModel):
    """The resolved configuration: absolute-or-cwd-relative paths and sync settings."""

    model_config = ConfigDict(frozen=True)

    path: Path | None = Field(default=None, description="the config file, if one was read")
    store: Path = Path(DEFAULT_STORE)
    mappings: list[Path] = Field(default_factory=list)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    timezone: str = Field(default="Europe/Berlin", description="zone times are shown in")


def _nesting(path: Path, text: str, data: object | None) -> None:
    """Refuse arrays or tables nested absurdly deep (they would overflow the parser)."""
    if data is None:
        line = bracket_overflow(text)
    else:
        deep = deepest_key(data)
        line = LineIndex(text).line(deep) if deep is not None else None
    if line is not None:
        raise ConfigError(
            _(
                "{path}:{line}: nested more than {levels} levels deep; "
                "connector.toml needs only a table or two"
            ).format(path=path, line=line, levels=MAX_NESTING)
        )


def _parse(path: Path) -> _File:
    try:
        text = path.read_text(encoding="utf-8")
        _nesting(path, text, None)
        data = tomllib.loads(text)
        _nesting(path, text, data)
    except FileNotFoundError:
        raise ConfigError(_("{path}: no such config file").format(path=path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            _("{path}: cannot read the config file: {reason}").format(path=path, reason=exc)
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            _("{path}: not valid TOML: {reason}").format(path=path, reason=exc)
        ) from None
    try:
        return _File.model_validate(data)
    except ValidationError as exc:
        problems = [f"{path}: {key}: {msg}" for key, msg in describe_validation_error(exc)]
        raise ConfigError(_("{path}: invalid configuration").format(path=path), problems) from None


def load_config(path: str | Path) -> Config:
    """Read ``path``; store and mapping paths are taken relative to its folder."""
    path = Path(path)
    raw = _parse(path)
    here = path.parent
    return Config(
        path=path,
        store=here / raw.store,
        mappings=[here / m for m in raw.mappings],
        sync=raw.sync,
        timezone=raw.timezone,
    )


def resolve_config(
    config: str | Path | None = None, store: str | Path | None = None, cwd: Path | None = None
) -> Config:
    """The configuration the CLI runs with (options and env already merged by the caller).

    ``config`` is an explicit config file (must exist); otherwise ``connector.toml`` in
    ``cwd`` is read if present. ``store`` overrides the file's store.
    """
    cwd = cwd or Path.cwd()
    if config:
        resolved = load_config(config)
    elif (cwd / CONFIG_NAME).is_file():
        resolved = load_config(cwd / CONFIG_NAME)
    else:
        resolved = Config(store=cwd / DEFAULT_STORE)
    if store:
        resolved = resolved.model_copy(update={"store": Path(store)})
    return resolved


def render_config(mappings: list[str]) -> str:
    """The text of a fresh ``connector.toml`` (what ``connector init`` writes)."""
    listed = ", ".join(f'"{m}"' for m in mappings)
    settings = SyncSettings()
    # The comments are for the admin who opens the file: in the user's language.
    return (
        "# " + _("cohort-connector configuration; paths are relative to this file.") + "\n"
        f'store = "{DEFAULT_STORE}"\n'
        f"mappings = [{listed}]\n"
        "\n"
        "[sync]\n"
        f"interval = {settings.interval}  # "
        + _("seconds between passes of `connector sync --watch`")
        + f"\nmax_delete_share = {settings.max_delete_share}  # "
        + _("guard: stop a collection losing more than this share")
        + f"\nmin_delete_count = {settings.min_delete_count}  # "
        + _("...and at least this many linked records in one pass")
        + "\n"
    )
