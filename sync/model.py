"""The canonical model of a programme cohort.

Every entity has a stable string ``uid`` (never reused) and an ``updated_at`` timestamp, and is
validated on the way in. Cross-entity rules (a tandem's partners come from different
organisations, references exist) live in :mod:`sync.integrity`, because they need the store.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sync.i18n import _
from sync.vocabulary import (
    ApplicationStatus,
    Audience,
    EventKind,
    OrganisationKind,
    ProgrammeKind,
    Role,
)

__all__ = [
    "BERLIN",
    "COMPUTED",
    "ENTITY_TYPES",
    "REFERENCES",
    "Application",
    "ApplicationStatus",
    "Audience",
    "BerlinTime",
    "Cohort",
    "Email",
    "Entity",
    "Event",
    "EventKind",
    "Organisation",
    "OrganisationKind",
    "Person",
    "Programme",
    "ProgrammeKind",
    "Role",
    "Tandem",
    "Task",
    "Uid",
    "describe_validation_error",
    "entity_type",
    "utcnow",
]

BERLIN = ZoneInfo("Europe/Berlin")

_UID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0)


def _check_uid(value: str) -> str:
    if not _UID.match(value):
        raise ValueError(
            _(
                "must be lower-case letters, digits, '.', '_' or '-' (at most 128 characters), "
                "got {value!r}"
            ).format(value=value)
        )
    return value


def _check_email(value: str) -> str:
    value = value.strip()
    if not _EMAIL.match(value):
        raise ValueError(_("{value} is not an e-mail address").format(value=repr(value)))
    # The domain part is case-insensitive; the local part is kept as written.
    local, _at, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def _berlin(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=BERLIN)
    return value.astimezone(BERLIN)


Uid = Annotated[str, AfterValidator(_check_uid)]
Email = Annotated[str, AfterValidator(_check_email)]
BerlinTime = Annotated[datetime, AfterValidator(_berlin)]


class Entity(BaseModel):
    """Common ground of every canonical entity."""

    # defer_build: a command builds the validators of the kinds it reads, not of all kinds.
    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, str_strip_whitespace=True, defer_build=True
    )

    kind: ClassVar[str]
    #: Field that holds the cohort uid, or None for entities outside a cohort.
    cohort_field: ClassVar[str | None] = "cohort"

    uid: Uid
    updated_at: datetime = Field(default_factory=utcnow)

    def cohort_uids(self) -> set[str]:
        """The cohorts this entity belongs to (for rule filters)."""
        if self.cohort_field is None:
            return set()
        value = getattr(self, self.cohort_field)
        if isinstance(value, str):
            return {value}
        return set(value or ())

    def touched(self, **changes: Any) -> Entity:
        """A validated copy with ``changes`` applied and ``updated_at`` set to now."""
        data = self.model_dump()
        data.update(changes)
        data["updated_at"] = utcnow()
        return type(self).model_validate(data)


class Programme(Entity):
    """A recurring intermunicipal offer (Programm)."""

    kind = "programme"
    cohort_field = None

    name: str = Field(min_length=1)
    programme_kind: ProgrammeKind
    lead_organisation: Uid | None = None
    retention_days: int | None = Field(
        default=None,
        ge=0,
        description="days the data of applicants not selected is kept after the decision",
    )


class Organisation(Entity):
    """A member administration."""

    kind = "organisation"
    cohort_field = None

    name: str = Field(min_length=1, description="Official name, e.g. 'Stadt Greven'")
    short_name: str = Field(min_length=1, max_length=100, description="e.g. 'Greven'")
    org_kind: OrganisationKind


class Cohort(Entity):
    """One run of a programme (Durchgang)."""

    kind = "cohort"
    cohort_field = "uid"

    programme: Uid
    number: int = Field(ge=1)
    title: str = Field(min_length=1)
    period_start: date
    period_end: date
    reveal_on: date | None = Field(
        default=None, description="Start workshop: tandems are secret before this day"
    )
    fee_per_mentee: Decimal = Field(default=Decimal("500.00"), ge=0, description="EUR")
    total_cost: Decimal | None = Field(
        default=None, ge=0, description="EUR; if set, split by participants instead of the fee"
    )
    organisations: list[Uid] = Field(default_factory=list)
    council: list[Uid] = Field(default_factory=list)

    @model_validator(mode="after")
    def _period_in_order(self) -> Cohort:
        if self.period_end < self.period_start:
            raise ValueError(_("period_end lies before period_start"))
        return self

    def revealed(self, today: date) -> bool:
        """Whether tandems of this cohort may be shown to mentees and mentors on ``today``."""
        return self.reveal_on is not None and today >= self.reveal_on


class Person(Entity):
    """Someone taking part: mentee, mentor, council member, trainer or stiwl staff.

    Roles belong to a cohort: ``memberships`` maps each cohort the person takes part in to
    their roles there, so a mentee of cohort 10 can mentor in cohort 11 without becoming a
    mentee of 11. ``cohorts`` and ``roles`` read the cohorts and all roles of every cohort;
    :meth:`roles_in` reads the roles of some cohorts. ``Person(roles=..., cohorts=...)`` is
    accepted as a shorthand: every role in every cohort given.
    """

    kind = "person"
    cohort_field = "cohorts"

    given_name: str = Field(min_length=1)
    family_name: str = Field(min_length=1)
    email: Email
    organisation: Uid | None = None
    memberships: dict[Uid, set[Role]] = Field(
        default_factory=dict, description="cohort uid -> the person's roles in that cohort"
    )
    position: str = ""
    regional_group: str | None = None
    council_seat: Literal["PE", "GB"] | None = None
    consent_lists: bool = Field(
        default=False, description="agreed to programme mailing lists (never assumed)"
    )
    consent_profile: bool = Field(
        default=False, description="agreed that the council sees the Profilbogen on boards"
    )
    opt_outs: set[str] = Field(
        default_factory=set, description="lists the person left on their own; never re-add"
    )
    deck_user: str | None = Field(default=None, description="Nextcloud user id, for assignment")

    @model_validator(mode="before")
    @classmethod
    def _roles_of_cohorts(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not {"roles", "cohorts"} & data.keys():
            return data
        if "memberships" in data:
            raise ValueError(_("give memberships, or roles and cohorts, not both"))
        data = dict(data)
        roles, cohorts = data.pop("roles", None) or (), data.pop("cohorts", None) or ()
        cohorts = [cohorts] if isinstance(cohorts, str) else list(cohorts)
        if roles and not cohorts:
            raise ValueError(_("roles belong to a cohort: name the cohorts too"))
        data["memberships"] = {cohort: set(roles) for cohort in cohorts}
        return data

    @property
    def name(self) -> str:
        """Full name as shown on boards and lists."""
        return f"{self.given_name} {self.family_name}"

    @property
    def cohorts(self) -> set[str]:
        """The cohorts the person takes part in."""
        return set(self.memberships)

    @property
    def roles(self) -> set[Role]:
        """Every role the person has in any cohort."""
        return self.roles_in(self.memberships)

    def roles_in(self, cohorts: Iterable[str]) -> set[Role]:
        """The person's roles in any of ``cohorts``."""
        found: set[Role] = set()
        for cohort in cohorts:
            found |= self.memberships.get(cohort, set())
        return found


class Application(Entity):
    """A mentee applicant's application with the fields of the agreed Profilbogen."""

    kind = "application"

    cohort: Uid
    applicant: Uid
    status: ApplicationStatus = ApplicationStatus.RECEIVED
    received_on: date | None = None
    position: str = Field(default="", description="Funktion / Stelle")
    department: str = Field(default="", description="Fachbereich / Amt")
    leadership_role: Literal["Führung", "Stabsstelle", "Spezialist", ""] = ""
    leadership_since: date | None = None
    staff_count: int | None = Field(default=None, ge=0)
    motivation: str = ""
    goals: str = ""
    topics: list[str] = Field(default_factory=list)


class Tandem(Entity):
    """A mentee and a mentor from different organisations."""

    kind = "tandem"

    cohort: Uid
    mentee: Uid
    mentor: Uid
    matched_on: date
    revealed_on: date | None = None

    @model_validator(mode="after")
    def _two_people(self) -> Tandem:
        if self.mentee == self.mentor:
            raise ValueError(_("mentee and mentor must be two different people"))
        return self


class Event(Entity):
    """An event of the Fahrplan, a module, or a meeting; times in Europe/Berlin."""

    kind = "event"

    cohort: Uid
    event_kind: EventKind
    title: str = Field(min_length=1)
    start: BerlinTime
    end: BerlinTime
    all_day: bool = False
    location: str = ""
    description: str = ""
    audience: set[Audience] = Field(default_factory=lambda: {Audience.COUNCIL})
    regional_group: str | None = None
    tandem: Uid | None = Field(default=None, description="for tandem meetings")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _dates_are_midnight(cls, value: Any) -> Any:
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime(value.year, value.month, value.day, tzinfo=BERLIN)
        return value

    @model_validator(mode="after")
    def _end_after_start(self) -> Event:
        if self.end < self.start:
            raise ValueError(_("the event ends before it starts"))
        return self


class Task(Entity):
    """A piece of council work."""

    kind = "task"

    cohort: Uid
    title: str = Field(min_length=1)
    assignee: Uid | None = None
    due: date | None = None
    done: bool = False
    notes: str = ""
    tags: set[str] = Field(default_factory=set, description="free labels, e.g. 'Finanzen'")


ENTITY_TYPES: dict[str, type[Entity]] = {
    cls.kind: cls
    for cls in (Programme, Organisation, Cohort, Person, Application, Tandem, Event, Task)
}


def entity_type(kind: str) -> type[Entity]:
    """The entity class for ``kind``; raises KeyError naming the known kinds."""
    try:
        return ENTITY_TYPES[kind]
    except KeyError:
        raise KeyError(f"unknown entity kind {kind!r}; known: {', '.join(ENTITY_TYPES)}") from None


def describe_validation_error(error: ValidationError) -> list[tuple[str, str]]:
    """(field, message) pairs a coordinator can read, one per problem."""
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "(record)"
        message = item["msg"]
        for prefix in ("Value error, ", "Assertion failed, "):
            message = message.removeprefix(prefix)
        problems.append((field, message))
    return problems


#: Which fields hold the uid of another entity: (kind, field) -> referenced kind. Mapping
#: paths such as ``applicant.organisation.short_name`` follow these.
REFERENCES: dict[tuple[str, str], str] = {
    ("programme", "lead_organisation"): "organisation",
    ("cohort", "programme"): "programme",
    ("person", "organisation"): "organisation",
    ("application", "cohort"): "cohort",
    ("application", "applicant"): "person",
    ("tandem", "cohort"): "cohort",
    ("tandem", "mentee"): "person",
    ("tandem", "mentor"): "person",
    ("event", "cohort"): "cohort",
    ("event", "tandem"): "tandem",
    ("task", "cohort"): "cohort",
    ("task", "assignee"): "person",
}

#: Read-only values computed from an entity, usable in paths and templates.
COMPUTED: dict[str, tuple[str, ...]] = {
    "person": ("name", "roles", "cohorts", "match_candidates"),
    "event": ("attendee_emails",),
}
