"""Who takes part in a cohort in which role: the one place that reads ``Person.roles``.

Costs, matching and erasure all ask "the mentees of cohort X"; answering it here keeps them
independent of how roles are stored on a person.
"""

from __future__ import annotations

from sync.integrity import Lookup
from sync.model import Person, Role


def has_role(person: Person, role: Role, cohort: str) -> bool:
    """Whether ``person`` has ``role`` in ``cohort``."""
    return role in person.roles and cohort in person.cohorts


def members(lookup: Lookup, cohort: str, role: Role) -> list[Person]:
    """The people with ``role`` in ``cohort``, ordered by uid."""
    return [
        p for p in lookup.entities("person") if isinstance(p, Person) and has_role(p, role, cohort)
    ]
