"""Which entities a rule may carry to its collection, today: filter plus the tandem embargo.

Until a cohort's reveal date, a tandem and anything naming both partners (a tandem meeting,
or any record whose rendered fields name both by full name or e-mail address) reach
council-audience collections only. This is enforced here, whatever the mapping's filters
and templates say.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from mappings.filters import matches
from mappings.paths import Lookup
from mappings.schema import Rule
from sync.model import Audience, Cohort, Entity, Event, Person, Tandem

#: A set-valued field (attendees, labels) with this many elements or more is a group list
#: (everyone of an audience), which reveals nothing; a shorter one naming both partners does.
GROUP_SIZE = 4

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


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


def fold(text: str) -> str:
    """``text`` for comparing names: case-folded, umlauts spelt out (ü → ue, ß → ss), other
    accents dropped, runs of spaces, dashes and underscores made one space."""
    folded = text.casefold().translate(_UMLAUTS)
    plain = "".join(
        c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c)
    )
    return re.sub(r"[\s\-_]+", " ", plain).strip()


@dataclass(frozen=True)
class Pair:
    """The two partners of an unrevealed tandem, as the folded names and addresses that
    identify each."""

    tandem: str
    mentee: re.Pattern[str]
    mentor: re.Pattern[str]

    def named_in(self, text: str) -> bool:
        """Whether the folded ``text`` names both partners."""
        return bool(self.mentee.search(text) and self.mentor.search(text))


def _needles(person: Entity | None) -> re.Pattern[str] | None:
    """One partner's full name (either order) or address, as whole words of folded text."""
    if not isinstance(person, Person):
        return None
    names = {
        fold(f"{person.given_name} {person.family_name}"),
        fold(f"{person.family_name}, {person.given_name}"),
        fold(person.email),
    }
    alternatives = "|".join(re.escape(n) for n in sorted(names) if n)
    return re.compile(rf"(?<![\w.@])(?:{alternatives})(?![\w@])")


def secret_pairs(lookup: Lookup, today: date) -> list[Pair]:
    """The tandems whose cohort has not revealed them on ``today``."""
    pairs = []
    for tandem in lookup.all("tandem"):
        if not isinstance(tandem, Tandem):
            continue
        cohort = lookup.get(tandem.cohort)
        if isinstance(cohort, Cohort) and cohort.revealed(today):
            continue
        mentee, mentor = _needles(lookup.get(tandem.mentee)), _needles(lookup.get(tandem.mentor))
        if mentee is not None and mentor is not None:
            pairs.append(Pair(tandem.uid, mentee, mentor))
    return pairs


def names_a_pair(values: Iterable[Any], pairs: list[Pair]) -> str | None:
    """The tandem whose partners ``values`` (rendered remote field values) name both, if any.

    Text is searched as a whole (all fields together); a set-valued field counts only when it
    is short (see :data:`GROUP_SIZE`).
    """
    if not pairs:
        return None
    texts = []
    for value in values:
        if isinstance(value, set | frozenset | list | tuple):
            elements = [fold(str(v)) for v in value if v is not None]
            if len(elements) < GROUP_SIZE:
                texts.append(" | ".join(elements))
        elif value is not None:
            texts.append(fold(str(value)))
    whole = " | ".join(texts)
    return next((pair.tandem for pair in pairs if pair.named_in(whole)), None)
