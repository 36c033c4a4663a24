"""Which adapter class serves which target kind, and the fields each one offers."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import Any

from connector.base import RemoteField, Target

TARGET_CLASSES: dict[str, str] = {
    "deck": "connector.deck:DeckTarget",
    "caldav": "connector.calendars:CalendarTarget",
    "mailman": "connector.mailman:MailmanTarget",
    "memory": "connector.memory:MemoryTarget",
}


def target_class(kind: str) -> type[Target]:
    """The adapter class for ``kind``; KeyError for an unknown kind."""
    module, _, name = TARGET_CLASSES[kind].partition(":")
    cls: type[Target] = getattr(import_module(module), name)
    return cls


def fields_of(kind: str) -> Mapping[str, RemoteField]:
    """The remote fields offered by targets of ``kind``."""
    return target_class(kind).FIELDS


def make_target(kind: str, url: str, user: str, password: str, **options: Any) -> Target:
    """Construct a connected adapter of ``kind``."""
    return target_class(kind)(url, user, password, **options)  # type: ignore[call-arg]
