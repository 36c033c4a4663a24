"""The calendar adapter's fast path: read and edit events through ``ical_lines``.

Each function answers what its icalendar-based twin in ``connector.ical`` answers, or
``UNSURE`` where ``ical_lines`` is not sure, so that the caller falls back to icalendar
(which also raises the errors for unreadable events). ``connector.ical`` imports this module
when it is first used (it imports ``connector.ical`` for the normalisation both share).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from connector import ical
from connector import ical_lines as lines

UNSURE: Final = "unsure"
_READ = (*ical.TEXT_PROPS.values(), "STATUS")
_NEW_ATTENDEE = "ATTENDEE;SCHEDULE-AGENT=CLIENT;PARTSTAT=NEEDS-ACTION:mailto:"
_ADDRESS = re.compile(r'[^\x00-\x20\x7f\\"]+')


class Event:
    """What the calendar adapter reads from a master VEVENT, decoded as icalendar decodes it:
    the first value of each TEXT property (None if absent), ATTENDEE values, CATEGORIES,
    DTSTART, DTEND and DURATION (None if absent)."""

    __slots__ = ("attendees", "categories", "end", "span", "start", "texts", "uid")

    def __init__(
        self,
        uid: str,
        texts: dict[str, str | None],
        attendees: list[str],
        categories: list[str],
        times: tuple[date | datetime | None, date | datetime | None, timedelta | None],
    ) -> None:
        self.uid, self.texts, self.attendees, self.categories = uid, texts, attendees, categories
        self.start, self.end, self.span = times


def read(doc: lines.Document, texts: Iterable[str]) -> Event | None:
    """The master VEVENT's values, or None if unsure about one of them."""
    event = doc.master
    found: dict[str, str | None] = {}
    for name in (*texts, "UID"):
        props = event.all(name)
        if props and lines.kind(props[0], "TEXT") != "TEXT":
            return None
        found[name] = lines.unescape(props[0].value) if props else None
    attendees = event.all("ATTENDEE")
    if any("\\" in p.value or lines.kind(p, "CAL-ADDRESS") != "CAL-ADDRESS" for p in attendees):
        return None
    categories = event.all("CATEGORIES")
    if any(lines.kind(p, "TEXT") != "TEXT" for p in categories):
        return None
    times: list[date | datetime | None] = []
    for name in ("DTSTART", "DTEND"):
        props = event.all(name)
        value = lines.time_value(props[0]) if len(props) == 1 else None
        if props and value is None:
            return None
        times.append(value)
    spans = event.all("DURATION")
    span = lines.duration(spans[0].value) if len(spans) == 1 else None
    if (
        len(event.all("UID")) > 1
        or len(spans) > 1
        or (spans and (span is None or lines.kind(spans[0], "DURATION") != "DURATION"))
    ):
        return None
    return Event(
        found.pop("UID") or "",
        found,
        [p.value for p in attendees],
        [c for p in categories for c in lines.split_list(p.value)],
        (times[0], times[1], span),
    )


def read_event(body: str | bytes, tz: ZoneInfo) -> tuple[str, dict[str, Any]] | None:
    """UID and fields of the master VEVENT, or None if unsure."""
    doc = lines.parse(body)
    seen = None if doc is None else read(doc, _READ)
    fields = None if seen is None else _fields(seen, tz)
    return None if seen is None or fields is None else (seen.uid, fields)


def _fields(seen: Event, tz: ZoneInfo) -> dict[str, Any] | None:
    try:
        times = ("", "", False)
        if seen.start is not None:
            end = seen.end
            if end is None and seen.span is not None:
                end = seen.start + seen.span
            times = ical.span(seen.start, end, tz)
    except (ValueError, OverflowError, TypeError):
        return None
    return ical.normalise_fields(seen.texts.get, seen.attendees, seen.categories, times)


def apply_changes(text: str | bytes, changes: Mapping[str, Any], tz: ZoneInfo) -> Any:
    """``ical.apply_changes`` by editing lines: bytes, None (no field changes) or UNSURE.
    Only the master VEVENT's lines of the changed properties, SEQUENCE, DTSTAMP and
    LAST-MODIFIED are rewritten (and a VTIMEZONE added where needed)."""
    doc = lines.parse(text)
    seen = None if doc is None else read(doc, _READ)
    before = None if seen is None else _fields(seen, tz)
    if doc is None or seen is None or before is None:
        return UNSURE
    clean = ical.coerce(changes)
    after = dict(before)
    new: dict[str, list[str | lines.Prop]] = {}
    for name, prop in (*ical.TEXT_PROPS.items(), ("status", "STATUS")):
        if name in clean:
            value = clean[name]
            if not _writable(value):
                return UNSURE
            new[prop] = [f"{prop}:{lines.escape(value)}"] if value else []
            after[name] = value
    if "categories" in clean:
        if not all(_writable(c) for c in clean["categories"]):
            return UNSURE
        names = ",".join(lines.escape(c) for c in clean["categories"])
        new["CATEGORIES"] = [f"CATEGORIES:{names}"] if names else []
        after["categories"] = list(clean["categories"])
    if "attendees" in clean:
        kept = {ical._address(p.value): p for p in doc.master.all("ATTENDEE")}
        if not all(a in kept or _ADDRESS.fullmatch(a) for a in clean["attendees"]):
            return UNSURE
        new["ATTENDEE"] = [kept.get(a) or _NEW_ATTENDEE + a for a in clean["attendees"]]
        after["attendees"] = list(clean["attendees"])
    timezone = None
    if ical.TIME_FIELDS & clean.keys():
        start, end, all_day = ical.new_times(before, clean, tz)
        written = [lines.date_text(start), lines.date_text(end)]
        if any(w is None for w in written):
            return UNSURE
        new.update(DTSTART=[f"DTSTART{written[0]}"], DTEND=[f"DTEND{written[1]}"], DURATION=[])
        after.update(zip(("start", "end", "all_day"), ical.span(start, end, tz), strict=True))
        if not all_day and tz.key not in lines.UTC_KEYS and tz.key not in doc.timezones:
            timezone = ical.eu_vtimezone(tz)
            if timezone is None:
                return UNSURE
    if after == before:
        return None
    sequences = doc.master.all("SEQUENCE")
    if len(sequences) > 1 or (sequences and not lines.integer(sequences[0])):
        return UNSURE
    now = f"{ical._now():%Y%m%dT%H%M%SZ}"
    new["SEQUENCE"] = [f"SEQUENCE:{int(sequences[0].value) + 1 if sequences else 1}"]
    new.update({"DTSTAMP": [f"DTSTAMP:{now}"], "LAST-MODIFIED": [f"LAST-MODIFIED:{now}"]})
    edited = lines.edit(doc, new, timezone)
    if read_event(edited, tz) != (seen.uid, after):
        return UNSURE  # what was written would not read back as meant
    return edited.encode()


def _writable(text: str) -> bool:
    # icalendar writes a lone CR as a line break and reads "\N" as one: leave those to it.
    return "\r" not in text and "\\N" not in text
