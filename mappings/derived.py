"""Values derived from several entities, usable in paths like fields of the entity itself.

``event.attendee_emails``: the addresses of the people an event is for — its cohort's people
whose roles match the event's audience (and its regional group, if it has one), or the two
partners of a tandem meeting. People who did not agree to programme mail are left out.

``person.match_candidates``: for a mentee not yet paired, the mentors who could be
("Name (Organisation, Funktion)"), see :mod:`sync.matching`. It is council-only
(:data:`COUNCIL_ONLY`): the mapping loader rejects it on a rule any other audience sees.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from sync.model import Audience, Entity, Event, Person, Role, Tandem


class Lookup(Protocol):
    """Read access to the canonical entities of one pass."""

    def get(self, uid: str) -> Entity | None:
        """The live entity with ``uid``."""

    def all(self, kind: str) -> list[Entity]:
        """All live entities of ``kind``."""


ROLES_OF: dict[Audience, set[Role]] = {
    Audience.COUNCIL: {Role.COUNCIL},
    Audience.MENTEES: {Role.MENTEE},
    Audience.MENTORS: {Role.MENTOR},
    Audience.PARTICIPANTS: {Role.MENTEE, Role.MENTOR, Role.PARTICIPANT, Role.TRAINER},
}


def attendee_emails(event: Entity, lookup: Lookup) -> list[str]:
    """Who an event is for, as sorted e-mail addresses."""
    assert isinstance(event, Event)
    if event.tandem is not None:
        tandem = lookup.get(event.tandem)
        uids = [tandem.mentee, tandem.mentor] if isinstance(tandem, Tandem) else []
        people = [p for p in map(lookup.get, uids) if isinstance(p, Person)]
    else:
        roles = set().union(*(ROLES_OF[a] for a in event.audience)) if event.audience else set()
        people = [
            p
            for p in lookup.all("person")
            if isinstance(p, Person)
            and p.roles_in({event.cohort}) & roles
            and (
                event.regional_group is None
                or p.regional_group == event.regional_group
                or Role.COUNCIL in p.roles_in({event.cohort})
            )
        ]
    return sorted({p.email.lower() for p in people if p.consent_lists})


class _Entities:
    """A pass's lookup seen through the store's interface (``entities``), for sync rules."""

    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup

    def get(self, uid: str) -> Entity | None:
        return self.lookup.get(uid)

    def entities(self, kind: str) -> list[Entity]:
        return self.lookup.all(kind)


def match_candidates(person: Entity, lookup: Lookup) -> list[str]:
    """The mentors an unpaired mentee could be paired with (empty for everybody else)."""
    from sync.matching import candidate_labels  # sync.matching needs the model, not mappings

    assert isinstance(person, Person)
    return candidate_labels(_Entities(lookup), person)


DERIVED: dict[tuple[str, str], Callable[[Entity, Any], Any]] = {
    ("event", "attendee_emails"): attendee_emails,
    ("person", "match_candidates"): match_candidates,
}

#: Derived values only the council may see: matching ideas name people before any pairing is
#: agreed, so they never reach a mentee- or mentor-visible collection.
COUNCIL_ONLY: frozenset[tuple[str, str]] = frozenset({("person", "match_candidates")})
