"""Which columns an import file of each kind may have: the model's English field names and the
German headers an office would write, plus German words for enumerated values
(``ausgewählt`` → ``selected``). Headers and words match ignoring case, spaces, hyphens and
umlaut spelling (``E-Mail`` = ``email``, ``Fällig`` = ``Faellig``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from sync.i18n import _
from sync.importing import cells
from sync.model import (
    ApplicationStatus,
    Audience,
    EventKind,
    OrganisationKind,
    ProgrammeKind,
    Role,
)

CellType = Literal[
    "text", "int", "decimal", "bool", "date", "datetime", "list", "choice", "choices", "ref", "refs"
]


@dataclass(frozen=True)
class Column:
    """One accepted column: the model field it fills, its other names, and how to read it.

    ``ref`` names the entity kind a ``ref``/``refs`` cell points to; ``choices`` maps the
    German words of an enumerated field to model values (the model values are accepted too).
    """

    field: str
    aliases: tuple[str, ...] = ()
    type: CellType = "text"
    ref: str = ""
    choices: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: ``choices`` by normalised word and value, built once.
    known: dict[str, str] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        known = {cells.normalise(v): v for v in self.choices.values()}
        known.update({cells.normalise(k): v for k, v in self.choices.items()})
        object.__setattr__(self, "known", known)  # frozen: set once, here

    def display(self) -> str:
        """``given_name (Vorname)``: how the column is listed in messages."""
        return f"{self.field} ({', '.join(self.aliases)})" if self.aliases else self.field

    def convert(self, text: str) -> Any:
        """The cell ``text`` as the model expects it (refs stay text, resolved later)."""
        match self.type:
            case "int":
                return cells.parse_int(text)
            case "decimal":
                return cells.parse_decimal(text)
            case "bool":
                return cells.parse_bool(text)
            case "date":
                return cells.parse_date(text)
            case "datetime":
                return cells.parse_datetime(text)
            case "list" | "refs":
                return cells.split_multi(text)
            case "choice":
                return self._choose(text)
            case "choices":
                return [self._choose(part) for part in cells.split_multi(text)]
        return text

    def _choose(self, text: str) -> str:
        if (value := self.known.get(cells.normalise(text))) is not None:
            return value
        raise ValueError(
            _("{text!r} is not one of: {choices}").format(
                text=text, choices=", ".join(self.choices)
            )
        )


def _with(enum: type[StrEnum], german: dict[str, str]) -> dict[str, str]:
    """German words first (they are listed in messages), then the model values."""
    return german | {member.value: member.value for member in enum}


STATUS = _with(
    ApplicationStatus,
    {
        "eingegangen": "received",
        "vorgestellt": "presented",
        "ausgewählt": "selected",
        "abgelehnt": "declined",
        "zurückgezogen": "withdrawn",
    },
)
ROLES = _with(
    Role,
    {
        "Mentee": "mentee",
        "Mentor": "mentor",
        "Mentorin": "mentor",
        "Beirat": "council",
        "Trainer": "trainer",
        "Trainerin": "trainer",
        "stiwl": "staff",
        "Teilnehmer": "participant",
        "Teilnehmerin": "participant",
        "Teilnehmende": "participant",
    },
)
AUDIENCES = _with(
    Audience,
    {
        "Beirat": "council",
        "Mentees": "mentees",
        "Mentoren": "mentors",
        "Teilnehmende": "participants",
    },
)
ORG_KINDS = _with(OrganisationKind, {"Landkreis": "Kreis", "Jobcenter AöR": "Jobcenter"})
PROGRAMME_KINDS = _with(
    ProgrammeKind, {"Mentoring": "mentoring", "Qualifizierung": "qualification"}
)
EVENT_KINDS = _with(
    EventKind,
    {
        "Abstimmung": "alignment",
        "Infoveranstaltung": "info_event",
        "Konstituierendes Treffen": "constituent_meeting",
        "Bewerbungsphase": "application_phase",
        "Vorstellungstermin": "presentation_day",
        "Matchingphase": "matching_phase",
        "Startworkshop": "start_workshop",
        "Zwischenbilanz": "midterm_review",
        "Abschlussveranstaltung": "closing_ceremony",
        "Tandemtreffen": "tandem_meeting",
        "Vernetzungstreffen": "networking_meeting",
        "Beiratssitzung": "council_meeting",
        "Modul": "module",
    },
)
LEADERSHIP = {"Führung": "Führung", "Stabsstelle": "Stabsstelle", "Spezialist": "Spezialist"}
SEATS = {"PE": "PE", "GB": "GB"}

_UID = Column("uid", ("ID", "Kennung"))


def _cohort() -> Column:
    return Column("cohort", ("Durchgang",), "ref", "cohort")


COLUMNS: dict[str, tuple[Column, ...]] = {
    "programme": (
        _UID,
        Column("name", ("Name", "Programm", "Bezeichnung")),
        Column("programme_kind", ("Art", "Typ"), "choice", choices=PROGRAMME_KINDS),
        Column("lead_organisation", ("Federführung", "Hauptverantwortlich"), "ref", "organisation"),
        Column("retention_days", ("Aufbewahrung (Tage)", "Aufbewahrungsfrist"), "int"),
    ),
    "organisation": (
        _UID,
        Column("name", ("Name", "Bezeichnung", "Offizieller Name")),
        Column("short_name", ("Kurzname", "Kurzbezeichnung", "Kürzel")),
        Column("org_kind", ("Art", "Typ"), "choice", choices=ORG_KINDS),
    ),
    "cohort": (
        _UID,
        Column("programme", ("Programm",), "ref", "programme"),
        Column("number", ("Nummer", "Nr"), "int"),
        Column("title", ("Titel", "Bezeichnung")),
        Column("period_start", ("Beginn", "Von"), "date"),
        Column("period_end", ("Ende", "Bis"), "date"),
        Column("reveal_on", ("Bekanntgabe", "Startworkshop"), "date"),
        Column("fee_per_mentee", ("Gebühr", "Teilnahmegebühr"), "decimal"),
        Column("total_cost", ("Gesamtkosten", "Kosten gesamt"), "decimal"),
        Column(
            "organisations", ("Organisationen", "Kommunen", "Verwaltungen"), "refs", "organisation"
        ),
        Column("council", ("Beirat",), "refs", "person"),
    ),
    "person": (
        _UID,
        Column("given_name", ("Vorname",)),
        Column("family_name", ("Nachname", "Familienname")),
        Column("email", ("E-Mail", "Mail", "E-Mail-Adresse")),
        Column(
            "organisation",
            ("Organisation", "Kommune", "Verwaltung", "Dienststelle"),
            "ref",
            "organisation",
        ),
        Column("roles", ("Rollen", "Rolle"), "choices", choices=ROLES),
        # Plain uids, not checked: people come before the cohorts whose council they form.
        Column("cohorts", ("Durchgang", "Durchgänge"), "list"),
        Column("position", ("Funktion", "Stelle", "Position")),
        Column("regional_group", ("Regionalgruppe",)),
        Column("council_seat", ("Beiratssitz", "Sitz"), "choice", choices=SEATS),
        Column("consent_lists", ("Einwilligung Verteiler", "Verteiler"), "bool"),
        Column("consent_profile", ("Einwilligung Profil", "Profilfreigabe"), "bool"),
        Column("opt_outs", ("Abgemeldet",), "list"),
        Column("deck_user", ("Nextcloud-Benutzer", "Deck-Benutzer", "Benutzer")),
    ),
    "application": (
        _UID,
        _cohort(),
        Column(
            "applicant",
            ("Bewerber/in", "Bewerberin", "Bewerber", "Mentee", "E-Mail"),
            "ref",
            "person",
        ),
        Column("status", ("Status", "Stand"), "choice", choices=STATUS),
        Column("received_on", ("Eingang", "Eingangsdatum"), "date"),
        Column("position", ("Funktion", "Stelle")),
        Column("department", ("Fachbereich", "Amt", "Abteilung")),
        Column("leadership_role", ("Führungsrolle",), "choice", choices=LEADERSHIP),
        Column("leadership_since", ("Führung seit", "In der Rolle seit"), "date"),
        Column("staff_count", ("Mitarbeitende", "Führungsspanne"), "int"),
        Column("motivation", ("Motivation",)),
        Column("goals", ("Ziele",)),
        Column("topics", ("Themen",), "list"),
    ),
    "tandem": (
        _UID,
        _cohort(),
        Column("mentee", ("Mentee",), "ref", "person"),
        Column("mentor", ("Mentor", "Mentorin", "Mentor/in"), "ref", "person"),
        Column("matched_on", ("Gematcht am", "Matching"), "date"),
        Column("revealed_on", ("Bekanntgegeben", "Bekanntgegeben am"), "date"),
    ),
    "event": (
        _UID,
        _cohort(),
        Column("event_kind", ("Art", "Typ"), "choice", choices=EVENT_KINDS),
        Column("title", ("Titel", "Veranstaltung")),
        Column("start", ("Beginn", "Start", "Von"), "datetime"),
        Column("end", ("Ende", "Bis"), "datetime"),
        Column("all_day", ("Ganztägig", "Ganztags"), "bool"),
        Column("location", ("Ort", "Veranstaltungsort")),
        Column("description", ("Beschreibung",)),
        Column("audience", ("Zielgruppe",), "choices", choices=AUDIENCES),
        Column("regional_group", ("Regionalgruppe",)),
        Column("tandem", ("Tandem",), "ref", "tandem"),
    ),
    "task": (
        _UID,
        _cohort(),
        Column("title", ("Titel", "Aufgabe")),
        Column("assignee", ("Zuständig", "Verantwortlich"), "ref", "person"),
        Column("due", ("Fällig", "Frist"), "date"),
        Column("done", ("Erledigt",), "bool"),
        Column("notes", ("Notizen", "Bemerkung")),
    ),
}


def by_name(kind: str) -> dict[str, Column]:
    """The columns of ``kind`` by every normalised name they answer to."""
    names: dict[str, Column] = {}
    for column in COLUMNS[kind]:
        for name in (column.field, *column.aliases):
            names.setdefault(cells.normalise(name), column)
    return names
