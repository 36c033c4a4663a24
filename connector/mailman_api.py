"""Thin calls to the GNU Mailman 3.3 core REST API (version 3.1), with its statuses mapped.

One method per endpoint the Mailman adapter uses; no cohort logic. Mailman answers errors as
``{"title": "400 Bad Request", "description": "..."}``; 404 becomes ``NotFound``, 400
``RecordRejected`` carrying Mailman's reason, 500 ``RetryLater`` and anything unexpected
``Fatal``. Forms are sent URL-encoded, the encoding every Mailman endpoint accepts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote as _quote

from connector.errors import Fatal, NotFound, RecordRejected, RetryLater
from connector.http import HttpClient
from connector.http_wire import Response
from connector.i18n import _

API = "/3.1"
#: Delivery states other than "enabled" (Mailman's ``DeliveryStatus`` enum).
DISABLED_STATUSES = ("by_user", "by_bounces", "by_moderator", "unknown")
#: What a roster entry is asked for: the rest of Mailman's member resource (address and user
#: links, delivery mode, moderation, bounce counters) costs preference and user look-ups per
#: member, four times the time of these three for 1,000 members.
ROSTER_FIELDS = ["member_id", "email", "display_name"]
#: Above this many members with delivery off, four status queries beat one GET per member.
PER_MEMBER_LOOKUPS = 25


def reason(response: Response) -> str:
    """Mailman's explanation of an error answer, or its status line."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        return str(body.get("description") or body.get("title") or response.status_code)
    return str(body)


def form(values: Mapping[str, Any]) -> dict[str, Any]:
    """Form fields as Mailman's validators read them (booleans as ``true``/``false``)."""
    return {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in values.items()}


def quote(segment: str) -> str:
    """``segment`` escaped for one path segment (``/`` included)."""
    return _quote(segment, safe="@")


def last_segment(url: str) -> str:
    """The id at the end of a Mailman resource URL (``.../members/<id>`` -> ``<id>``)."""
    return url.rstrip("/").rsplit("/", 1)[-1]


class MailmanApi:
    """The Mailman REST endpoints the adapter needs, over the project's HttpClient."""

    def __init__(self, http: HttpClient) -> None:
        self.http = http

    def call(
        self, method: str, path: str, *, allow: frozenset[int] = frozenset(), **kwargs: Any
    ) -> Response:
        """Send a request; return 2xx answers and those in ``allow``, raise for the rest."""
        response = self.http.request(method, f"{API}{path}", **kwargs)
        status = response.status_code
        if status < 300 or status in allow:
            return response
        what = f"Mailman {method} {path}"
        if status == 404:
            raise NotFound(_("{request}: not found").format(request=what))
        if status == 400:
            raise RecordRejected(f"{what}: {reason(response)}")
        if status >= 500:
            message = _("{request} failed on the server ({status}): {reason}")
            raise RetryLater(message.format(request=what, status=status, reason=reason(response)))
        message = _("{request} answered {status}: {reason}")
        raise Fatal(message.format(request=what, status=status, reason=reason(response)))

    def get_json(self, path: str, **params: Any) -> dict[str, Any] | None:
        """GET a resource as JSON; None if Mailman answers 404."""
        response = self.call("GET", path, allow=frozenset({404}), params=params or None)
        if response.status_code == 404:
            return None
        body: dict[str, Any] = response.json()
        return body

    # -- domains and lists ---------------------------------------------------------------

    def ensure_domain(self, mail_host: str) -> None:
        """Create the domain unless it exists (a concurrent creation is fine)."""
        path = f"/domains/{quote(mail_host)}"
        if self.get_json(path) is not None:
            return
        response = self.call("POST", "/domains", data={"mail_host": mail_host}, allow=_BAD)
        if response.status_code == 400 and self.get_json(path) is None:
            raise Fatal(
                _("Mailman refused the domain {domain}: {reason}").format(
                    domain=mail_host, reason=reason(response)
                )
            )

    def get_list(self, fqdn: str) -> dict[str, Any] | None:
        """The list resource for a posting address, or None."""
        return self.get_json(f"/lists/{quote(fqdn)}")

    def create_list(self, fqdn: str) -> str | None:
        """Create a list and return its list_id; None if it appeared meanwhile."""
        response = self.call("POST", "/lists", data={"fqdn_listname": fqdn}, allow=_BAD)
        if response.status_code == 400:
            if self.get_list(fqdn) is not None:
                return None
            raise Fatal(
                _("Mailman refused to create the list {list}: {reason}").format(
                    list=fqdn, reason=reason(response)
                )
            )
        return last_segment(response.headers["Location"])

    def configure_list(self, list_id: str, settings: Mapping[str, Any]) -> None:
        """PATCH list settings (display_name, policies, ...)."""
        self.call("PATCH", f"/lists/{list_id}/config", data=form(settings))

    def delete_list(self, list_id: str) -> None:
        """Remove a list (only ever one this adapter has just created)."""
        self.call("DELETE", f"/lists/{list_id}", allow=frozenset({404}))

    # -- members -------------------------------------------------------------------------

    def collect(self, path: str, page_size: int, **params: Any) -> list[dict[str, Any]]:
        """All entries of a paginated collection; restarts if its size moved meanwhile."""
        for _attempt in range(3):
            entries, total = self._pages(path, page_size, params)
            if total is not None and len(entries) == total:
                return entries
        raise RetryLater(
            _("Mailman {path} kept changing while it was listed; try again").format(path=path)
        )

    def _pages(
        self, path: str, page_size: int, params: Mapping[str, Any]
    ) -> tuple[list[dict[str, Any]], int | None]:
        entries: list[dict[str, Any]] = []
        total: int | None = None
        page = 1
        while total is None or len(entries) < total:
            body = self.get_json(path, **params, count=page_size, page=page)
            if body is None:
                raise NotFound(_("Mailman {path}: not found").format(path=path))
            if total is not None and body["total_size"] != total:
                return entries, None
            total = int(body["total_size"])
            batch = body.get("entries", [])
            if not batch:
                break
            entries.extend(batch)
            page += 1
        return entries, total

    def roster(self, list_id: str, page_size: int) -> list[dict[str, Any]]:
        """Every regular member of a list (owners and moderators are not members), with the
        fields a member record is made of (:data:`ROSTER_FIELDS`) and its ``http_etag``."""
        return self.collect(f"/lists/{list_id}/roster/member", page_size, fields=ROSTER_FIELDS)

    def roster_and_status(
        self, list_id: str, page_size: int
    ) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """The roster (as :meth:`roster`) and {member_id: delivery status} of its members whose
        delivery is off (as :meth:`disabled`).

        Mailman answers the status query by reading every member's preferences: it takes
        longer than the whole roster. So it is sent first, on a connection of its own, and the
        roster is read while Mailman works on it (Mailman serves requests in parallel with
        more than one worker, its default; with one, the two simply queue). A member who joins
        between the two answers is not among the enabled ones and is looked up on its own.
        """
        from concurrent.futures import ThreadPoolExecutor

        side = self.http.sibling()
        try:
            # Leaving the pool waits for the query, also when reading the roster failed.
            with ThreadPoolExecutor(max_workers=1) as pool:
                enabled = pool.submit(MailmanApi(side)._find_ids, list_id, "enabled")
                entries = self.roster(list_id, page_size)
                found = enabled.result()
        finally:
            self.http.requests += side.requests
            side.close()
        ids = [str(entry["member_id"]) for entry in entries]
        return entries, self.disabled(list_id, ids, enabled=found)

    def disabled(
        self, list_id: str, member_ids: list[str], *, enabled: set[str] | None = None
    ) -> dict[str, str]:
        """{member_id: delivery status} for those of ``member_ids`` whose delivery is off.

        Mailman keeps the status in preferences, which member listings leave out, and filters
        on it in Python over the whole list: each filtered query costs about a roster pass.
        So ask once who is enabled (ids only, one unpaginated answer, since every page would
        filter the whole list again; ``enabled`` when already asked) and look up the few
        others one by one.
        """
        if not member_ids:
            return {}
        if enabled is None:
            enabled = self._find_ids(list_id, "enabled")
        others = [member_id for member_id in member_ids if member_id not in enabled]
        if len(others) > PER_MEMBER_LOOKUPS:
            return {m: s for s in DISABLED_STATUSES for m in self._find_ids(list_id, s)}
        found: dict[str, str] = {}
        for member_id in others:
            with contextlib.suppress(NotFound):  # left since the roster was read
                found[member_id] = self.delivery_status(member_id)
        return found

    def _find_ids(self, list_id: str, status: str) -> set[str]:
        body = self.get_json(
            "/members/find",
            list_id=list_id, role="member", delivery_status=status, fields="member_id",
        )  # fmt: skip
        return {str(entry["member_id"]) for entry in (body or {}).get("entries", [])}

    def member(self, member_id: str) -> dict[str, Any] | None:
        """A member resource by id, or None if it is gone."""
        return self.get_json(f"/members/{quote(member_id)}")

    def delivery_status(self, member_id: str) -> str:
        """The member's effective delivery status (member, address or user preference)."""
        prefs = self.get_json(f"/members/{quote(member_id)}/all/preferences")
        if prefs is None:
            raise NotFound(_("Mailman member {id} is gone").format(id=member_id))
        return str(prefs.get("delivery_status", "enabled"))

    def find_member(self, list_id: str, email: str) -> dict[str, Any] | None:
        """The regular member of ``list_id`` subscribed with ``email``, if any."""
        body = self.get_json("/members/find", list_id=list_id, subscriber=email, role="member")
        entries = (body or {}).get("entries", [])
        return entries[0] if entries else None

    def subscribe(self, list_id: str, email: str, display_name: str, welcome: bool) -> str | None:
        """Subscribe without confirmation or approval; member_id, or None if already one."""
        data = {
            "list_id": list_id, "subscriber": email, "display_name": display_name,
            "pre_verified": True, "pre_confirmed": True, "pre_approved": True,
            "send_welcome_message": welcome,
        }  # fmt: skip
        response = self.call("POST", "/members", data=form(data), allow=_SUBSCRIBE)
        status, why = response.status_code, reason(response)
        if status == 201:
            return last_segment(response.headers["Location"])
        if status == 409 and "already subscribed" in why.lower():
            return None
        if status == 400:
            refused = _("Mailman refused to subscribe {email} to {list}: {reason}")
            raise RecordRejected(refused.format(email=email, list=list_id, reason=why))
        held = _("Mailman holds the subscription of {email} to {list}: {reason}")
        raise RecordRejected(held.format(email=email, list=list_id, reason=why))

    def unsubscribe(self, list_id: str, email: str) -> bool:
        """Remove ``email`` from the list without goodbye or admin notice; False if absent."""
        # DELETE /members/{id} sends the list's goodbye message; the roster route does not.
        response = self.call("DELETE", f"/lists/{list_id}/roster/member", data={"emails": [email]})
        return bool(response.json().get(email, False))

    def set_display_name(self, email: str, display_name: str) -> None:
        """Set the name shown for an address (and for every member subscribed with it)."""
        self.call("PATCH", f"/addresses/{quote(email)}", data={"display_name": display_name})

    def link_user(self, email: str) -> str:
        """Give an address without a user one; return the user id."""
        self.call("POST", f"/addresses/{quote(email)}/user", data={"auto_create": "true"})
        address = self.get_json(f"/addresses/{quote(email)}") or {}
        return last_segment(str(address["user"]))

    def add_address(self, user_id: str, email: str, display_name: str) -> None:
        """Make ``email`` a verified address of the user; RecordRejected if another owns it."""
        address = self.get_json(f"/addresses/{quote(email)}")
        owner = last_segment(str(address["user"])) if address and "user" in address else None
        if owner is None:
            data = {"email": email, "display_name": display_name}
            self.call("POST", f"/users/{user_id}/addresses", data=data)
        elif owner != user_id:
            raise RecordRejected(
                _("{email} belongs to another person's Mailman account").format(email=email)
            )
        self.call("POST", f"/addresses/{quote(email)}/verify")

    def move_member(self, member_id: str, email: str) -> None:
        """Point a membership at another address of the same user; preferences stay."""
        self.call("PATCH", f"/members/{quote(member_id)}", data={"address": email})

    def inject(self, list_id: str, text: str, queue: str = "in") -> str:
        """Put a raw RFC 5322 message into a Mailman queue; return the queue file's name."""
        response = self.call("POST", f"/queues/{queue}", data={"list_id": list_id, "text": text})
        return last_segment(response.headers["Location"])


_BAD = frozenset({400})
_SUBSCRIBE = frozenset({202, 400, 409})
