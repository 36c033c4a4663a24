"""``connector doctor`` for CalDAV: server, sign-in, calendar home, each calendar's rights
and whether it offers sync-collection. Reads only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import quote

from connector.base import Collection, Finding, finding_from
from connector.errors import ConnectorError
from connector.i18n import N_, _
from connector.webdav import PRIVILEGES, REPORTS, SAFE, D

if TYPE_CHECKING:
    from connector.calendars import CalendarTarget


def diagnose(target: CalendarTarget, collections: Sequence[Collection]) -> list[Finding]:
    """The server answers, the user signs in, its calendar home is found (and may hold new
    calendars); each calendar exists (or will be created), may be written, and offers
    sync-collection. Writes nothing."""
    where = f"CalDAV {target.dav.http.base_url}"
    try:
        home = target.home()
        existing = {e.path.rstrip("/") for e in target.list_calendars()}
    except ConnectorError as exc:
        return [finding_from(where, exc)]
    signed_in = _("reachable; user {user} signed in, home {home}")
    findings = [Finding(where, signed_in.format(user=target.dav.http.user, home=home))]
    paths = {c.name: home + quote(c.name, safe=SAFE) + "/" for c in collections}
    if any(path.rstrip("/") not in existing for path in paths.values()):
        findings += _may(target, home, PRIVILEGES, {"all", "write", "bind"}, N_("create calendars"))
    for collection in collections:
        subject = _("calendar {name!r}").format(name=collection.name)
        path = paths[collection.name]
        if path.rstrip("/") not in existing:
            findings.append(Finding(subject, _("does not exist yet; the first sync creates it")))
            continue
        rights = _may(target, path, REPORTS, {"all", "write", "write-content"}, N_("write events"))
        if rights:
            findings += [replace(f, subject=subject) for f in rights]
            continue
        findings.append(_sync_finding(target, subject, path))
    return findings


def _may(
    target: CalendarTarget, path: str, body: str, enough: set[str], what: str
) -> list[Finding]:
    """A finding if the server says the user lacks every privilege in ``enough`` (``what``:
    what the connector does with them, an ``N_()`` text)."""
    try:
        [entry, *_rest] = target.dav.propfind(path, body, depth="0")
    except ConnectorError as exc:
        return [finding_from(path, exc)]
    granted = entry.props.get(f"{{{D}}}current-user-privilege-set")
    if granted is None:
        return []  # the server does not say; the first write will tell
    names = {child.tag.rsplit("}", 1)[-1] for p in granted for child in p}
    if names & enough:
        return []
    user = target.dav.http.user
    lacks = _("user {user} may not {what} here (has: {rights})")
    fix = _("give {user} write access on the calendar server").format(user=user)
    return [
        Finding(
            path, lacks.format(user=user, what=_(what), rights=", ".join(sorted(names))), 5, fix
        )
    ]


def _sync_finding(target: CalendarTarget, subject: str, path: str) -> Finding:
    try:
        [entry, *_rest] = target.dav.propfind(path, REPORTS, depth="0")
    except ConnectorError as exc:
        return finding_from(subject, exc)
    reports = entry.props.get(f"{{{D}}}supported-report-set")
    if reports is not None and reports.find(f".//{{{D}}}sync-collection") is not None:
        return Finding(subject, _("exists, may be written and offers sync-collection"))
    return Finding(
        subject,
        _(
            "exists but the server offers no sync-collection (RFC 6578): every pass compares "
            "all ETags, which costs more requests"
        ),
        fix=_(
            "use a CalDAV server with sync-collection (Nextcloud, Radicale, Xandikos all have it)"
        ),
        warning=True,
    )
