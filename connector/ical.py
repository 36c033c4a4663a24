"""iCalendar for the calendar adapter: build events, read normalised fields, apply edits.

Fields are read only from the mapped properties. DTSTAMP, LAST-MODIFIED, CREATED, PRODID,
SEQUENCE and whatever a server adds never reach them, so a server rewriting its copy of an
event is not an edit. Times are reported in the collection's time zone; all-day events carry
plain dates with an *inclusive* ``end`` (a one-day event has ``start == end``), which is
written as the exclusive ``DTEND`` iCalendar wants.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connector import lazy
from connector.base import RemoteField
from connector.i18n import _

if TYPE_CHECKING:
    from icalendar import Calendar, Event, Timezone, vCalAddress
else:
    # icalendar costs tens of milliseconds to import; a pass in which no event changed
    # parses and renders none, and ``ical_fast`` reads and edits the usual events without it,
    # so most passes never pay for it.
    Calendar, Event, Timezone, vCalAddress = lazy.names(
        "icalendar", "Calendar", "Event", "Timezone", "vCalAddress"
    )

DEFAULT_TIMEZONE = "Europe/Berlin"
PRODID = "-//cohort-connector//calendars//EN"
TEXT_PROPS = {"summary": "SUMMARY", "description": "DESCRIPTION", "location": "LOCATION"}
STATUSES = frozenset({"", "CONFIRMED", "TENTATIVE", "CANCELLED"})
TIME_FIELDS = frozenset({"start", "end", "all_day"})
_WHEN = "ISO-8601: a time with offset in the calendar's zone, or a plain date if all-day"

FIELDS: dict[str, RemoteField] = {
    "summary": RemoteField("summary", "text", doc="SUMMARY"),
    "description": RemoteField("description", "text", doc="DESCRIPTION"),
    "location": RemoteField("location", "text", doc="LOCATION"),
    "start": RemoteField("start", "datetime", doc=f"DTSTART; {_WHEN}"),
    "end": RemoteField("end", "datetime", doc=f"DTEND; {_WHEN} (last day, inclusive)"),
    "all_day": RemoteField("all_day", "bool", doc="DTSTART is a date (VALUE=DATE)"),
    "attendees": RemoteField("attendees", "set", doc="ATTENDEE e-mail addresses, lower-case"),
    "categories": RemoteField("categories", "set", doc="CATEGORIES"),
    "status": RemoteField("status", "text", doc="STATUS: CONFIRMED, TENTATIVE, CANCELLED or ''"),
}
EMPTY: dict[str, Any] = {
    "summary": "", "description": "", "location": "", "start": "", "end": "",
    "all_day": False, "attendees": [], "categories": [], "status": "",
}  # fmt: skip


def zone(name: str | None) -> ZoneInfo:
    """The time zone called ``name`` (default Europe/Berlin); ValueError if unknown."""
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(_("unknown time zone {name!r}").format(name=name)) from exc


def parse_event(text: str | bytes) -> tuple[Calendar, Event]:
    """The calendar and its master VEVENT (the one without RECURRENCE-ID)."""
    calendar = Calendar.from_ical(text)
    events = [c for c in calendar.walk("VEVENT") if "RECURRENCE-ID" not in c]
    if not events:
        raise ValueError(_("no VEVENT in this calendar object"))
    return calendar, cast(Event, events[0])


def read_fields(event: Event, tz: ZoneInfo) -> dict[str, Any]:
    """The normalised field values of ``event``; ValueError if its times cannot be read."""
    times = _read_times(event, tz)
    cats = [c for prop in _many(event.get("CATEGORIES")) for c in prop.cats]
    return normalise_fields(event.get, _many(event.get("ATTENDEE")), cats, times)


def read_event(body: str | bytes, tz: ZoneInfo) -> tuple[str, dict[str, Any]]:
    """The UID and normalised fields of the master VEVENT in ``body`` (as ``parse_event``
    and ``read_fields`` give them): read from the content lines where ``ical_fast`` is sure,
    else with icalendar, which also raises the errors."""
    from connector import ical_fast

    fast = ical_fast.read_event(body, tz)
    if fast is not None:
        return fast
    _, event = parse_event(body)
    return str(event.get("UID", "")), read_fields(event, tz)


def normalise_fields(
    text: Any, attendees: Iterable[Any], categories: Iterable[Any], times: tuple[str, str, bool]
) -> dict[str, Any]:
    """The fields from the values icalendar (or ``ical_lines``) decoded; ``text(NAME)`` is a
    TEXT property's value (a list if repeated, None if absent)."""
    start, end, all_day = times
    return {
        **{name: _text(text(prop)) for name, prop in TEXT_PROPS.items()},
        "start": start,
        "end": end,
        "all_day": all_day,
        "attendees": sorted({_address(a) for a in attendees}),
        "categories": sorted({str(c).strip() for c in categories} - {""}),
        "status": _text(text("STATUS")).upper(),
    }


def build(uid: str, fields: Mapping[str, Any], tz: ZoneInfo) -> bytes:
    """A new VCALENDAR holding one VEVENT with ``uid``, SEQUENCE 0 and the given fields."""
    changes = coerce(fields)
    if not changes.get("start"):
        raise ValueError(_("an event needs a start"))
    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    event = Event()
    event.add("UID", uid)
    event.add("DTSTAMP", _now())
    event.add("SEQUENCE", 0)
    calendar.add_component(event)
    _write(calendar, event, EMPTY, changes, tz)
    return bytes(calendar.to_ical())


def apply_changes(text: str | bytes, changes: Mapping[str, Any], tz: ZoneInfo) -> bytes | None:
    """``text`` with only ``changes`` applied and every other property kept.

    Returns None when the normalised fields stay the same; otherwise SEQUENCE goes up by one
    and DTSTAMP and LAST-MODIFIED are set to now. Edits the lines where ``ical_fast`` is
    sure (every other line stays as it was), else goes through icalendar.
    """
    from connector import ical_fast

    fast = ical_fast.apply_changes(text, changes, tz)
    if fast is not ical_fast.UNSURE:
        return cast("bytes | None", fast)
    calendar, event = parse_event(text)
    before = read_fields(event, tz)
    _write(calendar, event, before, coerce(changes), tz)
    if read_fields(event, tz) == before:
        return None
    sequence = int(event.get("SEQUENCE", 0))
    for name, value in (("SEQUENCE", sequence + 1), ("DTSTAMP", _now()), ("LAST-MODIFIED", _now())):
        event.pop(name, None)
        event.add(name, value)
    return bytes(calendar.to_ical())


def coerce(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Check and normalise writable values (times stay as given until they are resolved)."""
    unknown = set(fields) - FIELDS.keys()
    if unknown:
        raise ValueError(
            _("unknown calendar field(s): {fields}").format(fields=", ".join(sorted(unknown)))
        )
    clean = dict(fields)
    for name in (*TEXT_PROPS, "status"):
        if name in clean:
            clean[name] = "" if clean[name] is None else str(clean[name]).replace("\r\n", "\n")
    if "status" in clean:
        clean["status"] = clean["status"].strip().upper()
        if clean["status"] not in STATUSES:
            raise ValueError(
                _("status must be one of {statuses}, got {status!r}").format(
                    statuses=sorted(STATUSES), status=fields["status"]
                )
            )
    for name, normalise in (("attendees", _address), ("categories", lambda c: str(c).strip())):
        if name in clean:
            values = clean[name] or ()
            values = [values] if isinstance(values, str) else values
            clean[name] = sorted({normalise(v) for v in values} - {""})
    if "all_day" in clean:
        clean["all_day"] = bool(clean["all_day"])
    return clean


def _write(
    calendar: Calendar, event: Event, before: Mapping[str, Any], changes: Mapping[str, Any],
    tz: ZoneInfo,
) -> None:  # fmt: skip
    for name, prop in (*TEXT_PROPS.items(), ("status", "STATUS")):
        if name in changes:
            _replace(event, prop, [changes[name]] if changes[name] else [])
    if "categories" in changes:
        _replace(event, "CATEGORIES", [changes["categories"]] if changes["categories"] else [])
    if "attendees" in changes:
        kept = {_address(a): a for a in _many(event.get("ATTENDEE"))}
        addresses = [kept.get(a) or _attendee(a) for a in changes["attendees"]]
        _replace(event, "ATTENDEE", addresses)
    if TIME_FIELDS & changes.keys():
        start, end, all_day = new_times(before, changes, tz)
        for name in ("DTSTART", "DTEND", "DURATION"):
            event.pop(name, None)
        event.add("DTSTART", start)
        event.add("DTEND", end)
        if not all_day:
            ensure_vtimezone(calendar, tz)


def new_times(
    before: Mapping[str, Any], changes: Mapping[str, Any], tz: ZoneInfo
) -> tuple[Any, Any, bool]:
    """DTSTART, DTEND (exclusive) and whether all-day, after ``changes`` to ``before``."""
    merged = {**before, **changes}
    if "all_day" not in changes and "start" in changes:
        merged["all_day"] = _is_date(changes["start"])
    all_day = bool(merged["all_day"])
    if not merged.get("start"):
        raise ValueError(_("an event needs a start"))
    start = _when(merged["start"], all_day, tz)
    end = _when(merged.get("end") or merged["start"], all_day, tz)
    if end < start:
        raise ValueError(
            _("the event ends ({end}) before it starts ({start})").format(end=end, start=start)
        )
    return start, end + timedelta(days=1) if all_day else end, all_day


def _is_date(value: Any) -> bool:
    if isinstance(value, str):
        return len(value.strip()) == 10
    return isinstance(value, date) and not isinstance(value, datetime)


def _when(value: Any, all_day: bool, tz: ZoneInfo) -> Any:
    """``value`` (ISO text, date or datetime) as a date if all-day, else a datetime in ``tz``."""
    if isinstance(value, str):
        text = value.strip()
        value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    if isinstance(value, datetime):
        if all_day:
            return (value.astimezone(tz) if value.tzinfo else value).date()
        return _local(value, tz).replace(microsecond=0)
    if isinstance(value, date):
        return value if all_day else datetime.combine(value, time(), tzinfo=tz)
    raise ValueError(_("not a date or time: {value!r}").format(value=value))


def ensure_vtimezone(calendar: Calendar, tz: ZoneInfo) -> None:
    """Add a VTIMEZONE for ``tz`` unless the calendar has one with that TZID (or it is UTC)."""
    if tz.key in ("UTC", "Etc/UTC") or any(
        str(c.get("TZID")) == tz.key for c in calendar.walk("VTIMEZONE")
    ):
        return
    calendar.subcomponents.insert(0, vtimezone(tz))


def vtimezone(tz: ZoneInfo) -> Timezone:
    """A VTIMEZONE for ``tz``: the compact yearly-rule form clients write for zones on the EU
    summer-time rule (Europe/Berlin among them), else the transitions icalendar derives."""
    text = eu_vtimezone(tz)
    if text is None:
        return Timezone.from_tzid(tz.key)
    return cast(Timezone, Timezone.from_ical(text))


def eu_vtimezone(tz: ZoneInfo) -> str | None:
    """The VTIMEZONE text ``vtimezone`` gives for a zone on the EU rule, else None."""
    offsets = _eu_offsets(tz)
    if offsets is None:
        return None
    winter, summer = offsets
    names = [tz.tzname(datetime(2025, month, 15)) or "" for month in (1, 7)]
    return (
        f"BEGIN:VTIMEZONE\r\nTZID:{tz.key}\r\n"
        + _observance("DAYLIGHT", winter, summer, names[1], "0329", 3)
        + _observance("STANDARD", summer, winter, names[0], "1025", 10)
        + "END:VTIMEZONE\r\n"
    )


def _observance(kind: str, before: int, after: int, name: str, day: str, month: int) -> str:
    # Onsets are local times in the offset before the change, always at 01:00 UTC.
    return (
        f"BEGIN:{kind}\r\nTZOFFSETFROM:{before:+03d}00\r\nTZOFFSETTO:{after:+03d}00\r\n"
        f"TZNAME:{name}\r\nDTSTART:1970{day}T{1 + before:02d}0000\r\n"
        f"RRULE:FREQ=YEARLY;BYMONTH={month};BYDAY=-1SU\r\nEND:{kind}\r\n"
    )


def _eu_offsets(tz: ZoneInfo) -> tuple[int, int] | None:
    """(winter, summer) UTC offsets in whole hours if ``tz`` follows the EU rule, else None."""
    hours = []
    for month in (1, 7):
        offset = datetime(2025, month, 15, tzinfo=tz).utcoffset() or timedelta()
        if offset % timedelta(hours=1):
            return None
        hours.append(offset // timedelta(hours=1))
    winter, summer = hours
    if summer - winter != 1 or not 0 <= 1 + winter <= 23:
        return None
    for year in (2024, 2025, 2026, 2027):
        for month, before, after in ((3, winter, summer), (10, summer, winter)):
            change = _last_sunday(year, month)
            seen = [(change + timedelta(seconds=s)).astimezone(tz).utcoffset() for s in (-1, 0)]
            if seen != [timedelta(hours=before), timedelta(hours=after)]:
                return None
    return winter, summer


def _last_sunday(year: int, month: int) -> datetime:
    """01:00 UTC on the last Sunday of ``month``: when the EU changes its clocks."""
    last = date(year, month, 31)
    last -= timedelta(days=(last.weekday() + 1) % 7)
    return datetime.combine(last, time(1), tzinfo=UTC)


def _replace(event: Event, name: str, values: Iterable[Any]) -> None:
    event.pop(name, None)
    for value in values:
        event.add(name, value)


def _read_times(event: Event, tz: ZoneInfo) -> tuple[str, str, bool]:
    if "DTSTART" not in event:
        return "", "", False
    start = event.decoded("DTSTART")
    end = None
    if "DTEND" in event:
        end = event.decoded("DTEND")
    elif "DURATION" in event:
        end = start + event.decoded("DURATION")
    return span(start, end, tz)


def span(start: Any, end: Any, tz: ZoneInfo) -> tuple[str, str, bool]:
    """Start, end (inclusive if all-day) and all-day from decoded DTSTART and DTEND (None:
    none given, so the event lasts no time or, all-day, one day)."""
    if end is None:
        end = start if isinstance(start, datetime) else start + timedelta(days=1)
    if not isinstance(start, datetime):
        last = (end.date() if isinstance(end, datetime) else end) - timedelta(days=1)
        return start.isoformat(), max(start, last).isoformat(), True
    return _local(start, tz).isoformat(), _local(end, tz).isoformat(), False


def _local(value: date, tz: ZoneInfo) -> datetime:
    if not isinstance(value, datetime):
        return datetime.combine(value, time(), tzinfo=tz)
    if value.tzinfo is None:  # floating time: read it in the calendar's zone
        return value.replace(tzinfo=tz)
    return value.astimezone(tz)


def _text(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else None
    return "" if value is None else str(value).replace("\r\n", "\n")


def _many(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _attendee(address: str) -> vCalAddress:
    """An ATTENDEE the server must not invite (RFC 6638 SCHEDULE-AGENT=CLIENT): nothing is
    sent to people automatically, and no invitation can reveal a pairing early."""
    attendee = vCalAddress(f"mailto:{address}")
    attendee.params["SCHEDULE-AGENT"] = "CLIENT"
    attendee.params["PARTSTAT"] = "NEEDS-ACTION"
    return attendee


def _address(value: Any) -> str:
    text = str(value).strip()
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:") :]
    return text.strip().lower()


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
