"""The fast iCalendar path (``connector/ical_lines.py``, ``connector/ical_fast.py``) against
icalendar: it reads what icalendar reads, edits so that icalendar reads what the icalendar
path's edit gives while every line it did not change stays byte for byte, and says "not sure"
(so that ``connector.ical`` falls back) for what is outside its subset."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector import ical, ical_fast, ical_lines

BERLIN = ical.zone("Europe/Berlin")
FIXTURES = Path(__file__).parent / "fixtures"
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC", "Europe/London"]


def slow_read(body: str | bytes, tz: ZoneInfo = BERLIN) -> tuple[str, dict[str, Any]]:
    """What ``_record`` read before the fast path: icalendar only."""
    _, event = ical.parse_event(body)
    return str(event.get("UID", "")), ical.read_fields(event, tz)


@contextmanager
def icalendar_only() -> Iterator[None]:
    """``connector.ical`` as it was: the fast path always unsure."""
    with (
        mock.patch.object(ical_fast, "read_event", return_value=None),
        mock.patch.object(ical_fast, "apply_changes", return_value=ical_fast.UNSURE),
    ):
        yield


def outcome(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except (ValueError, KeyError, TypeError) as exc:
        return type(exc)


# -- generated events ------------------------------------------------------------------------

PLAIN = st.characters(
    codec="utf-8", exclude_categories=("Cs", "Cc"), include_characters="\t"
) | st.sampled_from("äöüßÄÖÜ€😀:;,\"' ")
ESCAPES = st.sampled_from(["\\\\", "\\;", "\\,", "\\n", "\\N", "\\:"])
ODD = st.sampled_from(["\\t", "\\x", "\\"])  # icalendar keeps these verbatim


@st.composite
def raw_text(draw: st.DrawFn, odd: bool = False) -> str:
    """An escaped TEXT value as clients write it (sometimes long, sometimes odd)."""
    parts = st.one_of(PLAIN, ESCAPES, ODD) if odd else st.one_of(PLAIN, ESCAPES)
    return "".join(draw(st.lists(parts, max_size=draw(st.sampled_from([8, 40, 200])))))


@st.composite
def stamp(draw: st.DrawFn, kind: str) -> str:
    moment = draw(st.datetimes(min_value=_dt("2020-01-01"), max_value=_dt("2030-12-31")))
    if kind == "date":
        return f";VALUE=DATE:{moment:%Y%m%d}" if draw(st.booleans()) else f":{moment:%Y%m%d}"
    if kind == "utc":
        return f":{moment:%Y%m%dT%H%M%S}Z"
    if kind == "floating":
        return f":{moment:%Y%m%dT%H%M%S}"
    return f";TZID={kind}:{moment:%Y%m%dT%H%M%S}"


def _dt(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text)


@st.composite
def event_lines(draw: st.DrawFn, odd: bool) -> list[str]:
    """A VEVENT's content lines (unfolded)."""
    lines = [f"UID:{draw(raw_text())}"]
    for name in ("SUMMARY", "DESCRIPTION", "LOCATION"):
        for _ in range(draw(st.integers(0, 2 if odd else 1))):
            params = draw(st.sampled_from(["", ";LANGUAGE=de", ';ALTREP="http://x.de/a:b"']))
            lines.append(f"{name}{params}:{draw(raw_text(odd))}")
    if draw(st.booleans()):
        lines.append("STATUS:" + draw(st.sampled_from(["CONFIRMED", "tentative", "Cancelled"])))
    kinds = ["date", "utc", "floating", *ZONES]
    if odd:
        kinds += ["W. Europe Standard Time", "/Europe/Berlin", "Custom/Zone"]
    kind = draw(st.sampled_from(kinds))
    if draw(st.integers(0, 9)):
        lines.append("DTSTART" + draw(stamp(kind)))
        end = draw(st.sampled_from(["dtend", "duration", "none", "both"]))
        if end in ("dtend", "both"):
            lines.append("DTEND" + draw(stamp(kind)))
        if end in ("duration", "both"):
            lines.append(
                "DURATION:"
                + draw(st.sampled_from(["PT1H", "P1D", "P2W", "PT90M", "-PT5M", "P1DT2H"]))
            )
    for _ in range(draw(st.integers(0, 3))):
        address = draw(st.sampled_from(["anna@example.org", "Ben@Example.ORG", "cläre@x.de"]))
        params = draw(st.sampled_from(["", ';CN="Müller, Hans";PARTSTAT=ACCEPTED', ";RSVP=TRUE"]))
        scheme = draw(st.sampled_from(["mailto:", "MAILTO:", ""]))
        lines.append(f"ATTENDEE{params}:{scheme}{address}")
    for _ in range(draw(st.integers(0, 2))):
        names = draw(st.lists(st.sampled_from(["Kurs", " Treffen ", "a\\,b", "", "Ä"]), max_size=3))
        lines.append("CATEGORIES:" + ",".join(names))
    if draw(st.booleans()):
        lines.append(f"X-NEXTCLOUD-FOO;X-P=1:{draw(raw_text(True))}")
    if draw(st.booleans()):
        lines.append(f"SEQUENCE:{draw(st.integers(0, 20))}")
    if draw(st.booleans()):
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            "TRIGGER;RELATED=START:" + draw(st.sampled_from(["-PT15M", "-P1D", "PT0S"])),
            f"DESCRIPTION:{draw(raw_text())}",
            "X-WR-ALARMUID:7A3C",
            "END:VALARM",
        ]
    return lines


def fold_at(draw: st.DrawFn, line: str) -> list[str]:
    """``line`` folded at random places (between characters)."""
    if len(line) < 2:
        return [line]
    cuts = sorted(set(draw(st.lists(st.integers(1, len(line) - 1), max_size=3))))
    pieces = [line[a:b] for a, b in zip([0, *cuts], [*cuts, len(line)], strict=True)]
    return [pieces[0], *(draw(st.sampled_from([" ", "\t"])) + p for p in pieces[1:])]


@st.composite
def bodies(draw: st.DrawFn, odd: bool = False) -> str:
    """A calendar object: VTIMEZONE (maybe with made-up rules), maybe an exception VEVENT
    first, the master VEVENT; random folding, CRLF or LF."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//Gen//DE"]
    if draw(st.booleans()):
        lines.append("CALSCALE:GREGORIAN")
    if draw(st.booleans()):
        zone = draw(st.sampled_from(["Europe/Berlin", "America/New_York"]))
        offset = draw(st.sampled_from(["+0100", "+0500", "-0400"]))
        lines += [
            "BEGIN:VTIMEZONE", f"TZID:{zone}", "BEGIN:STANDARD", f"TZOFFSETFROM:{offset}",
            f"TZOFFSETTO:{offset}", "TZNAME:XYZ", "DTSTART:19701025T030000",
            "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "END:STANDARD", "END:VTIMEZONE",
        ]  # fmt: skip
    master = draw(event_lines(odd))
    if draw(st.booleans()):
        uid = master[0]
        lines += ["BEGIN:VEVENT", uid, "RECURRENCE-ID:20250101T100000Z", "SUMMARY:Ausnahme"]
        lines += ["DTSTART:20250101T100000Z", "END:VEVENT"]
    lines += ["BEGIN:VEVENT", *master, "END:VEVENT", "END:VCALENDAR"]
    if odd and draw(st.integers(0, 4)) == 0:
        index = draw(st.integers(0, len(lines) - 1))
        lines.insert(index, draw(st.sampled_from(["", "GARBAGE", "X-A;B:c", "END:VTODO"])))
    eol = draw(st.sampled_from(["\r\n", "\n"]))
    return "".join(p + eol for line in lines for p in fold_at(draw, line))


GENERATED = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@GENERATED
@given(bodies(odd=False), st.sampled_from(["Europe/Berlin", "America/New_York", "UTC"]))
def test_generated_typical_events_read_fast_and_as_icalendar_reads_them(
    body: str, zone: str
) -> None:
    tz = ical.zone(zone)
    fast = ical_fast.read_event(body, tz)
    assert fast is not None, body
    assert fast == slow_read(body, tz)
    assert ical_fast.read_event(body.encode(), tz) == fast


@GENERATED
@given(bodies(odd=True))
def test_generated_odd_events_read_as_icalendar_reads_them_or_fall_back(body: str) -> None:
    fast = ical_fast.read_event(body, BERLIN)
    slow = outcome(slow_read, body)
    if fast is not None:
        assert fast == slow, body
    assert outcome(ical.read_event, body, BERLIN) == slow


# -- recorded server bodies ------------------------------------------------------------------


def recorded_bodies() -> list[tuple[str, str]]:
    """Every calendar object in the fixtures: request and response bodies, and the
    calendar-data of REPORT answers."""
    found = []
    for path in sorted(FIXTURES.rglob("*.json")):
        exchange = json.loads(path.read_text(encoding="utf-8"))
        for part in ("request", "response"):
            body = (exchange.get(part) or {}).get("body") or ""
            if not isinstance(body, str) or "BEGIN:VCALENDAR" not in body:
                continue
            if body.lstrip().startswith("<"):
                datas = re.findall(r"<[^>]*calendar-data[^>]*>(.*?)</", body, re.S)
                found += [(f"{path.name} {part}", html.unescape(d)) for d in datas]
            else:
                found.append((f"{path.name} {part}", body))
    return found


def test_the_fixtures_hold_calendar_objects() -> None:
    assert len(recorded_bodies()) >= 8


@pytest.mark.parametrize(("name", "body"), recorded_bodies())
def test_recorded_server_bodies_read_the_same_both_ways(name: str, body: str) -> None:
    fast = ical_fast.read_event(body, BERLIN)
    assert fast is not None, name
    assert fast == slow_read(body)


# -- edits -----------------------------------------------------------------------------------

CHANGES = st.fixed_dictionaries(
    {},
    optional={
        "summary": st.text(PLAIN | st.sampled_from("\n;,\\"), max_size=120),
        "description": st.text(PLAIN | st.sampled_from("\n;,\\"), max_size=300),
        "location": st.sampled_from(["", "Raum 1", "Zoom, Link: https://x.de/a;b"]),
        "status": st.sampled_from(["", "confirmed", "CANCELLED"]),
        "attendees": st.lists(st.sampled_from(["anna@example.org", "neu@x.de", "BEN@example.org"])),
        "categories": st.lists(st.sampled_from(["Kurs", "a,b", "Öffentlich", "x;y"])),
        "start": st.sampled_from(
            ["2026-03-29T02:30:00+02:00", "2026-05-04", "2026-05-04T09:00:00"]
        ),
        "end": st.sampled_from(["2026-05-04T17:00:00+02:00", "2026-05-06", ""]),
        "all_day": st.booleans(),
    },
)


def changed_names(changes: dict[str, Any]) -> set[str]:
    names = {"SEQUENCE", "DTSTAMP", "LAST-MODIFIED"}
    for field, prop in (*ical.TEXT_PROPS.items(), ("status", "STATUS"),
                        ("attendees", "ATTENDEE"), ("categories", "CATEGORIES")):  # fmt: skip
        if field in changes:
            names.add(prop)
    if ical.TIME_FIELDS & changes.keys():
        names |= {"DTSTART", "DTEND", "DURATION"}
    return names


def kept_lines(body: str, names: set[str]) -> list[str]:
    """The physical lines of ``body`` outside the master VEVENT's ``names`` and outside a
    VTIMEZONE the edit added."""
    doc = ical_lines.parse(body)
    assert doc is not None
    skip = {i for p in doc.master.props if p.name in names for i in range(p.first, p.stop)}
    return [line for i, line in enumerate(doc.lines) if i not in skip]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies(odd=False), CHANGES, st.sampled_from(["Europe/Berlin", "UTC", "Europe/Paris"]))
def test_generated_edits_read_as_the_icalendar_edit_and_keep_untouched_lines(
    body: str, changes: dict[str, Any], zone: str
) -> None:
    tz = ical.zone(zone)
    with icalendar_only():
        slow = outcome(ical.apply_changes, body, changes, tz)
    fast = ical_fast.apply_changes(body, changes, tz) if slow is not ValueError else None
    if slow is ValueError:
        assert outcome(ical.apply_changes, body, changes, tz) is ValueError
        return
    if fast is ical_fast.UNSURE:
        return
    assert (fast is None) == (slow is None)
    if fast is None:
        return
    assert slow_read(fast, tz) == slow_read(slow, tz)
    names, text = changed_names(changes), fast.decode()
    added = (ical.eu_vtimezone(tz) or "-").replace("\r\n", "\r\n" if "\r\n" in body else "\n")
    if added in text and added not in body:  # the VTIMEZONE the edit had to add
        text = text.replace(added, "", 1)
    assert kept_lines(text, names) == kept_lines(body, names)


def test_typical_edits_take_the_fast_path() -> None:
    body = (FIXTURES / "nextcloud29-caldav" / "12-get-event.json").read_text(encoding="utf-8")
    event = json.loads(body)["response"]["body"]
    for changes in (
        {"summary": "Neu: Ä, ö; ü\\ und ein sehr langer Text " * 4},
        {"description": "Zeile 1\nZeile 2"},
        {"attendees": ["anna@example.org"], "categories": ["Kurs", "a,b"]},
        {"start": "2026-05-04T09:00:00+02:00", "end": "2026-05-04T17:00:00+02:00"},
        {"start": "2026-05-04", "end": "2026-05-05", "all_day": True},
        {"status": "cancelled"},
    ):
        fast = ical_fast.apply_changes(event, changes, BERLIN)
        assert isinstance(fast, bytes), changes
        assert ical.read_event(fast, BERLIN)[1] == slow_read(fast)[1]
        assert all(len(line.encode()) <= 75 for line in fast.decode().split("\r\n"))
    assert ical_fast.apply_changes(event, {"summary": "Startworkshop (Teil I)"}, BERLIN) is None


def test_a_new_attendee_is_not_invited_and_a_kept_one_keeps_its_params() -> None:
    body = _event(
        'ATTENDEE;CN="Anna A.";PARTSTAT=ACCEPTED:mailto:Anna@Example.org',
        "DTSTART:20260504T090000Z",
    )
    out = ical_fast.apply_changes(body, {"attendees": ["anna@example.org", "neu@x.de"]}, BERLIN)
    assert isinstance(out, bytes)
    text = out.decode()
    assert 'ATTENDEE;CN="Anna A.";PARTSTAT=ACCEPTED:mailto:Anna@Example.org\r\n' in text
    assert "ATTENDEE;SCHEDULE-AGENT=CLIENT;PARTSTAT=NEEDS-ACTION:mailto:neu@x.de\r\n" in text
    assert "SEQUENCE:1\r\n" in text


def test_a_timed_edit_adds_the_zone_the_calendar_lacks() -> None:
    body = _event("DTSTART;VALUE=DATE:20260504")
    changes = {"start": "2026-05-04T09:00:00+02:00", "end": "2026-05-04T10:00:00+02:00"}
    out = ical_fast.apply_changes(body, changes, BERLIN)
    assert isinstance(out, bytes)
    assert out.decode().count("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n") == 1
    assert slow_read(out)[1]["start"] == "2026-05-04T09:00:00+02:00"


# -- fallbacks -------------------------------------------------------------------------------


def _event(*lines: str, before: str = "") -> str:
    return "\r\n".join(
        ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//t//EN", *filter(None, [before]),
         "BEGIN:VEVENT", "UID:u1@test", "SUMMARY:Treffen", *lines, "END:VEVENT",
         "END:VCALENDAR", ""]
    )  # fmt: skip


def test_a_windows_zone_name_reads_through_the_fallback() -> None:
    body = _event("DTSTART;TZID=W. Europe Standard Time:20260504T090000")
    assert ical_lines.parse(body) is None  # a space in a parameter: not the fast path's
    assert ical.read_event(body, BERLIN)[1]["start"] == "2026-05-04T09:00:00+02:00"
    quoted = _event('DTSTART;TZID="W. Europe Standard Time":20260504T090000')
    assert ical_fast.read_event(quoted, BERLIN) is None
    assert ical.read_event(quoted, BERLIN)[1]["start"] == "2026-05-04T09:00:00+02:00"


CUSTOM_ZONE = "\r\n".join([
    "BEGIN:VTIMEZONE", "TZID:{tzid}", "BEGIN:STANDARD", "TZOFFSETFROM:+0500",
    "TZOFFSETTO:+0500", "TZNAME:FIVE", "DTSTART:19700101T000000", "END:STANDARD",
    "END:VTIMEZONE",
])  # fmt: skip


def test_a_zone_defined_only_in_the_calendar_reads_through_the_fallback() -> None:
    body = _event(
        "DTSTART;TZID=Custom-Five:20260504T090000", before=CUSTOM_ZONE.format(tzid="Custom-Five")
    )
    assert ical_lines.parse(body) is None
    assert ical.read_event(body, BERLIN)[1]["start"] == "2026-05-04T06:00:00+02:00"


def test_icalendar_takes_an_iana_zone_from_zoneinfo_whatever_the_vtimezone_says() -> None:
    """Why the fast path may ignore a VTIMEZONE whose TZID zoneinfo knows: icalendar 7 does
    (``tzp.cache_timezone_component`` only builds zones zoneinfo lacks)."""
    body = _event(
        "DTSTART;TZID=Europe/Berlin:20260504T090000",
        before=CUSTOM_ZONE.format(tzid="Europe/Berlin"),
    )
    assert slow_read(body)[1]["start"] == "2026-05-04T09:00:00+02:00"
    assert ical_fast.read_event(body, BERLIN) == slow_read(body)


@pytest.mark.parametrize(
    "body",
    [
        _event("DTSTART;VALUE=PERIOD:20260504T090000Z/20260504T100000Z"),
        _event("DTSTART;TZID=Europe/Berlin:20260504"),
        _event("DTSTART:2026-05-04"),
        _event("DTSTART:20260504T090000", "DTSTART:20260505T090000"),
        _event("DESCRIPTION;ENCODING=BASE64;VALUE=BINARY:YWJj"),
        _event("DTSTART:20260504T090000", "DURATION:PT1H", "DURATION:PT2H"),
        _event("DTSTART:20260504T090000", "ATTENDEE:mailto:a\\,b@x.de"),
        _event("DTSTART:20260504T090000").replace("END:VCALENDAR\r\n", ""),
        _event("DTSTART:20260504T090000").replace("\r\nEND:VEVENT", "\r\n\r\nEND:VEVENT"),
        _event("DTSTART:20260504T090000").replace("BEGIN:VEVENT", "BEGIN:VTODO"),
        _event("DTSTART:20260504T090000", before="X-WR-CALNAME;X=a\\;b:c"),
        _event("DTSTART:20260504T090000", before="REFRESH-INTERVAL;VALUE=DURATION:P1D"),
        _event("DTSTART:20260504T090000", before="BEGIN:VTODO\r\nDUE:soon\r\nEND:VTODO"),
        _event("DTSTART:20260504T090000").encode("utf-8").replace(b"Treffen", b"Tr\xf6ffen"),
        _event("DTSTART:20260504T090000").replace("\r\n", "\r"),
        "\ufeff" + _event("DTSTART:20260504T090000"),
    ],
)
def test_what_the_fast_path_is_not_sure_about_falls_back(body: str | bytes) -> None:
    assert ical_fast.read_event(body, BERLIN) is None
    assert outcome(ical.read_event, body, BERLIN) == outcome(slow_read, body)


@pytest.mark.parametrize(
    "body",
    [
        _event("DTSTART:20260504T090000", "RDATE;VALUE=PERIOD:20260504T090000Z/PT1H"),
        _event("SUMMARY;ENCODING=QUOTED-PRINTABLE;VALUE=BINARY:abc"),  # not the first SUMMARY
        _event("DTSTART:20260504T090000", "X-BROKEN;VALUE=DATE:never", "GEO:x;y"),
    ],
)
def test_what_a_vevent_holds_beyond_the_fields_reads_fast_and_the_same(body: str) -> None:
    """icalendar skips a VEVENT's unreadable properties, so they change no field."""
    assert ical_fast.read_event(body, BERLIN) == slow_read(body)


def test_an_edit_in_a_zone_off_the_eu_rule_goes_through_icalendar() -> None:
    york = ical.zone("America/New_York")
    body = _event("DTSTART;VALUE=DATE:20260504")
    changes = {"start": "2026-05-04T09:00:00", "end": "2026-05-04T10:00:00"}
    assert ical_fast.apply_changes(body, changes, york) is ical_fast.UNSURE
    out = ical.apply_changes(body, changes, york)
    assert out is not None and b"TZID:America/New_York" in out
    assert slow_read(out, york)[1]["start"] == "2026-05-04T09:00:00-04:00"


def test_errors_stay_the_icalendar_path_errors() -> None:
    with pytest.raises(ValueError, match="no VEVENT"):
        ical.read_event(_event().replace("VEVENT", "VTODO"), BERLIN)
    with pytest.raises(ValueError, match="before it starts"):
        ical.apply_changes(_event("DTSTART:20260504T090000Z"), {"end": "2026-05-03"}, BERLIN)
    with pytest.raises(ValueError, match="unknown calendar field"):
        ical.apply_changes(_event("DTSTART:20260504T090000Z"), {"colour": "red"}, BERLIN)


# -- no icalendar on the way -----------------------------------------------------------------

NO_ICALENDAR = """
import sys, json
from connector import calendars, ical
body = json.loads(open(sys.argv[1]).read())["response"]["body"]
tz = ical.zone("Europe/Berlin")
uid, fields = ical.read_event(body, tz)
assert fields["summary"] == "Startworkshop (Teil I)", fields
out = ical.apply_changes(body, {"summary": "Neu", "attendees": ["a@b.de"]}, tz)
assert out is not None and ical.read_event(out, tz)[1]["summary"] == "Neu"
out = ical.apply_changes(body, {"start": "2026-05-04T09:00:00+02:00", "end": ""}, tz)
assert out is not None
print("icalendar" in sys.modules)
"""


def test_reading_and_editing_a_typical_event_does_not_import_icalendar() -> None:
    fixture = FIXTURES / "nextcloud29-caldav" / "12-get-event.json"
    done = subprocess.run(
        [sys.executable, "-c", NO_ICALENDAR, str(fixture)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
