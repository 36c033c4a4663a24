"""Costs of a cohort per organisation ("Finanzierung nach Proporz").

Two rules, chosen by the cohort: a fee per head (Mentoring im Münsterland: each organisation
pays 500 EUR for each of its own mentees), or a total cost split in proportion to each
organisation's participants (the Nachwuchsförderkreis). Amounts are :class:`~decimal.Decimal`
throughout. A split is rounded to cents by the largest-remainder method, so the shares add up
to the total exactly; the cents left over go to the largest remainders, and equal remainders
are served in the alphabetical order of the organisations' short names — never by size, since
every organisation stands on equal footing.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from connector.errors import InputError
from sync.i18n import _
from sync.integrity import Lookup
from sync.model import Cohort, Organisation, Programme, ProgrammeKind, Role
from sync.roster import members

CENT = Decimal("0.01")
FEE = "fee_per_head"
SPLIT = "proportional_split"


def sort_key(name: str) -> str:
    """Alphabetical order as in a German index (DIN 5007-1): umlauts as their base letter."""
    decomposed = unicodedata.normalize("NFKD", name.replace("ß", "ss"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def split_by_largest_remainder(total: Decimal, heads: dict[str, int]) -> dict[str, Decimal]:
    """``total`` split in proportion to ``heads`` (keyed by short name), in whole cents.

    The shares add up to ``total`` exactly. Keys with no heads get 0.00. Raises ValueError if
    ``total`` has fractions of a cent, is negative, or there are no heads at all.
    """
    if total < 0 or total != total.quantize(CENT):
        raise ValueError(
            _("the total must be a non-negative amount in cents, got {total}").format(total=total)
        )
    people = sum(heads.values())
    if people <= 0:
        raise ValueError(_("there is nobody to split the cost between"))
    cents = int(total / CENT)
    exact = {key: Decimal(cents) * count / people for key, count in heads.items()}
    floors = {key: int(value.to_integral_value(ROUND_DOWN)) for key, value in exact.items()}
    left = cents - sum(floors.values())
    order = sorted(heads, key=lambda key: (-(exact[key] - floors[key]), sort_key(key)))
    for key in order[:left]:
        floors[key] += 1
    return {key: (Decimal(floors[key]) * CENT).quantize(CENT) for key in heads}


@dataclass(frozen=True)
class CostLine:
    """What one organisation pays."""

    short_name: str
    name: str
    participants: int
    fee: Decimal | None
    amount: Decimal


@dataclass(frozen=True)
class CostReport:
    """The costs of one cohort: one line per organisation and the total."""

    cohort: str
    title: str
    rule: str
    role: str
    fee: Decimal | None
    total_cost: Decimal | None
    lines: list[CostLine]
    participants: int
    total: Decimal


def _counted_role(lookup: Lookup, cohort: Cohort) -> Role:
    programme = lookup.get(cohort.programme)
    if isinstance(programme, Programme) and programme.programme_kind is ProgrammeKind.QUALIFICATION:
        return Role.PARTICIPANT
    return Role.MENTEE


def cohort_costs(lookup: Lookup, cohort_uid: str, total_cost: Decimal | None = None) -> CostReport:
    """The cost report of ``cohort_uid``; ``total_cost`` overrides the cohort's own total."""
    cohort = lookup.get(cohort_uid)
    if not isinstance(cohort, Cohort):
        raise InputError(
            _("there is no cohort {cohort!r} (see `connector status`)").format(cohort=cohort_uid)
        )
    role = _counted_role(lookup, cohort)
    orgs = [o for o in map(lookup.get, cohort.organisations) if isinstance(o, Organisation)]
    heads = {o.short_name: 0 for o in orgs}
    by_uid = {o.uid: o.short_name for o in orgs}
    outside = []
    for person in members(lookup, cohort.uid, role):
        if person.organisation in by_uid:
            heads[by_uid[person.organisation]] += 1
        else:
            outside.append(person.uid)
    if outside:
        if role is Role.PARTICIPANT:
            message = _(
                "{cohort}: {count} participant(s) belong to no organisation of the cohort; "
                "their costs cannot be assigned"
            )
        else:
            message = _(
                "{cohort}: {count} mentee(s) belong to no organisation of the cohort; "
                "their costs cannot be assigned"
            )
        raise InputError(
            message.format(cohort=cohort.uid, count=len(outside)),
            problems=[_("person {uid}").format(uid=uid) for uid in outside],
        )
    total_cost = total_cost if total_cost is not None else cohort.total_cost
    names = {o.short_name: o.name for o in orgs}
    people = sum(heads.values())
    if total_cost is not None:
        try:
            shares = split_by_largest_remainder(total_cost, heads)
        except ValueError as exc:
            raise InputError(
                _("{cohort}: cannot split {total} EUR: {reason}").format(
                    cohort=cohort.uid, total=total_cost, reason=exc
                )
            ) from None
        rule, fee = SPLIT, None
    else:
        fee = cohort.fee_per_mentee
        shares = {key: (fee * count).quantize(CENT) for key, count in heads.items()}
        rule = FEE
    lines = [
        CostLine(key, names[key], heads[key], fee, shares[key])
        for key in sorted(heads, key=sort_key)
    ]
    total = sum((line.amount for line in lines), Decimal("0.00")).quantize(CENT)
    return CostReport(
        cohort.uid, cohort.title, rule, str(role), fee, total_cost, lines, people, total
    )
