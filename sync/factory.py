"""The one place an :class:`~sync.engine.Engine` is built, for the CLI and for tests alike.

An engine's collaborators are explicit: the store, the mapping, the connected targets, the
pass options, the domain consequences and checks (a selected application makes a mentee; a
tandem's partners are never colleagues), the uid generator for entities made from platform
records and the clock the embargo is judged by. ``connector plan``, ``sync`` and ``daemon``
build their engines here (through :func:`sync.runner.prepare`), and so do the tests, so the
engine under test is the one that ships.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from connector.base import Target
from mappings.schema import MappingFile
from sync import integrity
from sync.apply import Check, Consequences, new_uid
from sync.bodies import attach as attach_bodies
from sync.catalog import Catalog
from sync.engine import Engine, Options
from sync.model import BERLIN, Entity, Person, Tandem
from sync.store import Store

#: Makes the uid of an entity created from a platform record, given its kind.
UidMaker = Callable[[str], str]
#: The current time (the embargo's "today" is its date in Berlin).
Clock = Callable[[], datetime]


def domain_consequences(entity: Entity, catalog: Catalog) -> list[Entity]:
    """What else changes because ``entity`` changed (see :func:`sync.integrity.consequences`)."""
    return integrity.consequences(entity, catalog)


def check_domain(entity: Entity, catalog: Catalog) -> list[str]:
    """Problems with ``entity`` and with the tandems that would change meaning with it."""
    overlay = integrity.Overlay(catalog)
    overlay.put(entity)
    found = integrity.check(entity, overlay)
    if isinstance(entity, Person):
        for tandem in catalog.all("tandem"):
            if isinstance(tandem, Tandem) and entity.uid in (tandem.mentee, tandem.mentor):
                found += integrity.check(tandem, overlay)
    return [f"{p.field}: {p.message}" for p in found]


def berlin_now() -> datetime:
    """The wall clock in Berlin."""
    return datetime.now(BERLIN)


def build_engine(
    store: Store,
    mapping: MappingFile,
    targets: dict[str, Target],
    options: Options | None = None,
    *,
    consequences: Consequences | None = domain_consequences,
    check: Check | None = check_domain,
    uids: UidMaker = new_uid,
    clock: Clock = berlin_now,
) -> Engine:
    """The engine ``connector sync`` runs: domain consequences and checks wired in.

    Tests pass their own ``uids`` (deterministic) and ``clock``; leaving ``consequences`` and
    ``check`` at their defaults keeps the engine the shipped one.
    """
    attach_bodies(store, targets)
    return Engine(
        store,
        mapping,
        targets,
        options or Options(),
        consequences=consequences,
        check=check,
        uids=uids,
        clock=clock,
    )
