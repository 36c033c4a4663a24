"""A small WebDAV/CalDAV client: requests, multistatus answers, errors by status.

It knows WebDAV (PROPFIND, REPORT, sync-collection, calendar-multiget, conditional PUT), not
events; :class:`connector.calendars.CalendarTarget` builds on it.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from connector.errors import (
    CredentialsError,
    Fatal,
    NotFound,
    PreconditionFailed,
    RecordRejected,
    RetryLater,
    advising,
)
from connector.http import HttpClient
from connector.http_wire import Response
from connector.i18n import _

D, C, APPLE = "DAV:", "urn:ietf:params:xml:ns:caldav", "http://apple.com/ns/ical/"
XMLNS = f'xmlns:d="{D}" xmlns:c="{C}" xmlns:x1="{APPLE}"'
PREFIX = {D: "d", C: "c", APPLE: "x1"}
ETAG, DATA = f"{{{D}}}getetag", f"{{{C}}}calendar-data"
SAFE = "@:+,;=!$&'()*~"
DATA_ERRORS = ("valid-calendar", "supported-calendar", "max-resource-size", "date-time")


def escape(text: str) -> str:
    """``text`` as XML character data (``xml.sax.saxutils.escape``, whose module loads
    urllib.request: 20 ms of every command's start-up)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _propfind(*props: str) -> str:
    return f'<?xml version="1.0" encoding="utf-8"?><d:propfind {XMLNS}><d:prop>{"".join(props)}</d:prop></d:propfind>'  # noqa: E501


DISCOVER = _propfind("<d:current-user-principal/>", "<c:calendar-home-set/>")
LIST = _propfind(
    "<d:resourcetype/>", "<d:displayname/>", "<c:calendar-description/>",
    "<x1:calendar-color/>", "<c:supported-calendar-component-set/>",
)  # fmt: skip
ETAGS = _propfind("<d:resourcetype/>", "<d:getetag/>")
REPORTS = _propfind("<d:supported-report-set/>", "<d:current-user-privilege-set/>")
PRIVILEGES = _propfind("<d:current-user-privilege-set/>")
_DATA = "<d:prop><d:getetag/><c:calendar-data/></d:prop>"
SYNC = (
    f'<?xml version="1.0" encoding="utf-8"?><d:sync-collection {XMLNS}>'
    f"<d:sync-token>{{token}}</d:sync-token><d:sync-level>1</d:sync-level>{_DATA}"
    "</d:sync-collection>"
)
MULTIGET = (
    f'<?xml version="1.0" encoding="utf-8"?><c:calendar-multiget {XMLNS}>{_DATA}{{hrefs}}'
    "</c:calendar-multiget>"
)


class InvalidToken(Exception):
    """The server no longer knows the sync token."""


class NoSync(Exception):
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
        return dav_path(found) if found else None


def dav_path(href: str) -> str:
    """The canonical (percent-encoded) path of an href, whatever the server's encoding."""
    return quote(unquote(urlsplit(href).path), safe="/" + SAFE)


def _status(line: str | None) -> int | None:
    match = re.match(r"\S+\s+(\d{3})", line or "")
    return int(match.group(1)) if match else None


def parse_multistatus(body: bytes | str) -> tuple[list[DavResponse], str | None]:
    """The responses of a 207 body, and its sync token if it carries one."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise Fatal(
            _("unreadable WebDAV answer ({error}); is this a CalDAV URL?").format(error=exc)
        ) from None
    entries = []
    for response in root.findall(f"{{{D}}}response"):
        entry = DavResponse(
            dav_path(response.findtext(f"{{{D}}}href") or ""),
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


class DavClient:
    """Requests to one WebDAV server; ``counted`` hears how many HTTP requests each made."""

    def __init__(
        self,
        url: str,
        user: str,
        password: str,
        *,
        verify: bool = True,
        counted: Callable[[int], None] = lambda _n: None,
    ) -> None:
        self.http = HttpClient(url, (user, password), verify=verify)
        parts = urlsplit(url)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        #: The path of ``url`` (the DAV root or principal).
        self.root = dav_path(parts.path.rstrip("/") + "/")
        self._counted = counted
        self._home: str | None = None

    def close(self) -> None:
        """Close the HTTP session."""
        self.http.close()

    def calendar_home(self) -> str:
        """The path of the user's CalDAV calendar home (found once)."""
        if self._home is None:
            found = self.propfind(self.root, DISCOVER, depth="0")[0]
            home = found.href(f"{{{C}}}calendar-home-set")
            principal = found.href(f"{{{D}}}current-user-principal")
            if home is None and principal is not None:
                home = self.propfind(principal, DISCOVER, depth="0")[0].href(
                    f"{{{C}}}calendar-home-set"
                )
            if home is None:
                why = _("{url} names no CalDAV calendar home; check the URL")
                raise advising(Fatal(why.format(url=self.http.base_url)))
            self._home = home.rstrip("/") + "/"
        return self._home

    def put(self, path: str, body: bytes, headers: dict[str, str], what: str) -> Response:
        """PUT an iCalendar body; raises the error family member if it failed."""
        headers = {"Content-Type": "text/calendar; charset=utf-8", **headers}
        response = self.send("PUT", path, body=body, headers=headers)
        self.check(response, what, write=True)
        return response

    def propfind(self, path: str, body: str, *, depth: str) -> list[DavResponse]:
        """The responses of a PROPFIND; ``NotFound`` for a missing collection."""
        response = self.send("PROPFIND", path, body=xml(body), headers={"Depth": depth})
        self.check(response, _("collection {path}").format(path=path))
        entries = parse_multistatus(response.content)[0]
        itself = [e for e in entries if e.path.rstrip("/") == path.rstrip("/")]
        # Xandikos answers a missing collection with 207 and a 404 inside.
        if (depth == "0" and not entries) or any(e.status == 404 for e in itself):
            raise NotFound(_("collection {path} not found").format(path=path))
        return entries

    def send(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """One request to ``path`` on the server."""
        if body is not None and method != "PUT":
            headers = {"Content-Type": "application/xml; charset=utf-8", **(headers or {})}
        before = self.http.requests
        try:
            return self.http.request(
                method, self._origin + path, data=body, headers=dict(headers or {})
            )
        except CredentialsError as exc:
            why = _("{error}: check the user and app password").format(error=exc)
            raise advising(CredentialsError(why)) from None
        finally:
            self._counted(self.http.requests - before)

    def check(self, response: Response, what: str, *, write: bool = False) -> None:
        """Raise the error family member for a failed answer about ``what``."""
        code = response.status_code
        if code < 300:
            return
        text = response.text
        reason = f"{what}: {code} {_message(text)}"
        if code in (404, 410):
            raise NotFound(reason)
        if any(marker in text for marker in DATA_ERRORS):
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

    def sync_page(
        self, calendar: str, token: str, incremental: bool
    ) -> tuple[list[DavResponse], str, bool]:
        """One page of sync-collection from ``token``: entries, next token, whether truncated.

        ``InvalidToken`` when the server forgot an ``incremental`` token, ``NoSync`` when it
        offers no sync-collection."""
        body = SYNC.format(token=escape(token))
        response = self.send("REPORT", calendar, body=xml(body), headers={"Depth": "0"})
        if response.status_code != 207:
            if "valid-sync-token" in response.text and incremental:
                raise InvalidToken(token)
            if response.status_code in (400, 403, 405, 409, 412, 415, 501):
                raise NoSync(response.status_code)
            self.check(response, _("calendar {path}").format(path=calendar))
        entries, new_token = parse_multistatus(response.content)
        own = [e for e in entries if e.path.rstrip("/") == calendar.rstrip("/")]
        truncated = any(e.status == 507 for e in own)
        items = [e for e in entries if e not in own]
        return items, new_token or token, truncated

    def fetch(self, calendar: str, paths: list[str]) -> dict[str, tuple[str | None, str | bytes]]:
        """Bodies of ``paths``: one GET for a single event, else one calendar-multiget."""
        if len(paths) == 1:
            response = self.send("GET", paths[0])
            if response.status_code in (404, 410):
                return {}
            self.check(response, _("event {uid}").format(uid=paths[0]))
            return {paths[0]: (response.headers.get("ETag"), response.content)}
        if not paths:
            return {}
        hrefs = "".join(f"<d:href>{escape(p)}</d:href>" for p in paths)
        response = self.send(
            "REPORT", calendar, body=xml(MULTIGET.format(hrefs=hrefs)), headers={"Depth": "1"}
        )
        self.check(response, _("calendar {path}").format(path=calendar))
        found: dict[str, tuple[str | None, str | bytes]] = {}
        for entry in parse_multistatus(response.content)[0]:
            data = entry.text(DATA)
            if data is not None and entry.status in (None, 200):
                found[entry.path] = (entry.text(ETAG), data)
        return found


def children(element: ET.Element | None) -> list[ET.Element]:
    return [] if element is None else list(element)


def tags(element: ET.Element | None) -> set[str]:
    return {child.tag for child in children(element)}


def xml(text: str) -> bytes:
    if not text.startswith("<?xml"):
        text = '<?xml version="1.0" encoding="utf-8"?>' + text
    return text.encode("utf-8")


def props_xml(props: Mapping[str, str]) -> str:
    parts = []
    for tag, value in props.items():
        namespace, local = tag[1:].split("}")
        name = f"{PREFIX[namespace]}:{local}"
        parts.append(f"<{name}>{escape(value)}</{name}>")
    return "".join(parts)


def dump_cursor(calendar: str, **state: Any) -> str:
    """The cursor of a collection: its path and its sync token or ETags, as JSON."""
    return json.dumps({"v": 1, "calendar": calendar, **state}, separators=(",", ":"))


def load_cursor(cursor: str | None, name: str) -> dict[str, Any] | None:
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
