"""CalDAV calendars (Nextcloud, Radicale, Xandikos) as a sync target, spoken as plain WebDAV.

A collection is one calendar under the user's calendar home; a record is one event resource,
identified by its path on the server. Every write is conditional (``If-None-Match: *`` on
create, ``If-Match`` on update and delete). Change detection uses RFC 6578 sync-collection
with the calendar data in the same REPORT where the server sends it; bodies it leaves out
come in one calendar-multiget. Servers without sync-collection fall back to comparing ETags.

The cursor is JSON: ``{"v": 1, "calendar": PATH, "token": SYNC_TOKEN}``, or
``{"v": 1, "calendar": PATH, "etags": {PATH: ETAG}}`` in the ETag fallback.
"""

from __future__ import annotations

import json
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar
from urllib.parse import quote, unquote, urlsplit
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import requests

from connector import ical
from connector.base import (
    Changes,
    Collection,
    Finding,
    RemoteField,
    RemoteRecord,
    Target,
    finding_from,
)
from connector.errors import (
    ConfigError,
    ConnectorError,
    CredentialsError,
    Fatal,
    NotFound,
    PreconditionFailed,
    RecordRejected,
    RetryLater,
)
from connector.http import HttpClient

log = logging.getLogger(__name__)

D, C, APPLE = "DAV:", "urn:ietf:params:xml:ns:caldav", "http://apple.com/ns/ical/"
_XMLNS = f'xmlns:d="{D}" xmlns:c="{C}" xmlns:x1="{APPLE}"'
_PREFIX = {D: "d", C: "c", APPLE: "x1"}
ETAG, DATA = f"{{{D}}}getetag", f"{{{C}}}calendar-data"
_SAFE = "@:+,;=!$&'()*~"
_DATA_ERRORS = ("valid-calendar", "supported-calendar", "max-resource-size", "date-time")
#: Nextcloud's read-only VTODO calendars mirroring Deck boards: never ours to touch.
APP_GENERATED = "app-generated--"
_MAX_PAGES = 100


def _propfind(*props: str) -> str:
    return f'<?xml version="1.0" encoding="utf-8"?><d:propfind {_XMLNS}><d:prop>{"".join(props)}</d:prop></d:propfind>'  # noqa: E501


_DISCOVER = _propfind("<d:current-user-principal/>", "<c:calendar-home-set/>")
_LIST = _propfind(
    "<d:resourcetype/>", "<d:displayname/>", "<c:calendar-description/>",
    "<x1:calendar-color/>", "<c:supported-calendar-component-set/>",
)  # fmt: skip
_ETAGS = _propfind("<d:resourcetype/>", "<d:getetag/>")
_REPORTS = _propfind("<d:supported-report-set/>", "<d:current-user-privilege-set/>")
_PRIVILEGES = _propfind("<d:current-user-privilege-set/>")
_DATA = "<d:prop><d:getetag/><c:calendar-data/></d:prop>"
_SYNC = (
    f'<?xml version="1.0" encoding="utf-8"?><d:sync-collection {_XMLNS}>'
    f"<d:sync-token>{{token}}</d:sync-token><d:sync-level>1</d:sync-level>{_DATA}"
    "</d:sync-collection>"
)
_MULTIGET = (
    f'<?xml version="1.0" encoding="utf-8"?><c:calendar-multiget {_XMLNS}>{_DATA}{{hrefs}}'
    "</c:calendar-multiget>"
)


class _InvalidToken(Exception):
    """The server no longer knows the sync token."""


class _NoSync(Exception):
    """The server does not offer sync-collection on this calendar."""


@dataclass
class DavResponse:
    """One ``<d:response>`` of a multistatus: its path, bare status, and the props found."""

    path: str
    status: int | None
    props: dict[str, ET.Element] = field(default_factory=dict)

    def text(self, tag: str) -> str | None:
        """The text of property ``tag`` (Clark notation), or None if it was not found."""
        element = self.props.get(tag)
        return None if element is None else (element.text or "")

    def href(self, tag: str) -> str | None:
        """The path in the ``<d:href>`` inside property ``tag``, or None."""
        element = self.props.get(tag)
        found = None if element is None else element.findtext(f"{{{D}}}href")
        return _path(found) if found else None


def _path(href: str) -> str:
    """The canonical (percent-encoded) path of an href, whatever the server's encoding."""
    return quote(unquote(urlsplit(href).path), safe="/" + _SAFE)


def _status(line: str | None) -> int | None:
    match = re.match(r"\S+\s+(\d{3})", line or "")
    return int(match.group(1)) if match else None


def parse_multistatus(body: bytes | str) -> tuple[list[DavResponse], str | None]:
    """The responses of a 207 body, and its sync token if it carries one."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise Fatal(f"unreadable WebDAV answer ({exc}); is this a CalDAV URL?") from None
    entries = []
    for response in root.findall(f"{{{D}}}response"):
        entry = DavResponse(
            _path(response.findtext(f"{{{D}}}href") or ""),
            _status(response.findtext(f"{{{D}}}status")),
        )
        for propstat in response.findall(f"{{{D}}}propstat"):
            prop = propstat.find(f"{{{D}}}prop")
            if prop is not None and (_status(propstat.findtext(f"{{{D}}}status")) or 200) < 300:
                entry.props.update((child.tag, child) for child in prop)
        entries.append(entry)
    return entries, root.findtext(f"{{{D}}}sync-token")


def _message(body: str) -> str:
    match = re.search(r"<[\w:]*(?:message|responsedescription)>([^<]+)<", body)
    return (match.group(1) if match else body).strip()[:200]


class CalendarTarget(Target):
    """Events in CalDAV calendars; see the module docstring for ids and the cursor."""

    kind = "caldav"
    FIELDS: ClassVar[Mapping[str, RemoteField]] = ical.FIELDS
    keeps_bodies = True
    #: A PUT answers with the stored event's ETag, or the event is read back (``_stored``).
    writes_answer_as_listed = True

    def __init__(
        self,
        url: str,
        user: str,
        password: str,
        *,
        verify: bool = True,
        uid_domain: str = "cohort-connector",
    ) -> None:
        """``url`` is the DAV root or principal (Nextcloud: ``https://host/remote.php/dav``)."""
        super().__init__()
        self._http = HttpClient(url, (user, password), verify=verify)
        parts = urlsplit(url)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._root = _path(parts.path.rstrip("/") + "/")
        self.uid_domain = uid_domain
        self._home_path: str | None = None
        self._calendars: dict[str, str] = {}

    # -- the Target interface ---------------------------------------------------------------

    def open(self, collection: Collection) -> None:
        """Find the calendar under the home, or MKCALENDAR it; other calendars stay as they are."""
        if collection.name.startswith(APP_GENERATED) or "/" in collection.name:
            raise ConfigError(f"{collection.name!r} cannot be a calendar of the connector")
        path = self._home() + quote(collection.name, safe=_SAFE) + "/"
        existing = {e.path.rstrip("/"): e for e in self.list_calendars()}
        entry = existing.get(path.rstrip("/"))
        if entry is None:
            self._mkcalendar(path, collection)
        else:
            self._adopt(path, entry, collection)
        self._calendars[collection.name] = path

    def changes(self, collection: Collection, cursor: str | None) -> Changes:
        """Changes since ``cursor`` via sync-collection; a full listing if it is None or stale."""
        state = _load_cursor(cursor, collection.name)
        calendar = state["calendar"] if state else self._calendar(collection)
        if state and "etags" in state:
            return self._etag_changes(collection, calendar, state["etags"])
        try:
            if state and state.get("token"):
                try:
                    return self._sync_changes(collection, calendar, state["token"])
                except _InvalidToken:
                    log.info("%s forgot our sync token; listing it in full", calendar)
            return self._sync_changes(collection, calendar, "")
        except _NoSync:
            return self._etag_changes(collection, calendar, None)

    def get(self, collection: Collection, remote_id: str) -> RemoteRecord:
        """The event at ``remote_id``; ``NotFound`` if it is gone."""
        response = self._send("GET", remote_id)
        self._check(response, f"event {remote_id}")
        etag = response.headers.get("ETag")
        record = self._record(collection, remote_id, etag, response.content)
        if record is None:
            raise NotFound(f"{remote_id} holds no readable VEVENT")
        self._keep([(remote_id, etag, response.content)])
        return record

    def create(self, collection: Collection, uid: str, fields: Mapping[str, Any]) -> RemoteRecord:
        """PUT a new event with UID ``uid@uid_domain``; ``PreconditionFailed`` if it exists."""
        try:
            body = ical.build(f"{uid}@{self.uid_domain}", fields, self._tz(collection))
        except ValueError as exc:
            raise RecordRejected(f"event {uid}: {exc}") from None
        path = self._calendar(collection) + quote(uid, safe=_SAFE) + ".ics"
        response = self._put(path, body, {"If-None-Match": "*"}, f"event {uid}")
        return self._stored(collection, path, response, body)

    def update(
        self,
        collection: Collection,
        remote_id: str,
        changes: Mapping[str, Any],
        etag: str | None,
    ) -> RemoteRecord:
        """Change only ``changes`` in the event, write it back with ``If-Match`` (SEQUENCE +1
        if changed). The event's text is the one last seen with ``etag`` (kept in ``bodies``),
        so what other clients put there survives without a read first; without it, read."""
        seen = self.bodies.body(remote_id) if self.bodies and etag else None
        if seen is None or seen[0] != etag:
            return self._read_and_update(collection, remote_id, changes, etag)
        try:
            body = ical.apply_changes(seen[1], changes, self._tz(collection))
        except ValueError as exc:
            raise RecordRejected(f"event {remote_id}: {exc}") from None
        if body is None:
            record = self._record(collection, remote_id, etag, seen[1])
            if record is not None:
                return record
            return self._read_and_update(collection, remote_id, changes, etag)
        response = self._put(remote_id, body, {"If-Match": etag}, f"event {remote_id}")
        return self._stored(collection, remote_id, response, body)

    def _read_and_update(
        self,
        collection: Collection,
        remote_id: str,
        changes: Mapping[str, Any],
        etag: str | None,
    ) -> RemoteRecord:
        current = self._send("GET", remote_id)
        self._check(current, f"event {remote_id}")
        current_etag = current.headers.get("ETag")
        try:
            body = ical.apply_changes(current.content, changes, self._tz(collection))
        except ValueError as exc:
            raise RecordRejected(f"event {remote_id}: {exc}") from None
        if body is None and (etag is None or etag == current_etag):
            return self._stored(collection, remote_id, current, current.content)
        condition = etag or current_etag
        headers = {"If-Match": condition} if condition else {}
        response = self._put(remote_id, body or current.content, headers, f"event {remote_id}")
        return self._stored(collection, remote_id, response, body or current.content)

    def delete(self, collection: Collection, remote_id: str, etag: str | None) -> None:
        """DELETE (with ``If-Match`` when ``etag`` is given); an event already gone is fine."""
        response = self._send("DELETE", remote_id, headers={"If-Match": etag} if etag else {})
        if response.status_code not in (404, 410):
            self._check(response, f"event {remote_id}")
        if self.bodies:
            self.bodies.drop([remote_id])

    def find_marker(self, collection: Collection, uid: str) -> RemoteRecord | None:
        """Try the uid-based href first (one GET); fall back to a full listing."""
        path = self._calendar(collection) + quote(uid, safe=_SAFE) + ".ics"
        try:
            record = self.get(collection, path)
        except NotFound:
            record = None
        if record is not None and record.marker == uid:
            return record
        return super().find_marker(collection, uid)

    def close(self) -> None:
        """Close the HTTP session."""
        self._http.close()

    # -- connector doctor -------------------------------------------------------------------

    def diagnose(self, collections: Sequence[Collection]) -> list[Finding]:
        """The server answers, the user signs in, its calendar home is found (and may hold new
        calendars); each calendar exists (or will be created), may be written, and offers
        sync-collection. Writes nothing."""
        where = f"CalDAV {self._http.base_url}"
        try:
            home = self._home()
            existing = {e.path.rstrip("/") for e in self.list_calendars()}
        except ConnectorError as exc:
            return [finding_from(where, exc)]
        findings = [Finding(where, f"reachable; user {self._http.user} signed in, home {home}")]
        paths = {c.name: home + quote(c.name, safe=_SAFE) + "/" for c in collections}
        if any(path.rstrip("/") not in existing for path in paths.values()):
            findings += self._may(home, _PRIVILEGES, {"all", "write", "bind"}, "create calendars")
        for collection in collections:
            subject = f"calendar {collection.name!r}"
            path = paths[collection.name]
            if path.rstrip("/") not in existing:
                findings.append(Finding(subject, "does not exist yet; the first sync creates it"))
                continue
            rights = self._may(path, _REPORTS, {"all", "write", "write-content"}, "write events")
            if rights:
                findings += [replace(f, subject=subject) for f in rights]
                continue
            findings.append(self._sync_finding(subject, path))
        return findings

    def _may(self, path: str, body: str, enough: set[str], what: str) -> list[Finding]:
        """A finding if the server says the user lacks every privilege in ``enough``."""
        try:
            [entry, *_] = self._propfind(path, body, depth="0")
        except ConnectorError as exc:
            return [finding_from(path, exc)]
        granted = entry.props.get(f"{{{D}}}current-user-privilege-set")
        if granted is None:
            return []  # the server does not say; the first write will tell
        names = {child.tag.rsplit("}", 1)[-1] for p in granted for child in p}
        if names & enough:
            return []
        return [
            Finding(
                path,
                f"user {self._http.user} may not {what} here (has: {', '.join(sorted(names))})",
                5,
                f"give {self._http.user} write access on the calendar server",
            )
        ]

    def _sync_finding(self, subject: str, path: str) -> Finding:
        try:
            [entry, *_] = self._propfind(path, _REPORTS, depth="0")
        except ConnectorError as exc:
            return finding_from(subject, exc)
        reports = entry.props.get(f"{{{D}}}supported-report-set")
        if reports is not None and reports.find(f".//{{{D}}}sync-collection") is not None:
            return Finding(subject, "exists, may be written and offers sync-collection")
        return Finding(
            subject,
            "exists but the server offers no sync-collection (RFC 6578): every pass compares "
            "all ETags, which costs more requests",
            fix="use a CalDAV server with sync-collection (Nextcloud, Radicale, Xandikos all "
            "have it)",
            warning=True,
        )

    # -- calendars --------------------------------------------------------------------------

    def list_calendars(self) -> list[DavResponse]:
        """The event calendars under the home; Deck's app-generated ones are left out."""
        entries = self._propfind(self._home(), _LIST, depth="1")
        return [
            e for e in entries
            if f"{{{C}}}calendar" in _tags(e.props.get(f"{{{D}}}resourcetype"))
            and not e.path.rstrip("/").rsplit("/", 1)[-1].startswith(APP_GENERATED)
        ]  # fmt: skip

    def _home(self) -> str:
        if self._home_path is None:
            found = self._propfind(self._root, _DISCOVER, depth="0")[0]
            home = found.href(f"{{{C}}}calendar-home-set")
            principal = found.href(f"{{{D}}}current-user-principal")
            if home is None and principal is not None:
                home = self._propfind(principal, _DISCOVER, depth="0")[0].href(
                    f"{{{C}}}calendar-home-set"
                )
            if home is None:
                raise Fatal(f"{self._http.base_url} names no CalDAV calendar home; check the URL")
            self._home_path = home.rstrip("/") + "/"
        return self._home_path

    def _calendar(self, collection: Collection) -> str:
        if collection.name not in self._calendars:
            self._calendars[collection.name] = (
                self._home() + quote(collection.name, safe=_SAFE) + "/"
            )
        return self._calendars[collection.name]

    def _wanted(self, collection: Collection) -> dict[str, str]:
        options = collection.options
        wanted = {f"{{{D}}}displayname": str(options.get("display_name") or collection.name)}
        if options.get("description"):
            wanted[f"{{{C}}}calendar-description"] = str(options["description"])
        if options.get("color"):
            wanted[f"{{{APPLE}}}calendar-color"] = str(options["color"])
        return wanted

    def _mkcalendar(self, path: str, collection: Collection) -> None:
        timezone = ical.vtimezone(self._tz(collection)).to_ical().decode()
        props = _props_xml(self._wanted(collection)) + (
            '<c:supported-calendar-component-set><c:comp name="VEVENT"/>'
            "</c:supported-calendar-component-set><c:calendar-timezone>"
            + escape(f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:{ical.PRODID}\r\n{timezone}")
            + "END:VCALENDAR\r\n</c:calendar-timezone>"
        )
        body = f"<c:mkcalendar {_XMLNS}><d:set><d:prop>{props}</d:prop></d:set></c:mkcalendar>"
        response = self._send("MKCALENDAR", path, body=_xml(body))
        if response.status_code != 405:  # 405: someone created it meanwhile
            self._check(response, f"calendar {path}")

    def _adopt(self, path: str, entry: DavResponse, collection: Collection) -> None:
        components = _children(entry.props.get(f"{{{C}}}supported-calendar-component-set"))
        names = {c.get("name", "").upper() for c in components}
        if components and "VEVENT" not in names:
            raise Fatal(f"calendar {path} does not accept events (only {sorted(names)})")
        stale = {
            tag: value for tag, value in self._wanted(collection).items()
            if (entry.text(tag) or "").strip().lower() != value.strip().lower()
        }  # fmt: skip
        if stale:
            body = f"<d:propertyupdate {_XMLNS}><d:set><d:prop>{_props_xml(stale)}</d:prop>"
            body += "</d:set></d:propertyupdate>"
            response = self._send("PROPPATCH", path, body=_xml(body))
            if response.status_code >= 300:  # cosmetic: the calendar works all the same
                log.warning("cannot update the properties of %s (%s)", path, response.status_code)

    # -- change detection -------------------------------------------------------------------

    def _sync_changes(self, collection: Collection, calendar: str, token: str) -> Changes:
        present: dict[str, tuple[str | None, str | bytes | None]] = {}
        deleted: set[str] = set()
        next_token = token
        for _ in range(_MAX_PAGES):
            entries, next_token, truncated = self._sync_page(calendar, next_token, bool(token))
            for entry in entries:
                if entry.status == 404:
                    deleted.add(entry.path)
                    present.pop(entry.path, None)
                else:
                    present[entry.path] = (entry.text(ETAG), entry.text(DATA))
                    deleted.discard(entry.path)
            if not truncated:
                break
        else:
            raise RetryLater(f"{calendar}: sync still truncated after {_MAX_PAGES} pages")
        records, gone = self._records(collection, calendar, present)
        if self.bodies and (deleted or gone):
            self.bodies.drop(deleted | gone)
        cursor = _dump_cursor(calendar, token=next_token)
        if not token:
            return Changes(records, set(), complete=True, cursor=cursor)
        return Changes(records, deleted | gone, complete=False, cursor=cursor)

    def _sync_page(
        self, calendar: str, token: str, incremental: bool
    ) -> tuple[list[DavResponse], str, bool]:
        body = _SYNC.format(token=escape(token))
        response = self._send("REPORT", calendar, body=_xml(body), headers={"Depth": "0"})
        if response.status_code != 207:
            if "valid-sync-token" in response.text and incremental:
                raise _InvalidToken(token)
            if response.status_code in (400, 403, 405, 409, 412, 415, 501):
                raise _NoSync(response.status_code)
            self._check(response, f"calendar {calendar}")
        entries, new_token = parse_multistatus(response.content)
        own = [e for e in entries if e.path.rstrip("/") == calendar.rstrip("/")]
        truncated = any(e.status == 507 for e in own)
        items = [e for e in entries if e not in own]
        return items, new_token or token, truncated

    def _etag_changes(
        self, collection: Collection, calendar: str, old: Mapping[str, str] | None
    ) -> Changes:
        entries = self._propfind(calendar, _ETAGS, depth="1")
        current = {
            e.path: e.text(ETAG) or "" for e in entries
            if e.path.rstrip("/") != calendar.rstrip("/")
            and not _tags(e.props.get(f"{{{D}}}resourcetype"))
        }  # fmt: skip
        changed = {p: (t, None) for p, t in current.items() if old is None or old.get(p) != t}
        records, gone = self._records(collection, calendar, changed)
        etags = {p: t for p, t in current.items() if p not in gone}
        cursor = _dump_cursor(calendar, etags=etags)
        if old is None:
            return Changes(records, set(), complete=True, cursor=cursor)
        # Only changed events were fetched, so this is not a complete listing.
        deleted = (old.keys() - current.keys()) | gone
        if self.bodies and deleted:
            self.bodies.drop(deleted)
        return Changes(records, deleted, complete=False, cursor=cursor)

    def _records(
        self,
        collection: Collection,
        calendar: str,
        present: Mapping[str, tuple[str | None, str | bytes | None]],
    ) -> tuple[list[RemoteRecord], set[str]]:
        """Records for ``present`` (path -> etag, body), fetching the bodies the server left out."""
        missing = [path for path, (_, body) in present.items() if body is None]
        fetched = self._fetch(calendar, missing)
        records, seen = [], []
        for path, (etag, body) in sorted({**present, **fetched}.items()):
            record = None if body is None else self._record(collection, path, etag, body)
            if record is not None:
                records.append(record)
                seen.append((path, etag, body))
        self._keep(seen)
        return records, set(missing) - fetched.keys()

    def _fetch(self, calendar: str, paths: list[str]) -> dict[str, tuple[str | None, str | bytes]]:
        """Bodies of ``paths``: one GET for a single event, else one calendar-multiget."""
        if len(paths) == 1:
            response = self._send("GET", paths[0])
            if response.status_code in (404, 410):
                return {}
            self._check(response, f"event {paths[0]}")
            return {paths[0]: (response.headers.get("ETag"), response.content)}
        if not paths:
            return {}
        hrefs = "".join(f"<d:href>{escape(p)}</d:href>" for p in paths)
        response = self._send(
            "REPORT", calendar, body=_xml(_MULTIGET.format(hrefs=hrefs)), headers={"Depth": "1"}
        )
        self._check(response, f"calendar {calendar}")
        found: dict[str, tuple[str | None, str | bytes]] = {}
        for entry in parse_multistatus(response.content)[0]:
            data = entry.text(DATA)
            if data is not None and entry.status in (None, 200):
                found[entry.path] = (entry.text(ETAG), data)
        return found

    # -- plumbing ---------------------------------------------------------------------------

    def _record(
        self, collection: Collection, path: str, etag: str | None, body: str | bytes
    ) -> RemoteRecord | None:
        try:
            _, event = ical.parse_event(body)
            fields = ical.read_fields(event, self._tz(collection))
        except (ValueError, KeyError, TypeError) as exc:
            # The parser's message may quote the event's text (names): the log names the kind.
            log.warning("skipping %s: not a readable event (%s)", path, type(exc).__name__)
            return None
        uid = str(event.get("UID", ""))
        suffix = f"@{self.uid_domain}"
        marker = uid[: -len(suffix)] if uid.endswith(suffix) and uid != suffix else None
        return RemoteRecord(path, fields, etag, marker)

    def _stored(
        self, collection: Collection, path: str, response: requests.Response, body: str | bytes
    ) -> RemoteRecord:
        etag = response.headers.get("ETag")
        record = self._record(collection, path, etag, body) if etag else None
        if record is None:
            return self.get(collection, path)
        self._keep([(path, etag, body)])
        return record

    def _keep(self, seen: Sequence[tuple[str, str | None, str | bytes | None]]) -> None:
        """Keep the raw text of events just seen (for ``update``), where they are kept."""
        if self.bodies is None:
            return
        self.bodies.save(
            (path, etag, body.encode() if isinstance(body, str) else body)
            for path, etag, body in seen
            if etag and body is not None
        )

    def _tz(self, collection: Collection) -> ZoneInfo:
        try:
            return ical.zone(collection.options.get("timezone"))
        except ValueError as exc:
            raise ConfigError(f"calendar {collection.name}: {exc}") from None

    def _put(self, path: str, body: bytes, headers: dict[str, str], what: str) -> requests.Response:
        headers = {"Content-Type": "text/calendar; charset=utf-8", **headers}
        response = self._send("PUT", path, body=body, headers=headers)
        self._check(response, what, write=True)
        return response

    def _propfind(self, path: str, body: str, *, depth: str) -> list[DavResponse]:
        response = self._send("PROPFIND", path, body=_xml(body), headers={"Depth": depth})
        self._check(response, f"collection {path}")
        entries = parse_multistatus(response.content)[0]
        itself = [e for e in entries if e.path.rstrip("/") == path.rstrip("/")]
        # Xandikos answers a missing collection with 207 and a 404 inside.
        if (depth == "0" and not entries) or any(e.status == 404 for e in itself):
            raise NotFound(f"collection {path} not found")
        return entries

    def _send(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        if body is not None and method != "PUT":
            headers = {"Content-Type": "application/xml; charset=utf-8", **(headers or {})}
        before = self._http.requests
        try:
            return self._http.request(
                method, self._origin + path, data=body, headers=dict(headers or {})
            )
        except CredentialsError as exc:
            raise CredentialsError(f"{exc}: check the user and app password") from None
        finally:
            self.requests += self._http.requests - before

    def _check(self, response: requests.Response, what: str, *, write: bool = False) -> None:
        """Raise the error family member for a failed answer about ``what``."""
        code = response.status_code
        if code < 300:
            return
        text = response.text
        reason = f"{what}: {code} {_message(text)}"
        if code in (404, 410):
            raise NotFound(reason)
        if any(marker in text for marker in _DATA_ERRORS):
            raise RecordRejected(reason)
        if code == 412 or "uid-conflict" in text or "uid already exists" in text:
            raise PreconditionFailed(reason)
        if code == 409:  # a PUT whose parent collection is missing
            raise NotFound(reason)
        if code in (400, 413, 415, 422) or (write and code == 500):
            raise RecordRejected(reason)
        if code >= 500 or code == 429:
            raise RetryLater(reason)
        raise Fatal(reason)


def _children(element: ET.Element | None) -> list[ET.Element]:
    return [] if element is None else list(element)


def _tags(element: ET.Element | None) -> set[str]:
    return {child.tag for child in _children(element)}


def _xml(text: str) -> bytes:
    if not text.startswith("<?xml"):
        text = '<?xml version="1.0" encoding="utf-8"?>' + text
    return text.encode("utf-8")


def _props_xml(props: Mapping[str, str]) -> str:
    parts = []
    for tag, value in props.items():
        namespace, local = tag[1:].split("}")
        name = f"{_PREFIX[namespace]}:{local}"
        parts.append(f"<{name}>{escape(value)}</{name}>")
    return "".join(parts)


def _dump_cursor(calendar: str, **state: Any) -> str:
    return json.dumps({"v": 1, "calendar": calendar, **state}, separators=(",", ":"))


def _load_cursor(cursor: str | None, name: str) -> dict[str, Any] | None:
    """The cursor's state, or None if absent, unreadable, or about another calendar."""
    if not cursor:
        return None
    try:
        state = json.loads(cursor)
    except ValueError:
        return None
    calendar = state.get("calendar") if isinstance(state, dict) else None
    if not isinstance(calendar, str) or unquote(calendar.rstrip("/").rsplit("/", 1)[-1]) != name:
        return None
    return dict(state)
