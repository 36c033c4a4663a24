"""What a mapping may say about a CalDAV calendar (``[rules.calendar]``), and its declaration."""

from __future__ import annotations

from typing import Annotated

from connector.platform import Options, Platform, matching

CalendarId = Annotated[
    str,
    matching(
        r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        "a calendar id of letters, digits, '.', '_' or '-' (e.g. mim-10-fahrplan)",
    ),
]


class CalendarCollection(Options):
    """A CalDAV calendar."""

    calendar: CalendarId
    display_name: str
    description: str = ""
    color: str | None = None


PLATFORM = Platform(
    kind="caldav",
    target="connector.calendars:CalendarTarget",
    table="calendar",
    options=CalendarCollection,
    name_field="calendar",
    noun="calendar",
    settings={"verify": "verify_tls", "uid_domain": "uid_domain"},
)
