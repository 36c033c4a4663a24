"""What a mapping may say about a CalDAV calendar (``[rules.calendar]``), and its declaration."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any

from connector.base import RemoteRecord
from connector.i18n import N_
from connector.platform import Options, Platform, matching

CalendarId = Annotated[
    str,
    matching(
        r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        N_("a calendar id of letters, digits, '.', '_' or '-' (e.g. mim-10-fahrplan)"),
    ),
]


class CalendarCollection(Options):
    """A CalDAV calendar."""

    calendar: CalendarId
    display_name: str
    description: str = ""
    color: str | None = None

    def describe(self, records: Sequence[RemoteRecord], when: Callable[[Any], str]) -> list[str]:
        """One line per event, in the order they take place."""
        lines = [f"Kalender »{self.display_name}« ({len(records)} Termine)"]
        for r in sorted(records, key=lambda r: str(r.fields.get("start"))):
            start, summary = when(r.fields.get("start")), r.fields.get("summary", "")
            lines.append(f"    {start}  {summary}  {r.fields.get('location', '')}".rstrip())
        return lines


PLATFORM = Platform(
    kind="caldav",
    target="connector.calendars:CalendarTarget",
    table="calendar",
    options=CalendarCollection,
    name_field="calendar",
    noun=N_("calendar"),
    records="events",
    settings={"verify": "verify_tls", "uid_domain": "uid_domain"},
)
