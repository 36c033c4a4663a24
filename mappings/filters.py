"""Which canonical entities a rule covers: its filter, the default cohort, and opt-outs.

A person's ``roles`` are read in the rule's cohorts only (see :class:`sync.model.Person`).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from mappings.paths import Embargoed, Lookup, holder, read
from mappings.schema import FilterValue, Rule
from sync.model import Entity, Person


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _match(actual: Any, wanted: FilterValue) -> bool:
    if isinstance(actual, set | list | frozenset | tuple):
        have = {str(_plain(item)) for item in actual}
        return bool(have & set(wanted)) if isinstance(wanted, list) else str(wanted) in have
    actual = _plain(actual)
    if isinstance(wanted, list):
        return str(actual) in wanted
    if isinstance(wanted, bool) or isinstance(actual, bool):
        return actual is wanted or str(actual).lower() == str(wanted).lower()
    return actual == wanted or str(actual) == str(wanted)


def matches(rule: Rule, entity: Entity, lookup: Lookup, default_cohort: str | None) -> bool:
    """Whether ``rule`` covers ``entity`` (filter, cohort, and the person's own opt-outs)."""
    if entity.kind != rule.entity:
        return False
    cohort = rule.filter.get("cohort", default_cohort)
    cohorts: set[str] | None = None
    if cohort is not None:
        cohorts = set(cohort) if isinstance(cohort, list) else {str(cohort)}
    in_cohort = cohorts is None or entity.cohort_field is None or cohorts & entity.cohort_uids()
    if not in_cohort:
        return False
    for path, wanted in rule.filter.items():
        if path == "cohort":
            continue
        try:
            actual = read(entity, path, lookup)
            if cohorts is not None and path.rsplit(".", 1)[-1] == "roles":
                # Roles belong to a cohort: a mentee of cohort 10 is no mentee of cohort 11.
                person = holder(entity, path, lookup)
                if isinstance(person, Person):
                    actual = person.roles_in(cohorts)
        except Embargoed:
            return False
        if not _match(actual, wanted):
            return False
    return not (isinstance(entity, Person) and opted_out(rule, entity))


def opted_out(rule: Rule, person: Person) -> bool:
    """Whether the person left this rule's collection on their own."""
    from mappings.schema import collection_name

    return collection_name(rule) in person.opt_outs
