"""The tool's log: text for a person at a terminal, one JSON object per line for a journal.

Events (a pass, a rule, an item changed or failed) carry their figures as fields, so
``--log-format json`` gives machine-readable lines. Log records name records by uid, rules by
their store name and fields by name; never people's names, addresses or field values.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

FORMATS = ("text", "json")
TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"


_ADDRESS = re.compile(r"[^\s/?&=:'\"<>(),;]+(@|%40)[^\s/?&=:'\"<>(),;]+")


def scrub(text: str) -> str:
    """``text`` with every e-mail address replaced (a platform's message may quote one)."""
    return _ADDRESS.sub("<address>", text)


#: Events log below this logger (``connector.events.sync.engine`` ...): the text log leaves
#: them out unless --verbose (the summary on stdout says the same), the JSON log has them all.
EVENTS = "connector.events"


def event(logger: logging.Logger, level: int, name: str, **fields: Any) -> None:
    """Log the event ``name`` of ``logger``'s module with ``fields`` (JSON-able values)."""
    events = logging.getLogger(f"{EVENTS}.{logger.name}")
    if not events.isEnabledFor(level):
        return
    shown = " ".join(f"{k}={v}" for k, v in fields.items() if v not in (None, [], ""))
    events.log(level, "%s %s", name, shown, extra={"event": name, "fields": fields})


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, then the event's fields or message."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name.removeprefix(EVENTS + "."),
        }
        name = getattr(record, "event", None)
        if name is not None:
            data["event"] = name
            data.update(getattr(record, "fields", {}))
        else:
            data["message"] = record.getMessage()
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def configure(log_format: str, *, verbose: bool) -> None:
    """Set up the root logger for ``log_format`` ("text" or "json").

    Text logs warnings only (details with ``verbose``); JSON is meant for a journal and logs
    the pass, rule and item events too.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "connector", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler.connector = True  # type: ignore[attr-defined]
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
        level = events = logging.DEBUG if verbose else logging.INFO
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
        level = logging.DEBUG if verbose else logging.WARNING
        events = logging.DEBUG if verbose else logging.CRITICAL + 1
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger(EVENTS).setLevel(events)
