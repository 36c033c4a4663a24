"""Cross-entity rules that need more than one record: references exist, a tandem's partners
come from different organisations, roles fit, and what follows when an application is decided.

Every function takes a :class:`Lookup` (the :class:`~sync.store.Store`, or an :class:`Overlay`
of a pending batch over it), so a whole import file can be checked against the store plus the
file's own rows before anything is written.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

from sync.i18n import _, a_kind, kind_label, role_label, roles_label
from sync.model import (
    REFERENCES,
    Application,
    ApplicationStatus,
    Cohort,
    Entity,
    Event,
    EventKind,
    Organisation,
    Person,
    Role,
    Tandem,
    Task,
)


class Lookup(Protocol):
    """Read access to canonical entities (live ones only)."""

    def get(self, uid: str) -> Entity | None:
        """The live entity with ``uid``, or None."""
        ...

    def entities(self, kind: str) -> list[Entity]:
        """All live entities of ``kind``."""
        ...


class Problem(NamedTuple):
    """One broken rule: the field it concerns and a message a coordinator understands."""

    field: str
    message: str


class Overlay:
    """A batch of pending entities layered over a :class:`Lookup`; the batch wins.

    Reads from the base are cached, so checking thousands of rows costs one query per uid.
    """

    def __init__(self, base: Lookup) -> None:
        self.base = base
        self.pending: dict[str, Entity] = {}
        self._got: dict[str, Entity | None] = {}
        self._base_lists: dict[str, list[Entity]] = {}
        self._merged: dict[str, list[Entity]] = {}
        self._applications: dict[str, list[Application]] | None = None

    def put(self, entity: Entity) -> None:
        """Add or replace ``entity`` in the batch."""
        self.pending[entity.uid] = entity
        self._merged.pop(entity.kind, None)
        if entity.kind == "application":
            self._applications = None

    def get(self, uid: str) -> Entity | None:
        """The pending entity with ``uid``, else the base's."""
        if uid in self.pending:
            return self.pending[uid]
        if uid not in self._got:
            self._got[uid] = self.base.get(uid)
        return self._got[uid]

    def entities(self, kind: str) -> list[Entity]:
        """The base's entities of ``kind`` with pending ones replacing or added."""
        if kind not in self._merged:
            if kind not in self._base_lists:
                self._base_lists[kind] = self.base.entities(kind)
            merged = {e.uid: e for e in self._base_lists[kind]}
            merged.update((u, e) for u, e in self.pending.items() if e.kind == kind)
            self._merged[kind] = list(merged.values())
        return self._merged[kind]

    def applications_of(self, applicant: str) -> list[Application]:
        """The applications of ``applicant``, from an index built once per batch change (an
        import checks every person row against every application otherwise)."""
        if self._applications is None:
            index: dict[str, list[Application]] = {}
            for application in self.entities("application"):
                if isinstance(application, Application):
                    index.setdefault(application.applicant, []).append(application)
            self._applications = index
        return self._applications.get(applicant, [])


# -- references ---------------------------------------------------------------------------


def _reference(lookup: Lookup, field: str, uid: str, kind: str) -> Problem | None:
    target = lookup.get(uid)
    if target is None:
        return Problem(
            field, _("there is no {kind} {uid!r}").format(kind=kind_label(kind), uid=uid)
        )
    if target.kind != kind:
        return Problem(
            field,
            _("{uid!r} is {actual}, not {expected}").format(
                uid=uid, actual=a_kind(target.kind), expected=a_kind(kind)
            ),
        )
    return None


def check_references(entity: Entity, lookup: Lookup) -> list[Problem]:
    """Every single-valued reference of ``entity`` (see ``REFERENCES``) points to a live entity
    of the right kind."""
    problems = []
    for (kind, field), target_kind in REFERENCES.items():
        if kind != entity.kind:
            continue
        uid = getattr(entity, field)
        if uid is not None and (problem := _reference(lookup, field, uid, target_kind)):
            problems.append(problem)
    return problems


def _org_name(lookup: Lookup, uid: str | None) -> str:
    org = lookup.get(uid) if uid else None
    return org.name if isinstance(org, Organisation) else str(uid)


# -- rules per kind -----------------------------------------------------------------------


def _cohort_rules(cohort: Cohort, lookup: Lookup) -> list[Problem]:
    problems = []
    for uid in cohort.organisations:
        if problem := _reference(lookup, "organisations", uid, "organisation"):
            problems.append(problem)
    for uid in cohort.council:
        member = lookup.get(uid)
        if problem := _reference(lookup, "council", uid, "person"):
            problems.append(problem)
        elif isinstance(member, Person) and Role.COUNCIL not in member.roles_in({cohort.uid}):
            problems.append(
                Problem(
                    "council",
                    _("{name} is on the council but has no role council").format(name=member.name),
                )
            )
    return problems


def _person_rules(person: Person) -> list[Problem]:
    if person.council_seat and Role.COUNCIL not in person.roles:
        return [Problem("council_seat", _("a council seat (PE/GB) needs the role council"))]
    return []


def _application_rules(application: Application, lookup: Lookup) -> list[Problem]:
    applicant, cohort = lookup.get(application.applicant), lookup.get(application.cohort)
    if not (isinstance(applicant, Person) and isinstance(cohort, Cohort)):
        return []
    org = applicant.organisation
    if org and cohort.organisations and org not in cohort.organisations:
        return [
            Problem(
                "applicant",
                _("{name} belongs to {organisation}, which does not take part in {cohort}").format(
                    name=applicant.name, organisation=_org_name(lookup, org), cohort=cohort.title
                ),
            )
        ]
    return []


def _needs_role(person: Person, role: Role, field: str, cohort: str) -> Problem | None:
    held = person.roles_in({cohort})
    if role in held:
        return None
    message = (
        _("{name} is not a {role} (roles: {roles}) (is the application selected?)")
        if role is Role.MENTEE
        else _("{name} is not a {role} (roles: {roles})")
    )
    return Problem(
        field, message.format(name=person.name, role=role_label(role), roles=roles_label(held))
    )


def _tandem_rules(tandem: Tandem, lookup: Lookup) -> list[Problem]:
    mentee, mentor = lookup.get(tandem.mentee), lookup.get(tandem.mentor)
    if not (isinstance(mentee, Person) and isinstance(mentor, Person)):
        return []  # check_references reported it
    found = (
        _needs_role(mentee, Role.MENTEE, "mentee", tandem.cohort),
        _needs_role(mentor, Role.MENTOR, "mentor", tandem.cohort),
        _cross_mentoring(tandem, mentee, mentor, lookup),
    )
    return [p for p in found if p] + _second_tandem(tandem, mentee, lookup)


def _cross_mentoring(
    tandem: Tandem, mentee: Person, mentor: Person, lookup: Lookup
) -> Problem | None:
    if mentee.organisation is None or mentor.organisation is None:
        who = mentee if mentee.organisation is None else mentor
        return Problem(
            "mentor",
            _(
                "tandem {uid}: {name} has no organisation; cross-mentoring needs partners from "
                "known, different organisations"
            ).format(uid=tandem.uid, name=who.name),
        )
    if mentee.organisation == mentor.organisation:
        return Problem(
            "mentor",
            _(
                "tandem {uid}: mentee {mentee} and mentor {mentor} both belong to "
                "{organisation}; cross-mentoring needs partners from different organisations"
            ).format(
                uid=tandem.uid,
                mentee=mentee.name,
                mentor=mentor.name,
                organisation=_org_name(lookup, mentee.organisation),
            ),
        )
    return None


def _second_tandem(tandem: Tandem, mentee: Person, lookup: Lookup) -> list[Problem]:
    for other in lookup.entities("tandem"):
        if (
            isinstance(other, Tandem)
            and other.uid != tandem.uid
            and (other.cohort, other.mentee) == (tandem.cohort, tandem.mentee)
        ):
            return [
                Problem(
                    "mentee",
                    _("{name} already has tandem {uid} in this cohort").format(
                        name=mentee.name, uid=other.uid
                    ),
                )
            ]
    return []


def _event_rules(event: Event, lookup: Lookup) -> list[Problem]:
    if event.tandem is None:
        if event.event_kind is EventKind.TANDEM_MEETING:
            return [Problem("tandem", _("a tandem meeting needs its tandem"))]
        return []
    tandem = lookup.get(event.tandem)
    if isinstance(tandem, Tandem) and tandem.cohort != event.cohort:
        return [
            Problem(
                "tandem",
                _("tandem {uid} belongs to cohort {cohort}").format(
                    uid=tandem.uid, cohort=tandem.cohort
                ),
            )
        ]
    return []


def _task_rules(task: Task, lookup: Lookup) -> list[Problem]:
    assignee = lookup.get(task.assignee) if task.assignee else None
    if isinstance(assignee, Person) and not assignee.roles_in({task.cohort}) & {
        Role.COUNCIL,
        Role.STAFF,
    }:
        return [
            Problem(
                "assignee",
                _("{name} is neither on the council nor staff").format(name=assignee.name),
            )
        ]
    return []


def _kind_rules(entity: Entity, lookup: Lookup) -> list[Problem]:
    match entity:
        case Cohort():
            return _cohort_rules(entity, lookup)
        case Person():
            return _person_rules(entity)
        case Application():
            return _application_rules(entity, lookup)
        case Tandem():
            return _tandem_rules(entity, lookup)
        case Event():
            return _event_rules(entity, lookup)
        case Task():
            return _task_rules(entity, lookup)
    return []


def check(entity: Entity, lookup: Lookup) -> list[Problem]:
    """Every cross-entity rule ``entity`` breaks against ``lookup`` (empty if none)."""
    return check_references(entity, lookup) + _kind_rules(entity, lookup)


def check_partners(person: Person, lookup: Lookup) -> list[Problem]:
    """What ``person``, as they are now, breaks in the tandems they are a partner of.

    The problems name the person's own fields, so an import of people reports them on the
    cell that caused them: ``organisation`` (cross-mentoring) or ``roles``.
    """
    problems = []
    for tandem in lookup.entities("tandem"):
        if not isinstance(tandem, Tandem) or person.uid not in (tandem.mentee, tandem.mentor):
            continue
        mentee, mentor = lookup.get(tandem.mentee), lookup.get(tandem.mentor)
        if not (isinstance(mentee, Person) and isinstance(mentor, Person)):
            continue
        role = Role.MENTEE if person.uid == tandem.mentee else Role.MENTOR
        if wrong := _needs_role(person, role, "roles", tandem.cohort):
            problems.append(
                Problem(
                    wrong.field,
                    _("tandem {uid}: {problem}").format(uid=tandem.uid, problem=wrong.message),
                )
            )
        if crossed := _cross_mentoring(tandem, mentee, mentor, lookup):
            problems.append(Problem("organisation", crossed.message))
    return problems


# -- consequences -------------------------------------------------------------------------

_UNDOING = {ApplicationStatus.DECLINED, ApplicationStatus.WITHDRAWN}


def _selected(lookup: Lookup, applicant: str, but: str = "") -> list[Application]:
    if isinstance(lookup, Overlay):
        candidates: list[Entity] = list(lookup.applications_of(applicant))
    else:
        candidates = lookup.entities("application")
    return [
        a
        for a in candidates
        if isinstance(a, Application)
        and a.applicant == applicant
        and a.uid != but
        and a.status is ApplicationStatus.SELECTED
    ]


def consequences(entity: Entity, lookup: Lookup) -> list[Entity]:
    """Other entities that must change because ``entity`` is now as it is.

    A selected application makes its applicant a mentee of the cohort; a declined or
    withdrawn one takes that role away again (and the cohort, if no role is left there),
    unless another selected application of that cohort still holds it. Returns the changed
    entities (``updated_at`` set), or nothing.
    """
    if not isinstance(entity, Application):
        return []
    applicant = lookup.get(entity.applicant)
    if not isinstance(applicant, Person):
        return []
    memberships = {cohort: set(roles) for cohort, roles in applicant.memberships.items()}
    if entity.status is ApplicationStatus.SELECTED:
        memberships.setdefault(entity.cohort, set()).add(Role.MENTEE)
    elif entity.status in _UNDOING and entity.cohort in memberships:
        others = _selected(lookup, applicant.uid, but=entity.uid)
        if entity.cohort not in {a.cohort for a in others}:
            memberships[entity.cohort].discard(Role.MENTEE)
            if not memberships[entity.cohort]:
                del memberships[entity.cohort]
    if memberships == applicant.memberships:
        return []
    return [applicant.touched(memberships=memberships)]


def keep_selections(person: Person, lookup: Lookup) -> Person:
    """``person`` with the mentee role in each cohort its selected applications hold.

    An import of people that does not mention them (an office's staff list) must not undo a
    selection. Returns ``person`` itself when nothing is missing.
    """
    selected = _selected(lookup, person.uid)
    memberships = {cohort: set(roles) for cohort, roles in person.memberships.items()}
    for application in selected:
        memberships.setdefault(application.cohort, set()).add(Role.MENTEE)
    if memberships == person.memberships:
        return person
    return person.model_copy(update={"memberships": memberships})
