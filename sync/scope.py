"""Which entities a rule may carry to its collection, today: filter plus the tandem embargo.

Until a cohort's reveal date, a tandem and anything naming both partners (a tandem meeting)
reach council-audience collections only. This is enforced here, whatever the mapping's
filters and templates say.
"""

from __future__ import annotations

from datetime import date

from mappings.filters import matches
from mappings.paths import Lookup
from mappings.schema import Rule
from sync.model import Audience, Cohort, Entity, Event, Tandem


def bears_tandem(entity: Entity) -> bool:
    """Whether ``entity`` reveals a pairing: a tandem, or an event of one."""
    return isinstance(entity, Tandem) or (isinstance(entity, Event) and entity.tandem is not None)


def tandems_visible(audience: Audience, entity: Entity, lookup: Lookup, today: date) -> bool:
    """Whether pairings may be shown with ``entity`` to ``audience`` on ``today``."""
    if audience == Audience.COUNCIL:
        return True
    cohorts = [lookup.get(uid) for uid in entity.cohort_uids()]
    known = [c for c in cohorts if isinstance(c, Cohort)]
    # An entity outside any known cohort cannot prove its reveal date has come.
    return bool(known) and all(c.revealed(today) for c in known)


def in_scope(
    rule: Rule,
    audience: Audience,
    entity: Entity,
    lookup: Lookup,
    default_cohort: str | None,
    today: date,
) -> bool:
    """Whether ``rule`` carries ``entity`` to its collection today."""
    if not matches(rule, entity, lookup, default_cohort):
        return False
    return not bears_tandem(entity) or tandems_visible(audience, entity, lookup, today)
