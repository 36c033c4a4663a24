"""Matching support: the council matches, the tool assists.

:func:`candidates` lists the mentors a mentee could be paired with, beside the mentee's stated
goals; :func:`check_cohort` checks every tandem of a cohort. Both judge a pairing with the very
rules an import applies (:func:`sync.integrity.check`), by checking a hypothetical tandem
against the store. Nothing here writes: no tandem is ever made automatically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from connector.errors import InputError
from sync.i18n import _
from sync.integrity import Lookup, Overlay, check
from sync.model import Application, Cohort, Organisation, Person, Role, Tandem
from sync.roster import has_role, members

#: The uid of the tandem that is only imagined while checking a candidate; never stored.
_PROBE = "candidate-probe"


@dataclass(frozen=True)
class Goals:
    """What the mentee wrote in the Profilbogen."""

    position: str = ""
    department: str = ""
    leadership_role: str = ""
    goals: str = ""
    topics: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Candidate:
    """A mentor who could be paired with the mentee, and the rules a pairing would break."""

    uid: str
    name: str
    organisation: str
    position: str
    regional_group: str | None
    flags: list[str]


@dataclass(frozen=True)
class Candidates:
    """The mentors a mentee could be paired with in one cohort."""

    cohort: str
    mentee: str
    mentee_name: str
    organisation: str
    goals: Goals
    #: Problems of the mentee itself (not selected, already paired), same for every mentor.
    mentee_flags: list[str]
    candidates: list[Candidate]


def find_person(lookup: Lookup, ref: str) -> Person:
    """The person with uid or e-mail address ``ref`` (case-insensitive)."""
    found = lookup.get(ref)
    if isinstance(found, Person):
        return found
    wanted = ref.strip().lower()
    for person in lookup.entities("person"):
        if isinstance(person, Person) and person.email.lower() == wanted:
            return person
    raise InputError(_("there is no person with uid or e-mail {ref!r}").format(ref=ref))


def _short(lookup: Lookup, uid: str | None) -> str:
    org = lookup.get(uid) if uid else None
    return org.short_name if isinstance(org, Organisation) else "(no organisation)"


def _cohort_of(lookup: Lookup, mentee: Person, cohort: str | None) -> Cohort:
    if cohort is None:
        applied = {
            a.cohort
            for a in lookup.entities("application")
            if isinstance(a, Application) and a.applicant == mentee.uid
        }
        options = sorted(mentee.cohorts | applied)
        if len(options) != 1:
            raise InputError(
                _("{uid} belongs to {count} cohorts ({cohorts}); name one with --cohort").format(
                    uid=mentee.uid, count=len(options), cohorts=", ".join(options) or _("none")
                )
            )
        cohort = options[0]
    found = lookup.get(cohort)
    if not isinstance(found, Cohort):
        raise InputError(_("there is no cohort {cohort!r}").format(cohort=cohort))
    return found


def _goals(lookup: Lookup, mentee: Person, cohort: str) -> Goals:
    for app in lookup.entities("application"):
        if isinstance(app, Application) and (app.applicant, app.cohort) == (mentee.uid, cohort):
            return Goals(app.position, app.department, app.leadership_role, app.goals, app.topics)
    return Goals(position=mentee.position)


def _tandems(lookup: Lookup, cohort: str) -> list[Tandem]:
    return [t for t in lookup.entities("tandem") if isinstance(t, Tandem) and t.cohort == cohort]


def pairing_problems(lookup: Lookup, cohort: str, mentee: str, mentor: str) -> list[str]:
    """What a tandem of ``mentee`` and ``mentor`` in ``cohort`` would break, as messages."""
    if mentee == mentor:
        return [_("mentee and mentor are the same person")]
    probe = Tandem(uid=_PROBE, cohort=cohort, mentee=mentee, mentor=mentor, matched_on=date.today())
    overlay = Overlay(lookup)
    overlay.put(probe)
    return [_without_tandem(p.message, _PROBE) for p in check(probe, overlay)]


def _without_tandem(message: str, uid: str) -> str:
    """``message`` without its leading "tandem UID: ", in whichever language it is written."""
    head, found, rest = message.partition(f" {uid}: ")
    return rest if found and " " not in head else message


def candidates(
    lookup: Lookup, mentee_ref: str, cohort: str | None = None, *, everyone: bool = False
) -> Candidates:
    """Mentors of the cohort from another organisation and not yet paired, with flags.

    ``everyone`` also lists the mentors the rules exclude, so the council sees why.
    """
    mentee = find_person(lookup, mentee_ref)
    found = _cohort_of(lookup, mentee, cohort)
    tandems = _tandems(lookup, found.uid)
    paired = {t.mentor for t in tandems}
    mentee_flags: list[str] = []
    if not has_role(mentee, Role.MENTEE, found.uid):
        mentee_flags.append(
            _("{name} is not a mentee of {cohort} (not selected?)").format(
                name=mentee.name, cohort=found.uid
            )
        )
    mine = [t.uid for t in tandems if t.mentee == mentee.uid]
    if mine:
        mentee_flags.append(
            _("{name} already has tandem {tandems}").format(
                name=mentee.name, tandems=", ".join(mine)
            )
        )
    if mentee.organisation is None:
        mentee_flags.append(_("{name} has no organisation").format(name=mentee.name))
    listed = []
    for mentor in members(lookup, found.uid, Role.MENTOR):
        if mentor.uid == mentee.uid:
            continue
        # Problems of the mentee alone are shown once, above the list, not on every mentor;
        # a problem of this pairing names the mentor (in every language, unlike its wording).
        flags = [
            f
            for f in pairing_problems(lookup, found.uid, mentee.uid, mentor.uid)
            if mentor.name in f
        ]
        if mentor.uid in paired:
            flags.append(_("already paired in this cohort"))
        if flags and not everyone:
            continue
        org = _short(lookup, mentor.organisation)
        listed.append(
            Candidate(mentor.uid, mentor.name, org, mentor.position, mentor.regional_group, flags)
        )
    listed.sort(key=lambda c: (bool(c.flags), c.organisation, c.name))
    return Candidates(
        found.uid,
        mentee.uid,
        mentee.name,
        _short(lookup, mentee.organisation),
        _goals(lookup, mentee, found.uid),
        mentee_flags,
        listed,
    )


@dataclass(frozen=True)
class TandemProblem:
    """One broken rule of one tandem."""

    tandem: str
    field: str
    message: str

    def __str__(self) -> str:
        message = _without_tandem(self.message, self.tandem)
        return _("tandem {uid}: {field}: {message}").format(
            uid=self.tandem, field=self.field, message=message
        )


@dataclass(frozen=True)
class CohortCheck:
    """Every tandem of a cohort against the rules, and the mentees still without a mentor."""

    cohort: str
    tandems: int
    problems: list[TandemProblem]
    unpaired: list[str]


def check_cohort(lookup: Lookup, cohort: str) -> CohortCheck:
    """Check every tandem of ``cohort`` with the import's rules."""
    if not isinstance(lookup.get(cohort), Cohort):
        raise InputError(
            _("there is no cohort {cohort!r} (see `connector status`)").format(cohort=cohort)
        )
    tandems = _tandems(lookup, cohort)
    problems = [
        TandemProblem(t.uid, p.field, p.message)
        for t in sorted(tandems, key=lambda t: t.uid)
        for p in check(t, lookup)
    ]
    paired = {t.mentee for t in tandems}
    unpaired = [p.uid for p in members(lookup, cohort, Role.MENTEE) if p.uid not in paired]
    return CohortCheck(cohort, len(tandems), problems, unpaired)


def candidate_labels(lookup: Lookup, mentee: Person) -> list[str]:
    """For a council board: "Name (Organisation, Funktion)" of each candidate, per cohort."""
    labels = []
    for cohort in sorted(mentee.cohorts):
        if not has_role(mentee, Role.MENTEE, cohort):
            continue
        found = candidates(lookup, mentee.uid, cohort)
        if found.mentee_flags:
            continue  # already paired: nothing to suggest
        for c in found.candidates:
            labels.append(f"{c.name} ({c.organisation}, {c.position or 'ohne Funktion'})")
    return labels
