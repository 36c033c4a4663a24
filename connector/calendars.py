"""CalDAV calendars (Nextcloud, Radicale, Xandikos) as a sync target, spoken as plain WebDAV
through :class:`connector.webdav.DavClient`.

A collection is one calendar under the user's calendar home; a record is one event resource,
identified by its path on the server. Every write is conditional (``If-None-Match: *`` on
create, ``If-Match`` on update and delete). Change detection uses RFC 6578 sync-collection
with the calendar data in the same REPORT where the server sends it; bodies it leaves out
come in one calendar-multiget. Servers without sync-collection fall back to comparing ETags.

The cursor is JSON: ``{"v": 1, "calendar": PATH, "token": SYNC_TOKEN}``, or
``{"v": 1, "calendar": PATH, "etags": {PATH: ETAG}}`` in the ETag fallback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

from connector import ical
from connector.base import (
    Changes,
    Collection,
    Finding,
    RemoteField,
    RemoteRecord,
    Target,
)
from connector.errors import (
    ConfigError,
    Fatal,
    NotFound,
    RecordRejected,
    RetryLater,
)
from connector.http_wire import Response
from connector.i18n import _
from connector.webdav import (
    APPLE,
    DATA,
    ETAG,
    ETAGS,
    LIST,
    SAFE,
    XMLNS,
    C,
    D,
    DavClient,
    DavResponse,
    InvalidToken,
    NoSync,
    children,
    dump_cursor,
    escape,
    load_cursor,
    props_xml,
    tags,
    xml,
)

log = logging.getLogger(__name__)

#: Nextcloud's read-only VTODO calendars mirroring Deck boards: never ours to touch.
APP_GENERATED = "app-generated--"
_MAX_PAGES = 100


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
        self.dav = DavClient(url, user, password, verify=verify, counted=self._count)
        self.uid_domain = uid_domain
        self._calendars: dict[str, str] = {}

    # -- the Target interface ---------------------------------------------------------------

    def open(self, collection: Collection) -> None:
        """Find the calendar under the home, or MKCALENDAR it; other calendars stay as they are."""
        if collection.name.startswith(APP_GENERATED) or "/" in collection.name:
            raise ConfigError(
                _("{name!r} cannot be a calendar of the connector").format(name=collection.name)
            )
        path = self.home() + quote(collection.name, safe=SAFE) + "/"
        existing = {e.path.rstrip("/"): e for e in self.list_calendars()}
        entry = existing.get(path.rstrip("/"))
        if entry is None:
            self._mkcalendar(path, collection)
        else:
            self._adopt(path, entry, collection)
        self._calendars[collection.name] = path

    def changes(self, collection: Collection, cursor: str | None) -> Changes:
        """Changes since ``cursor`` via sync-collection; a full listing if it is None or stale."""
        state = load_cursor(cursor, collection.name)
        calendar = state["calendar"] if state else self._calendar(collection)
        if state and "etags" in state:
            return self._etag_changes(collection, calendar, state["etags"])
        try:
            if state and state.get("token"):
                try:
                    return self._sync_changes(collection, calendar, state["token"])
                except InvalidToken:
                    log.info("%s forgot our sync token; listing it in full", calendar)
            return self._sync_changes(collection, calendar, "")
        except NoSync:
            return self._etag_changes(collection, calendar, None)

    def get(self, collection: Collection, remote_id: str) -> RemoteRecord:
        """The event at ``remote_id``; ``NotFound`` if it is gone."""
        response = self.dav.send("GET", remote_id)
        self.dav.check(response, _event(remote_id))
        etag = response.headers.get("ETag")
        record = self._record(collection, remote_id, etag, response.content)
        if record is None:
            raise NotFound(_("{id} holds no readable VEVENT").format(id=remote_id))
        self._keep([(remote_id, etag, response.content)])
        return record

    def create(self, collection: Collection, uid: str, fields: Mapping[str, Any]) -> RemoteRecord:
        """PUT a new event with UID ``uid@uid_domain``; ``PreconditionFailed`` if it exists."""
        try:
            body = ical.build(f"{uid}@{self.uid_domain}", fields, self._tz(collection))
        except ValueError as exc:
            raise RecordRejected(_event(uid, exc)) from None
        path = self._calendar(collection) + quote(uid, safe=SAFE) + ".ics"
        response = self.dav.put(path, body, {"If-None-Match": "*"}, _event(uid))
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
            raise RecordRejected(_event(remote_id, exc)) from None
        if body is None:
            record = self._record(collection, remote_id, etag, seen[1])
            if record is not None:
                return record
            return self._read_and_update(collection, remote_id, changes, etag)
        response = self.dav.put(remote_id, body, {"If-Match": etag}, _event(remote_id))
        return self._stored(collection, remote_id, response, body)

    def _read_and_update(
        self,
        collection: Collection,
        remote_id: str,
        changes: Mapping[str, Any],
        etag: str | None,
    ) -> RemoteRecord:
        current = self.dav.send("GET", remote_id)
        self.dav.check(current, _event(remote_id))
        current_etag = current.headers.get("ETag")
        try:
            body = ical.apply_changes(current.content, changes, self._tz(collection))
        except ValueError as exc:
            raise RecordRejected(_event(remote_id, exc)) from None
        if body is None and (etag is None or etag == current_etag):
            return self._stored(collection, remote_id, current, current.content)
        condition = etag or current_etag
        headers = {"If-Match": condition} if condition else {}
        response = self.dav.put(remote_id, body or current.content, headers, _event(remote_id))
        return self._stored(collection, remote_id, response, body or current.content)

    def delete(self, collection: Collection, remote_id: str, etag: str | None) -> None:
        """DELETE (with ``If-Match`` when ``etag`` is given); an event already gone is fine."""
        response = self.dav.send("DELETE", remote_id, headers={"If-Match": etag} if etag else {})
        if response.status_code not in (404, 410):
            self.dav.check(response, _event(remote_id))
        if self.bodies:
            self.bodies.drop([remote_id])

    def find_marker(self, collection: Collection, uid: str) -> RemoteRecord | None:
        """Try the uid-based href first (one GET); fall back to a full listing."""
        path = self._calendar(collection) + quote(uid, safe=SAFE) + ".ics"
        try:
            record = self.get(collection, path)
        except NotFound:
            record = None
        if record is not None and record.marker == uid:
            return record
        return super().find_marker(collection, uid)

    def close(self) -> None:
        """Close the HTTP session."""
        self.dav.close()

    def _count(self, requests: int) -> None:
        self.requests += requests

    def diagnose(self, collections: Sequence[Collection]) -> list[Finding]:
        """See :func:`connector.calendar_doctor.diagnose`; writes nothing."""
        from connector import calendar_doctor  # only ``connector doctor`` needs it

        return calendar_doctor.diagnose(self, collections)

    # -- calendars --------------------------------------------------------------------------

    def list_calendars(self) -> list[DavResponse]:
        """The event calendars under the home; Deck's app-generated ones are left out."""
        entries = self.dav.propfind(self.home(), LIST, depth="1")
        return [
            e for e in entries
            if f"{{{C}}}calendar" in tags(e.props.get(f"{{{D}}}resourcetype"))
            and not e.path.rstrip("/").rsplit("/", 1)[-1].startswith(APP_GENERATED)
        ]  # fmt: skip

    def home(self) -> str:
        """The path of the user's calendar home (found once)."""
        return self.dav.calendar_home()

    def _calendar(self, collection: Collection) -> str:
        if collection.name not in self._calendars:
            self._calendars[collection.name] = self.home() + quote(collection.name, safe=SAFE) + "/"
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
        props = props_xml(self._wanted(collection)) + (
            '<c:supported-calendar-component-set><c:comp name="VEVENT"/>'
            "</c:supported-calendar-component-set><c:calendar-timezone>"
            + escape(f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:{ical.PRODID}\r\n{timezone}")
            + "END:VCALENDAR\r\n</c:calendar-timezone>"
        )
        body = f"<c:mkcalendar {XMLNS}><d:set><d:prop>{props}</d:prop></d:set></c:mkcalendar>"
        response = self.dav.send("MKCALENDAR", path, body=xml(body))
        if response.status_code != 405:  # 405: someone created it meanwhile
            self.dav.check(response, _("calendar {path}").format(path=path))

    def _adopt(self, path: str, entry: DavResponse, collection: Collection) -> None:
        components = children(entry.props.get(f"{{{C}}}supported-calendar-component-set"))
        names = {c.get("name", "").upper() for c in components}
        if components and "VEVENT" not in names:
            why = _("calendar {path} does not accept events (only {components})")
            raise Fatal(why.format(path=path, components=sorted(names)))
        stale = {
            tag: value for tag, value in self._wanted(collection).items()
            if (entry.text(tag) or "").strip().lower() != value.strip().lower()
        }  # fmt: skip
        if stale:
            body = f"<d:propertyupdate {XMLNS}><d:set><d:prop>{props_xml(stale)}</d:prop>"
            body += "</d:set></d:propertyupdate>"
            response = self.dav.send("PROPPATCH", path, body=xml(body))
            if response.status_code >= 300:  # cosmetic: the calendar works all the same
                log.warning("cannot update the properties of %s (%s)", path, response.status_code)

    # -- change detection -------------------------------------------------------------------

    def _sync_changes(self, collection: Collection, calendar: str, token: str) -> Changes:
        present: dict[str, tuple[str | None, str | bytes | None]] = {}
        deleted: set[str] = set()
        next_token = token
        for _page in range(_MAX_PAGES):
            entries, next_token, truncated = self.dav.sync_page(calendar, next_token, bool(token))
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
            why = _("{calendar}: sync still truncated after {pages} pages")
            raise RetryLater(why.format(calendar=calendar, pages=_MAX_PAGES))
        records, gone = self._records(collection, calendar, present)
        if self.bodies and (deleted or gone):
            self.bodies.drop(deleted | gone)
        cursor = dump_cursor(calendar, token=next_token)
        if not token:
            return Changes(records, set(), complete=True, cursor=cursor)
        return Changes(records, deleted | gone, complete=False, cursor=cursor)

    def _etag_changes(
        self, collection: Collection, calendar: str, old: Mapping[str, str] | None
    ) -> Changes:
        entries = self.dav.propfind(calendar, ETAGS, depth="1")
        current = {
            e.path: e.text(ETAG) or "" for e in entries
            if e.path.rstrip("/") != calendar.rstrip("/")
            and not tags(e.props.get(f"{{{D}}}resourcetype"))
        }  # fmt: skip
        changed = {p: (t, None) for p, t in current.items() if old is None or old.get(p) != t}
        records, gone = self._records(collection, calendar, changed)
        etags = {p: t for p, t in current.items() if p not in gone}
        cursor = dump_cursor(calendar, etags=etags)
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
        fetched = self.dav.fetch(calendar, missing)
        records, seen = [], []
        for path, (etag, body) in sorted({**present, **fetched}.items()):
            record = None if body is None else self._record(collection, path, etag, body)
            if record is not None:
                records.append(record)
                seen.append((path, etag, body))
        self._keep(seen)
        return records, set(missing) - fetched.keys()

    # -- plumbing ---------------------------------------------------------------------------

    def _record(
        self, collection: Collection, path: str, etag: str | None, body: str | bytes
    ) -> RemoteRecord | None:
        try:
            uid, fields = ical.read_event(body, self._tz(collection))
        except (ValueError, KeyError, TypeError) as exc:
            # The parser's message may quote the event's text (names): the log names the kind.
            log.warning("skipping %s: not a readable event (%s)", path, type(exc).__name__)
            return None
        suffix = f"@{self.uid_domain}"
        marker = uid[: -len(suffix)] if uid.endswith(suffix) and uid != suffix else None
        return RemoteRecord(path, fields, etag, marker)

    def _stored(
        self, collection: Collection, path: str, response: Response, body: str | bytes
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
            why = _("calendar {name}: {error}")
            raise ConfigError(why.format(name=collection.name, error=exc)) from None


def _event(uid: str, error: ValueError | None = None) -> str:
    """How messages name an event (and ``ical``'s reason why the calendar cannot hold it)."""
    if error is None:
        return _("event {uid}").format(uid=uid)
    return _("event {uid}: {error}").format(uid=uid, error=error)
