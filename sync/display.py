"""Values as a person reads them: times in local time, dates without Python's ``repr``.

Everything the CLI prints for people goes through :func:`local_time` or :func:`shown_value`;
``--json`` keeps ISO 8601 in UTC for scripts. The zone is ``timezone`` of ``connector.toml``
(default Europe/Berlin), set once per run with :func:`set_zone`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connector.errors import ConfigError
from sync.i18n import _

DEFAULT_ZONE = "Europe/Berlin"
_zone = ZoneInfo(DEFAULT_ZONE)
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


def set_zone(name: str) -> None:
    """Show times in zone ``name`` (an IANA name such as Europe/Berlin)."""
    global _zone
    try:
        _zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            _("timezone: {name!r} is not a known time zone (e.g. Europe/Berlin)").format(name=name)
        ) from None


def zone() -> ZoneInfo:
    """The zone times are shown in."""
    return _zone


def local_time(value: datetime | date | str | None) -> str:
    """``value`` in local time: ``2026-10-31 00:00`` (German: ``31.10.2026 00:00``).

    Dates stay dates; ISO strings are parsed first (``Z`` and offsets honoured; without an
    offset a time is taken as UTC, as the store writes it).
    """
    if value is None:
        return ""
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            parsed = datetime.fromisoformat(text) if len(text) > 10 else date.fromisoformat(text)
        except ValueError:
            return value
        return local_time(parsed)
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(_zone).strftime(_("%Y-%m-%d %H:%M"))
    return value.strftime(_("%Y-%m-%d"))


def _plain(value: Any) -> str:
    if isinstance(value, datetime | date) or (isinstance(value, str) and _ISO.match(value)):
        return local_time(value)
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return "[" + ", ".join(_plain(item) for item in items) + "]"
    return repr(value)


def shown_value(value: Any, width: int = 60) -> str:
    """``value`` for a line of text, at most ``width`` characters (``…`` when cut)."""
    text = _plain(value)
    return text if len(text) <= width else text[: width - 1] + "…"
