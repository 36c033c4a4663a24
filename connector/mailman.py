"""GNU Mailman 3 mailing lists as a target: one record per list member.

A collection is a list, named by its posting address (``mentees-10@mentoring.example.org``);
its options may carry ``display_name``, ``description``, ``subject_prefix``, ``policies`` (list
settings applied when the adapter creates the list) and ``send_welcome_message`` (default
false: the connector itself sends no mail). A record is a member, identified by Mailman's
``member_id``, which survives address changes.

Mailman has no conditional writes, no "changed since" and nowhere to keep the canonical uid,
so every pass lists the whole membership (``complete=True``), markers are always None (the
engine adopts members by address) and writes ignore the etag. The cursor is the JSON map
``{member_id: http_etag}`` of the previous listing; it lets a pass name the members that left
since then in ``Changes.deleted``. Members whose delivery Mailman disabled (bounces, their own
choice, a moderator) stay in the listing with ``delivery_status`` saying why: they are never
removed for that.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, ClassVar

from connector import mailman_doctor
from connector.base import (
    Changes,
    Collection,
    Finding,
    RemoteField,
    RemoteRecord,
    Target,
)
from connector.errors import (
    Fatal,
    InputError,
    NotFound,
    RecordRejected,
    TargetError,
)
from connector.http import HttpClient
from connector.i18n import _
from connector.mailman_api import MailmanApi, last_segment, quote

_LIST_TEXT_OPTIONS = ("display_name", "description", "subject_prefix")


@dataclass(frozen=True)
class Announcement:
    """A circular mail to a list: what it says, how many members would get it, and, once
    sent, the file Mailman queued it under."""

    list_address: str
    sender: str
    subject: str
    body: str
    recipients: int
    dry_run: bool = True
    queue_file: str | None = None


def list_address(collection: Collection) -> tuple[str, str, str]:
    """(posting address, mail host, list_id) of a collection; Fatal if it is no address."""
    fqdn = collection.name.strip().lower()
    local, at, host = fqdn.partition("@")
    if not local or not at or "@" in host or "." not in host:
        why = _("{name!r} is not a mailing list address (name@domain)")
        raise Fatal(why.format(name=collection.name))
    return fqdn, host, f"{local}.{host}"


def _email(fields: Mapping[str, Any]) -> str:
    email = str(fields.get("email") or "").strip().lower()
    local, at, host = email.partition("@")
    if not local or not at or "@" in host or "." not in host or any(c.isspace() for c in email):
        why = _("not an e-mail address: {email!r}")
        raise RecordRejected(why.format(email=fields.get("email")))
    return email


def _record(entry: Mapping[str, Any], delivery_status: str) -> RemoteRecord:
    fields = {
        "email": str(entry["email"]).lower(),
        "display_name": str(entry.get("display_name") or ""),
        "delivery_status": delivery_status,
    }
    return RemoteRecord(str(entry["member_id"]), fields, entry.get("http_etag"), marker=None)


def _list_settings(options: Mapping[str, Any]) -> dict[str, Any]:
    settings = {key: options[key] for key in _LIST_TEXT_OPTIONS if key in options}
    settings.update(options.get("policies") or {})
    return settings


def _load_cursor(cursor: str | None) -> dict[str, str]:
    if not cursor:
        return {}
    try:
        seen = json.loads(cursor)
    except ValueError:
        return {}
    return seen if isinstance(seen, dict) else {}


class MailmanTarget(Target):
    """Members of Mailman 3 lists, through the core's REST API 3.1 (admin credentials)."""

    kind = "mailman"
    FIELDS: ClassVar[Mapping[str, RemoteField]] = {
        "email": RemoteField(
            "email", "email", doc="The subscribed address, lower-cased; the natural key."
        ),
        "display_name": RemoteField(
            "display_name", "text",
            doc="The name Mailman shows for the address (shared by all its memberships).",
        ),
        "delivery_status": RemoteField(
            "delivery_status", "text", writable=False,
            doc='"enabled", or why delivery is off: by_bounces, by_user, by_moderator, unknown.',
        ),
    }  # fmt: skip

    def __init__(
        self, url: str, user: str, password: str, *, verify: bool = True, page_size: int = 500
    ) -> None:
        self.http = HttpClient(url, (user, password), verify=verify)
        super().__init__()
        self.api = MailmanApi(self.http)
        self.page_size = page_size

    @property
    def requests(self) -> int:
        """HTTP requests sent (retries included) since the last ``reset_stats``."""
        return self.http.requests

    @requests.setter
    def requests(self, value: int) -> None:
        self.http.requests = value

    def diagnose(self, collections: Sequence[Collection]) -> list[Finding]:
        """``connector doctor``'s checks (see :mod:`connector.mailman_doctor`); writes nothing."""
        return mailman_doctor.diagnose(self, collections)

    def open(self, collection: Collection) -> None:
        """Create the list (and its domain) if missing, with the mapping's settings; an
        existing list is left exactly as it is."""
        fqdn, host = list_address(collection)[:2]
        if self.api.get_list(fqdn) is not None:
            return
        self.api.ensure_domain(host)
        list_id = self.api.create_list(fqdn)
        if list_id is None:
            return
        settings = _list_settings(collection.options)
        try:
            self.api.configure_list(list_id, settings)
        except TargetError as exc:
            # Without this, the next open() would find the list and never apply the settings.
            self.api.delete_list(list_id)
            why = _("Mailman refused the settings of {list}, list not created: {error}")
            raise Fatal(why.format(list=fqdn, error=exc)) from exc

    def changes(self, collection: Collection, cursor: str | None) -> Changes:
        """The whole membership (Mailman cannot tell what changed), plus who left since
        ``cursor``."""
        list_id = list_address(collection)[2]
        entries, disabled = self.api.roster_and_status(list_id, self.page_size)
        records = [_record(e, disabled.get(str(e["member_id"]), "enabled")) for e in entries]
        seen = {record.remote_id: record.etag for record in records}
        gone = set(_load_cursor(cursor)) - set(seen)
        kept = _("{email}: delivery disabled ({status}); kept on the list")
        notes = [
            kept.format(email=r.fields["email"], status=r.fields["delivery_status"])
            for r in records
            if r.fields["delivery_status"] != "enabled"
        ]
        return Changes(
            records, gone, complete=True, cursor=json.dumps(seen, sort_keys=True), notes=notes
        )

    def get(self, collection: Collection, remote_id: str) -> RemoteRecord:
        """One member of this list; NotFound if it left (or belongs to another list)."""
        entry = self._member(collection, remote_id)
        return _record(entry, self.api.delivery_status(remote_id))

    def create(self, collection: Collection, uid: str, fields: Mapping[str, Any]) -> RemoteRecord:
        """Subscribe an address, pre-confirmed (the person agreed on enrolment). An address
        that already is a member is adopted as it is, never subscribed twice."""
        self._check_writable(fields)
        list_id = list_address(collection)[2]
        email = _email(fields)
        name = str(fields.get("display_name") or "")
        welcome = bool(collection.options.get("send_welcome_message", False))
        member_id = self.api.subscribe(list_id, email, name, welcome)
        if member_id is None:
            existing = self.api.find_member(list_id, email)
            if existing is None:
                why = _("Mailman calls {email} a member of {list} but lists none")
                raise NotFound(why.format(email=email, list=list_id))
            return self.get(collection, str(existing["member_id"]))
        record = self.get(collection, member_id)
        if "display_name" in fields and record.fields["display_name"] != name:
            # Mailman ignores the name given on subscription when the address already exists.
            self.api.set_display_name(email, name)
            record = self.get(collection, member_id)
        return record

    def update(
        self,
        collection: Collection,
        remote_id: str,
        changes: Mapping[str, Any],
        etag: str | None,
    ) -> RemoteRecord:
        """Change the name and/or address of a member; an address change moves the same
        membership (member_id, preferences) to the new address. ``etag`` is not checked:
        Mailman has no conditional writes."""
        self._check_writable(changes)
        entry = self._member(collection, remote_id)
        email = str(entry["email"]).lower()
        name = str(changes.get("display_name", entry.get("display_name")) or "")
        moved = "email" in changes and _email(changes) != email
        if moved:
            email = self._move(collection, entry, _email(changes), name)
        if moved or name != (entry.get("display_name") or ""):
            self.api.set_display_name(email, name)
        return self.get(collection, remote_id)

    def delete(self, collection: Collection, remote_id: str, etag: str | None) -> None:
        """Unsubscribe without any goodbye mail; a member already gone is fine."""
        try:
            entry = self._member(collection, remote_id)
        except NotFound:
            return
        list_id = list_address(collection)[2]
        self.api.unsubscribe(list_id, str(entry["email"]))

    def erase_addresses(self, emails: Iterable[str]) -> int:
        """Delete the Mailman users that own ``emails``, with every address they hold.

        Changing a member's address keeps the old one on the same user, so erasing a person
        goes through the user to find them all. Returns how many addresses were deleted.
        """
        removed: set[str] = set()
        for email in emails:
            owner = self._owner(email)
            if owner is None:
                continue
            user_id, owned = owner
            for item in owned:
                response = self.api.call(
                    "DELETE", f"/addresses/{quote(item)}", allow=frozenset({404})
                )
                if response.status_code < 300:
                    removed.add(item.lower())
            if user_id is not None:
                self.api.call("DELETE", f"/users/{user_id}", allow=frozenset({404}))
        return len(removed)

    def addresses_of(self, emails: Iterable[str]) -> list[str]:
        """``emails`` (those Mailman has) and every other address of the users owning them
        (an address change keeps the old one on the user). Reads only."""
        found: list[str] = []
        for email in emails:
            owner = self._owner(email)
            found += owner[1] if owner is not None else []
        return list(dict.fromkeys(found))

    def _owner(self, email: str) -> tuple[str | None, list[str]] | None:
        """The user id owning ``email`` (None: no user) and the addresses it holds, or None
        if Mailman has no such address."""
        address = self.api.get_json(f"/addresses/{quote(email)}")
        if address is None:
            return None
        user = address.get("user")
        user_id = last_segment(str(user)) if user else None
        owned = [email]
        if user_id is not None:
            listing = self.api.get_json(f"/users/{user_id}/addresses") or {}
            owned += [str(entry["email"]) for entry in listing.get("entries", [])]
        return user_id, list(dict.fromkeys(owned))

    def announce(
        self, collection: Collection, subject: str, body: str, *, sender: str, dry_run: bool = True
    ) -> Announcement:
        """Preview (``dry_run``, the default) or post a circular mail through the list.

        Posting injects the message into the list's incoming queue, so it goes through the
        list's own rules (moderation, archive, digests) like any post by ``sender``.
        """
        fqdn, host, list_id = list_address(collection)
        _check_message(subject, body, sender)
        records = self.changes(collection, None).records
        recipients = sum(1 for r in records if r.fields["delivery_status"] == "enabled")
        preview = Announcement(fqdn, sender, subject, body, recipients, dry_run=dry_run)
        if dry_run:
            return preview
        text = _message(fqdn, host, sender, subject, body)
        return replace(preview, queue_file=self.api.inject(list_id, text))

    def close(self) -> None:
        """Release the HTTP session."""
        self.http.close()

    def _member(self, collection: Collection, remote_id: str) -> dict[str, Any]:
        list_id = list_address(collection)[2]
        entry = self.api.member(remote_id) if remote_id else None
        if entry is None or entry.get("list_id") != list_id or entry.get("role") != "member":
            why = _("member {id} is not on the list {list}")
            raise NotFound(why.format(id=remote_id, list=collection.name))
        return entry

    def _move(self, collection: Collection, entry: Mapping[str, Any], new: str, name: str) -> str:
        list_id = list_address(collection)[2]
        old = str(entry["email"])
        if self.api.find_member(list_id, new) is not None:
            why = _("cannot change {old} to {new}: {new} is already on {list}")
            raise RecordRejected(why.format(old=old, new=new, list=list_id))
        user = entry.get("user")
        user_id = last_segment(str(user)) if user else self.api.link_user(old)
        try:
            self.api.add_address(user_id, new, name)
            self.api.move_member(str(entry["member_id"]), new)
        except RecordRejected as exc:
            why = _("cannot change {old} to {new}: {error}")
            raise RecordRejected(why.format(old=old, new=new, error=exc)) from exc
        return new

    def _check_writable(self, fields: Mapping[str, Any]) -> None:
        refused = sorted(k for k in fields if k not in self.FIELDS or not self.FIELDS[k].writable)
        if refused:
            why = _("Mailman members cannot be given {fields}")
            raise RecordRejected(why.format(fields=", ".join(refused)))


def _check_message(subject: str, body: str, sender: str) -> None:
    problems = []
    if not subject.strip() or "\n" in subject or "\r" in subject:
        problems.append(_("the subject must be one non-empty line"))
    if not body.strip():
        problems.append(_("the body is empty"))
    if "@" not in sender or any(c.isspace() or c in "<>,;" for c in sender.strip()):
        why = _("the sender {sender!r} is not a plain e-mail address")
        problems.append(why.format(sender=sender))
    if problems:
        why = _("cannot announce: {problems}")
        raise InputError(why.format(problems="; ".join(problems)), problems)


def _message(list_fqdn: str, host: str, sender: str, subject: str, body: str) -> str:
    message = EmailMessage()
    message["From"] = sender.strip()
    message["To"] = list_fqdn
    message["Subject"] = subject.strip()
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=host)
    message.set_content(body)
    return message.as_string()
