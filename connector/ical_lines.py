"""iCalendar content lines read and edited as text, for the shape CalDAV event bodies have.

Reading or writing an event with the icalendar package costs its import (tens of
milliseconds) and milliseconds per event. This module handles the common subset with plain
string work and answers None ("not sure") for anything else, so that ``connector.ical`` falls
back to icalendar. Being sure means: icalendar 7 parses the text without error and decodes
the properties read here to the same values. So the reader is strict where icalendar is
lenient (folding, whitespace, blank lines, backslashes in parameters) and checks the value of
every property of a component that icalendar would reject the whole calendar for (all but
VEVENT, whose broken properties icalendar skips).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from zoneinfo import ZoneInfo

_QUOTED = r'"[^"\x00-\x1f\x7f\\]*"'
_PLAIN = r'[^"\x00-\x20\x7f,:;\\]*'
_PARAM = rf"([A-Za-z0-9-]+)=((?:{_QUOTED}|{_PLAIN})(?:,(?:{_QUOTED}|{_PLAIN}))*)"
_HEAD = re.compile(rf"([A-Za-z0-9-]+)((?:;{_PARAM})*):")
_PARAMS = re.compile(rf";{_PARAM}")
_UNESCAPE = re.compile(r"\\([\\,;:nN])")
_NAME = re.compile(r"[A-Za-z0-9-]+")
_DATE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_DATETIME = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})(Z?)")
_DURATION = re.compile(
    r"([-+]?)P(?:([0-9]+)W)?(?:([0-9]+)D)?(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+)S)?)?"
)
_INTEGER = re.compile(r"[+-]?[0-9]+")
_OFFSET = re.compile(r"[+-]([01][0-9]|2[0-3])[0-5][0-9]([0-5][0-9])?")
_WEEKDAY = r"(?:[+-]?[0-9]{1,2})?(?:MO|TU|WE|TH|FR|SA|SU)"
_NUMBERS = re.compile(r"[+-]?[0-9]{1,3}(?:,[+-]?[0-9]{1,3})*")
_RULE_PARTS = {
    "FREQ": re.compile(r"SECONDLY|MINUTELY|HOURLY|DAILY|WEEKLY|MONTHLY|YEARLY"),
    "BYDAY": re.compile(rf"{_WEEKDAY}(?:,{_WEEKDAY})*"),
    "WKST": re.compile(r"MO|TU|WE|TH|FR|SA|SU"),
    "BYMONTH": re.compile(r"(?:1[0-2]|0?[1-9])(?:,(?:1[0-2]|0?[1-9]))*"),
    **dict.fromkeys(
        "COUNT INTERVAL BYSECOND BYMINUTE BYHOUR BYWEEKNO BYMONTHDAY BYYEARDAY BYSETPOS".split(),
        _NUMBERS,
    ),
}
#: Properties icalendar reads as TEXT (never an error) or verbatim.
_TEXT = frozenset(
    "CALSCALE METHOD PRODID VERSION CLASS COMMENT DESCRIPTION LOCATION RESOURCES STATUS "
    "SUMMARY TRANSP TZID TZNAME CONTACT RELATED-TO UID ACTION CATEGORIES".split()
)
_DATETIMES = frozenset(
    "DTSTART DTEND DUE RECURRENCE-ID COMPLETED CREATED DTSTAMP LAST-MODIFIED ACKNOWLEDGED".split()
)
_ADDRESSES = frozenset({"ATTENDEE", "ORGANIZER"})
_URIS = frozenset({"ATTACH", "URL", "TZURL"})
UTC_KEYS = frozenset({"UTC", "Etc/UTC"})
FOLD_AT = 75  # octets per physical line (RFC 5545 3.1)


# Plain classes, not dataclasses: creating a dataclass costs about a millisecond at import,
# and this module exists to keep a process that reads a few events fast.


class Prop:
    """One content line: upper-case name, parameters (upper-case name -> raw text), raw value,
    and the physical lines it spans (``first`` up to, not including, ``stop``)."""

    __slots__ = ("first", "name", "params", "stop", "value")

    def __init__(self, name: str, params: dict[str, str], value: str, first: int, stop: int):
        self.name, self.params, self.value, self.first, self.stop = name, params, value, first, stop


class Component:
    """A BEGIN/END block: its own properties and its sub-components, in order."""

    __slots__ = ("begin", "children", "end", "name", "props")

    def __init__(self, name: str, begin: int) -> None:
        self.name, self.begin, self.end = name, begin, -1
        self.props: list[Prop] = []
        self.children: list[Component] = []

    def all(self, name: str) -> list[Prop]:
        """The component's own properties called ``name``."""
        return [p for p in self.props if p.name == name]


class Document:
    """A calendar object as physical lines (with their line ends) and its components: the
    master VEVENT and the VTIMEZONEs by TZID."""

    __slots__ = ("calendar", "eol", "lines", "master", "timezones")

    def __init__(
        self,
        lines: list[str],
        eol: str,
        calendar: Component,
        master: Component,
        timezones: dict[str, Component],
    ) -> None:
        self.lines, self.eol, self.calendar = lines, eol, calendar
        self.master, self.timezones = master, timezones


def parse(body: str | bytes) -> Document | None:
    """The calendar object in ``body``, or None if this module is not sure about it."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            return None
    raw = body.split("\n")
    if raw.pop() != "":
        return None  # no line end after the last line
    eol = "\r\n" if raw and raw[0].endswith("\r") else "\n"
    lines = [line[:-1] if line.endswith("\r") else line for line in raw]
    raw = [line + "\n" for line in raw]
    stack: list[Component] = []
    top: list[Component] = []
    start = 0
    while start < len(lines):
        stop = start + 1
        while stop < len(lines) and lines[stop][:1] in (" ", "\t"):
            stop += 1
        text = "".join([lines[start], *(line[1:] for line in lines[start + 1 : stop])])
        prop = _prop(text, start, stop)
        if prop is None or "\r" in text:
            return None
        if prop.name == "BEGIN":
            if prop.params or not _NAME.fullmatch(prop.value) or (top and not stack):
                return None
            child = Component(prop.value.upper(), start)
            if child.name in ("VEVENT", "VTIMEZONE") and len(stack) != 1:
                return None
            (stack[-1].children if stack else top).append(child)
            stack.append(child)
        elif prop.name == "END":
            if prop.params or not stack or stack[-1].name != prop.value.upper():
                return None
            stack.pop().end = start
        elif not stack or not (stack[-1].name == "VEVENT" or _valid(prop)):
            return None
        else:
            stack[-1].props.append(prop)
        start = stop
    if stack or len(top) != 1 or top[0].name != "VCALENDAR":
        return None
    calendar = top[0]
    timezones: dict[str, Component] = {}
    for component in calendar.children:
        if component.name == "VTIMEZONE":
            tzids = component.all("TZID")
            if len(tzids) != 1 or (tzid := unescape(tzids[0].value)) not in known_zones():
                return None  # icalendar would build a zone from the component's rules
            timezones[tzid] = component
    events = [c for c in calendar.children if c.name == "VEVENT" and not c.all("RECURRENCE-ID")]
    if not events:
        return None
    return Document(raw, eol, calendar, events[0], timezones)


def kind(prop: Prop, default: str) -> str:
    """The VALUE parameter of ``prop`` (upper-case), ``default`` if it has none."""
    return prop.params.get("VALUE", default).upper()


def _prop(text: str, first: int, stop: int) -> Prop | None:
    head = _HEAD.match(text)
    if head is None:
        return None
    params: dict[str, str] = {}
    for match in _PARAMS.finditer(head.group(2)):
        key = match.group(1).upper()
        if key in params:
            return None
        params[key] = match.group(2)
    return Prop(head.group(1).upper(), params, text[head.end() :], first, stop)


def _valid(prop: Prop) -> bool:
    """Whether icalendar reads ``prop`` outside a VEVENT without an error."""
    name, value, kind = prop.name, prop.value, prop.params.get("VALUE", "").upper()
    if name.startswith("X-"):
        return True  # icalendar keeps unreadable X- values as broken ones
    if name in _TEXT:
        return kind in ("", "TEXT")
    if name in _DATETIMES or (name == "TRIGGER" and kind == "DATE-TIME"):
        return kind in ("", "DATE", "DATE-TIME") and when(value, None) is not None
    if name in ("RDATE", "EXDATE"):
        dates = [when(v, None) for v in value.split(",")]
        return kind in ("", "DATE", "DATE-TIME") and None not in dates
    if name in ("DURATION", "TRIGGER"):
        return kind in ("", "DURATION") and duration(value) is not None
    if name in ("TZOFFSETFROM", "TZOFFSETTO"):
        return not kind and _OFFSET.fullmatch(value) is not None
    if name in ("SEQUENCE", "REPEAT", "PRIORITY"):
        return not kind and _INTEGER.fullmatch(value) is not None
    if name in ("RRULE", "EXRULE"):
        return not kind and _rule(value)
    if name in _ADDRESSES:
        return not kind and "\\" not in value
    if name in _URIS:
        return kind in ("", "URI")
    return False


def _rule(value: str) -> bool:
    seen = set()
    for part in value.split(";"):
        key, _, values = part.partition("=")
        if key == "UNTIL":
            if when(values, None) is None:
                return False
        elif (check := _RULE_PARTS.get(key)) is None or not check.fullmatch(values):
            return False
        if key in seen:
            return False
        seen.add(key)
    return "FREQ" in seen


@cache
def known_zones() -> frozenset[str]:
    """Zone names icalendar resolves with zoneinfo (so a VTIMEZONE's own rules are ignored):
    the tzdata package's list, a subset of ``zoneinfo.available_timezones()``, read in well
    under a millisecond. Empty without tzdata: then every TZID falls back."""
    spec = find_spec("tzdata")
    try:
        folder = (spec.submodule_search_locations or [""])[0] if spec else ""
        text = Path(folder, "zones").read_text(encoding="utf-8") if folder else ""
    except OSError:
        return frozenset()
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def unescape(raw: str) -> str:
    """A TEXT value decoded as icalendar decodes it (one pass over backslash escapes)."""
    return _UNESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), raw)


def escape(text: str) -> str:
    """``text`` as a TEXT value (RFC 5545 3.3.11); the caller keeps CR out of it."""
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def split_list(raw: str) -> list[str]:
    """A CATEGORIES value split at unescaped commas, each part decoded."""
    parts, current, i = [], [], 0
    while i < len(raw):
        if raw[i] == "\\" and i + 1 < len(raw):
            current.append(raw[i : i + 2])
            i += 2
            continue
        if raw[i] == ",":
            parts.append(unescape("".join(current)))
            current = []
        else:
            current.append(raw[i])
        i += 1
    parts.append(unescape("".join(current)))
    return parts


def when(value: str, tzid: str | None) -> date | datetime | None:
    """A DATE or DATE-TIME value (UTC, floating or in zone ``tzid``), or None if unsure."""
    try:
        if (match := _DATE.fullmatch(value)) is not None:
            if tzid is not None:
                return None  # icalendar turns a dated value with TZID into midnight there
            return date(*map(int, match.groups()))
        if (match := _DATETIME.fullmatch(value)) is None:
            return None
        year, month, day, hour, minute, second = map(int, match.groups()[:6])
        moment = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    if tzid is not None:
        if match.group(7) or tzid not in known_zones():
            return None
        return moment.replace(tzinfo=ZoneInfo(tzid))
    return moment.replace(tzinfo=UTC) if match.group(7) else moment


def time_value(prop: Prop) -> date | datetime | None:
    """The value of a DTSTART or DTEND line, or None if unsure."""
    kind = prop.params.get("VALUE", "").upper()
    tzid = prop.params.get("TZID")
    if tzid is not None and len(tzid) > 1 and tzid[0] == tzid[-1] == '"':
        tzid = tzid[1:-1]
    value = when(prop.value, tzid)
    dated = type(value) is date
    if (kind == "DATE" and not dated) or (kind == "DATE-TIME" and dated):
        return None
    return value if kind in ("", "DATE", "DATE-TIME") else None


def duration(value: str) -> timedelta | None:
    """A DURATION value, or None if unsure."""
    match = _DURATION.fullmatch(value)
    if match is None:
        return None
    sign, *amounts = match.groups()
    weeks, days, hours, minutes, seconds = (int(a or 0) for a in amounts)
    try:
        span = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    except OverflowError:
        return None
    return -span if sign == "-" else span


def fold(line: str, eol: str) -> str:
    """``line`` folded into physical lines of at most 75 octets (no character split)."""
    if len(line) <= FOLD_AT // 4 or len(line.encode()) <= FOLD_AT:
        return line + eol
    out: list[str] = []
    chunk: list[str] = []
    size = 0
    for char in line:
        width = len(char.encode())
        if size + width > FOLD_AT:
            out.append("".join(chunk))
            chunk, size = [" "], 1
        chunk.append(char)
        size += width
    out.append("".join(chunk))
    return eol.join(out) + eol


def date_text(value: date | datetime) -> str | None:
    """A date or a time (floating, UTC or in a zone icalendar takes from zoneinfo) as the text
    after the property name; None for other zones."""
    if not isinstance(value, datetime):
        return f";VALUE=DATE:{value:%Y%m%d}"
    if value.tzinfo is None:
        return f":{value:%Y%m%dT%H%M%S}"
    key = getattr(value.tzinfo, "key", None)
    if value.tzinfo is UTC or key in UTC_KEYS:
        return f":{value.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    return f";TZID={key}:{value:%Y%m%dT%H%M%S}" if key in known_zones() else None


def integer(prop: Prop) -> bool:
    """Whether ``prop`` holds a plain INTEGER value."""
    return "VALUE" not in prop.params and _INTEGER.fullmatch(prop.value) is not None


def edit(
    doc: Document,
    replace: Mapping[str, Iterable[str | Prop]],
    timezone: str | None = None,
) -> str:
    """The document's text with the master VEVENT's properties named in ``replace`` swapped
    for the given logical lines (folded) or kept properties (as they were written), where the
    first old one was, else before the event's sub-components; and ``timezone`` (a
    VTIMEZONE's text) put before the calendar's first component. Every other physical line
    is kept as it was."""
    master = doc.master
    drop: set[int] = set()
    at: dict[int, list[str]] = {}
    tail = master.children[0].begin if master.children else master.end
    for name, new in replace.items():
        old = master.all(name)
        for prop in old:
            drop.update(range(prop.first, prop.stop))
        at.setdefault(old[0].first if old else tail, []).extend(
            "".join(doc.lines[x.first : x.stop]) if isinstance(x, Prop) else fold(x, doc.eol)
            for x in new
        )
    if timezone is not None:
        children = doc.calendar.children
        position = children[0].begin if children else doc.calendar.end
        at.setdefault(position, []).insert(0, timezone.replace("\r\n", doc.eol))
    out: list[str] = []
    for index, line in enumerate(doc.lines):
        out.extend(at.get(index, ()))
        if index not in drop:
            out.append(line)
    return "".join(out)
