"""Retention and the mass-deletion guard for ``connector forget --due``: who is past their
programme's retention period, and which collections an erasure of them empties too far.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sync.engine import Engine
from sync.erasure_plan import ErasurePlan
from sync.erasure_steps import remote_records
from sync.integrity import Lookup
from sync.model import Application, ApplicationStatus, Cohort, Person, Programme
from sync.store import Store

_NOT_SELECTED = {ApplicationStatus.DECLINED, ApplicationStatus.WITHDRAWN}


@dataclass(frozen=True)
class Due:
    """A person whose data the programme's retention period says must go."""

    person: str
    name: str
    email: str
    since: date
    programme: str


def due(lookup: Lookup, today: date) -> list[Due]:
    """Applicants not selected whose applications are past their programme's retention.

    Only people with no role at all qualify (a mentor or council member who also applied
    stays); the period counts from the application's last change (normally the decision).
    """
    programmes = {p.uid: p for p in lookup.entities("programme") if isinstance(p, Programme)}
    cohorts = {c.uid: c for c in lookup.entities("cohort") if isinstance(c, Cohort)}
    by_person: dict[str, list[Application]] = {}
    for app in lookup.entities("application"):
        if isinstance(app, Application):
            by_person.setdefault(app.applicant, []).append(app)
    found = []
    for uid, apps in sorted(by_person.items()):
        person = lookup.get(uid)
        if not isinstance(person, Person) or person.roles:
            continue
        limits = []
        for app in apps:
            cohort = cohorts.get(app.cohort)
            programme = programmes.get(cohort.programme) if cohort else None
            if app.status not in _NOT_SELECTED or programme is None:
                break
            if programme.retention_days is None:
                break
            kept_until = app.updated_at.date() + timedelta(days=programme.retention_days)
            limits.append((kept_until, programme.uid))
        else:
            latest, programme_uid = max(limits)
            if latest < today:
                found.append(Due(uid, person.name, person.email, latest, programme_uid))
    return found


@dataclass(frozen=True)
class MassDeletion:
    """A collection that would lose more linked records than the guard lets a pass delete."""

    rule: str
    lost: int
    linked: int

    def __str__(self) -> str:
        return f"{self.rule}: {self.lost} of {self.linked} linked records"


def past_the_guard(
    store: Store, engines: list[Engine], plans: list[ErasurePlan], share: float, minimum: int
) -> list[MassDeletion]:
    """Collections where erasing ``plans`` deletes as many records as the guard stops."""
    lost: dict[str, int] = {}
    for plan in plans:
        for engine, rule, _uid, _remote in remote_records(store, engines, plan):
            lost[engine.key(rule)] = lost.get(engine.key(rule), 0) + 1
    found = []
    for key, count in sorted(lost.items()):
        linked = len(store.links(key))
        if count >= minimum and linked and count / linked > share:
            found.append(MassDeletion(key, count, linked))
    return found
