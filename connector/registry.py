"""Which platforms exist: each adapter's :class:`~connector.platform.Platform`, by kind.

The built-in declarations live next to their adapter classes and are imported on first use.
Plugins add theirs with :func:`register_platform`, through the ``cohort_connector.platforms``
entry point group, or by naming ``module:attribute`` (comma-separated) in the environment
variable ``CONNECTOR_PLATFORMS``; the attribute is a ``Platform`` or a list of them.
Code that derives something from the declarations (the mapping schema) subscribes with
:func:`on_change`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

from connector.base import RemoteField, Target
from connector.platform import Platform

#: Where the built-in declarations are (each module's ``PLATFORM``), in the order mapping
#: messages list their tables.
BUILT_IN = (
    "connector.deck_options",
    "connector.calendar_options",
    "connector.mailman_options",
    "connector.memory",
)
ENTRY_POINTS = "cohort_connector.platforms"
ENVIRONMENT = "CONNECTOR_PLATFORMS"

_platforms: dict[str, Platform] = {}
_listeners: list[Callable[[], None]] = []
_loaded = False


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in BUILT_IN:
        _add(import_module(module).PLATFORM)
    for point in entry_points(group=ENTRY_POINTS):
        _add(point.load())
    for spec in filter(None, os.environ.get(ENVIRONMENT, "").split(",")):
        module, _, name = spec.strip().partition(":")
        _add(getattr(import_module(module), name or "PLATFORM"))


def _add(declared: Platform | list[Platform] | tuple[Platform, ...]) -> None:
    for platform in declared if isinstance(declared, list | tuple) else [declared]:
        if not isinstance(platform, Platform):
            raise TypeError(f"not a Platform declaration: {platform!r}")
        _platforms[platform.kind] = platform


def register_platform(platform: Platform) -> None:
    """Add (or replace) the declaration of ``platform.kind``; mapping files may use it now."""
    _load()
    _add(platform)
    for listener in list(_listeners):
        listener()


def unregister_platform(kind: str) -> None:
    """Forget a registered kind again (tests)."""
    _load()
    _platforms.pop(kind, None)
    for listener in list(_listeners):
        listener()


def on_change(listener: Callable[[], None]) -> None:
    """Call ``listener`` whenever a platform is registered or removed."""
    _listeners.append(listener)


def platforms() -> Mapping[str, Platform]:
    """Every declared platform, by kind."""
    _load()
    return _platforms


def platform(kind: str) -> Platform:
    """The declaration of ``kind``; KeyError for an unknown kind."""
    _load()
    return _platforms[kind]


def by_table(table: str) -> Platform | None:
    """The platform whose collections are described by ``[rules.TABLE]``, if any."""
    return next((p for p in platforms().values() if p.table == table), None)


def target_class(kind: str) -> type[Target]:
    """The adapter class for ``kind``; KeyError for an unknown kind."""
    return platform(kind).target_class()


def fields_of(kind: str) -> Mapping[str, RemoteField]:
    """The remote fields offered by targets of ``kind``."""
    return target_class(kind).FIELDS


def make_target(kind: str, url: str, user: str, password: str, **options: Any) -> Target:
    """Construct a connected adapter of ``kind``."""
    return target_class(kind)(url, user, password, **options)  # type: ignore[call-arg]
