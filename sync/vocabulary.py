"""The closed vocabularies of the domain: kinds of programme and organisation, roles,
audiences, application statuses and the stations of the Fahrplan.

They are part of the canonical model; :mod:`sync.model` offers them under its name too, so
``from sync.model import Role`` is the one public path.
"""

from __future__ import annotations

from enum import StrEnum


class ProgrammeKind(StrEnum):
    """The two kinds of programme that exist today."""

    MENTORING = "mentoring"
    QUALIFICATION = "qualification"


class OrganisationKind(StrEnum):
    """Kinds of member administration."""

    STADT = "Stadt"
    GEMEINDE = "Gemeinde"
    KREIS = "Kreis"
    LANDSCHAFTSVERBAND = "Landschaftsverband"
    JOBCENTER = "Jobcenter"
    OTHER = "Sonstige"


class Role(StrEnum):
    """What a person does in a cohort (``participant``: the qualification series' junior staff)."""

    MENTEE = "mentee"
    MENTOR = "mentor"
    COUNCIL = "council"
    TRAINER = "trainer"
    STAFF = "staff"
    PARTICIPANT = "participant"


class Audience(StrEnum):
    """Who can see a target. ``participants`` means mentees and mentors (or the pilot's group)."""

    COUNCIL = "council"
    MENTEES = "mentees"
    MENTORS = "mentors"
    PARTICIPANTS = "participants"


class ApplicationStatus(StrEnum):
    """An application's way through the selection procedure."""

    RECEIVED = "received"
    PRESENTED = "presented"
    SELECTED = "selected"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class EventKind(StrEnum):
    """The stations of the Fahrplan, plus the meetings that run in parallel."""

    ALIGNMENT = "alignment"
    INFO_EVENT = "info_event"
    CONSTITUENT_MEETING = "constituent_meeting"
    APPLICATION_PHASE = "application_phase"
    PRESENTATION_DAY = "presentation_day"
    MATCHING_PHASE = "matching_phase"
    START_WORKSHOP = "start_workshop"
    MIDTERM_REVIEW = "midterm_review"
    CLOSING_CEREMONY = "closing_ceremony"
    TANDEM_MEETING = "tandem_meeting"
    NETWORKING_MEETING = "networking_meeting"
    COUNCIL_MEETING = "council_meeting"
    MODULE = "module"
