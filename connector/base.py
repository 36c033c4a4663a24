"""The interface every platform adapter ("target") implements.

A target knows HTTP and its platform, nothing of cohorts. It stores records in
*collections* (a Deck board, a calendar, a mailing list) and exposes each record as a flat
dict of **normalised remote fields**: JSON-able values (str, int, bool, None, ISO-8601
strings for dates and times, sorted lists of str for set-valued fields). The engine merges on
those values, so two reads of an unchanged record must give equal dicts, whatever the
platform's own churn (timestamps, ETags, ordering).

Adapters raise the :class:`connector.errors.TargetError` family: ``PreconditionFailed`` when
an ``If-Match`` failed, ``NotFound`` for a missing or deleted record, ``RetryLater`` for
throttling and outages, ``RecordRejected`` for one bad record, ``Fatal`` when nothing can work.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from connector.errors import (
    ConfigError,
    ConnectorError,
    CredentialsError,
    NotFound,
    RetryLater,
    TargetError,
)
from connector.i18n import N_, _

#: ``email`` is text that compares case-insensitively (``Anna.B@x.example`` = ``anna.b@...``).
FieldType = Literal["text", "email", "int", "bool", "date", "datetime", "set"]


@dataclass(frozen=True)
class RemoteField:
    """A field a target exposes: its name, value type, and whether it can be written."""

    name: str
    type: FieldType = "text"
    writable: bool = True
    doc: str = ""
    #: Longest text the platform keeps; longer text is cut to ``max_length - 1`` characters
    #: plus "…". The engine renders canonical values the same way, so a cut is no edit.
    max_length: int | None = None


ELLIPSIS = "…"


def cut(text: str, max_length: int | None) -> str:
    """``text`` as a platform with ``max_length`` keeps it (cut ones end in "…")."""
    if max_length is None or len(text) <= max_length:
        return text
    return text[: max_length - 1] + ELLIPSIS


@dataclass(frozen=True)
class Collection:
    """Where a rule's records live on a target, and the options the adapter needs for it.

    ``name`` identifies it (board title, calendar id, list address); ``options`` carries
    adapter-specific settings from the mapping (stacks, labels, ACL, display name, ...).
    """

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)


def content_hash(fields: Mapping[str, Any]) -> str:
    """A stable hash of normalised field values (key order and set order do not matter)."""
    canonical = {
        key: sorted(value) if isinstance(value, list | set | frozenset | tuple) else value
        for key, value in fields.items()
    }
    blob = json.dumps(canonical, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class RemoteRecord:
    """One record as the target sees it.

    ``marker`` is the canonical uid found in the record (a card's footer, an event's UID), or
    None if the record carries none (added by hand, or a platform without markers).
    """

    remote_id: str
    fields: Mapping[str, Any]
    etag: str | None = None
    marker: str | None = None
    #: When the platform says the record last changed (ISO-8601), if it says; used by the
    #: ``newest`` conflict policy.
    modified_at: str | None = None

    @property
    def hash(self) -> str:
        """Content hash of the normalised fields."""
        return content_hash(self.fields)


@dataclass
class Changes:
    """What a target reports for a collection since a cursor.

    If ``complete`` is true, ``records`` is the whole collection and any linked record not in
    it is gone. Otherwise ``records`` holds the changed records and ``deleted`` the ids known to
    be gone. ``cursor`` is opaque text to hand back next time.
    """

    records: list[RemoteRecord]
    deleted: set[str] = field(default_factory=set)
    complete: bool = True
    cursor: str | None = None
    #: Things the operator should know that are not changes (e.g. a member whose mail
    #: bounces); the engine reports them with the pass.
    notes: list[str] = field(default_factory=list)


class Bodies(Protocol):
    """Where a target keeps the last-seen raw text of its records between passes (the
    store, per target): see :class:`sync.store.Store` ``body``/``save_bodies``."""

    def body(self, remote_id: str) -> tuple[str, bytes] | None:
        """(etag, raw text) last seen of ``remote_id``, or None."""

    def save(self, bodies: Iterable[tuple[str, str, bytes]]) -> None:
        """Keep (remote id, etag, raw text) per record."""

    def drop(self, remote_ids: Iterable[str]) -> None:
        """Forget records that are gone."""


class Target(ABC):
    """A platform the engine syncs with. Subclasses document their fields in ``FIELDS``."""

    #: The platform kind named in mapping files (``deck``, ``caldav``, ``mailman``, ``memory``).
    kind: ClassVar[str]
    #: The normalised fields this platform offers, by name.
    FIELDS: ClassVar[Mapping[str, RemoteField]]
    #: Whether the target keeps its records' raw text in ``bodies`` (given by the factory).
    keeps_bodies: ClassVar[bool] = False
    #: Whether a write answers with the record exactly as the next listing shows it (same
    #: etag and fields), so no settle round needs to list again after writes.
    writes_answer_as_listed: ClassVar[bool] = False

    def __init__(self) -> None:
        #: HTTP requests (or equivalent calls) made since the last ``reset_stats``.
        self.requests = 0
        #: Where the raw texts are kept, when ``keeps_bodies`` (None: nowhere, read first).
        self.bodies: Bodies | None = None

    def reset_stats(self) -> None:
        """Start counting requests from zero."""
        self.requests = 0

    def begin_pass(self) -> None:  # noqa: B027 - optional hook
        """A pass starts: drop what was cached for one pass only (nothing by default)."""

    @abstractmethod
    def open(self, collection: Collection) -> None:
        """Make sure ``collection`` exists with what the mapping asks for, creating what is
        missing and leaving alone everything the connector does not own."""

    @abstractmethod
    def changes(self, collection: Collection, cursor: str | None) -> Changes:
        """Report records changed since ``cursor`` (all records when ``cursor`` is None)."""

    @abstractmethod
    def get(self, collection: Collection, remote_id: str) -> RemoteRecord:
        """Read one record; ``NotFound`` if it is gone."""

    @abstractmethod
    def create(self, collection: Collection, uid: str, fields: Mapping[str, Any]) -> RemoteRecord:
        """Create a record carrying the canonical ``uid`` as its marker; return it as stored."""

    @abstractmethod
    def update(
        self,
        collection: Collection,
        remote_id: str,
        changes: Mapping[str, Any],
        etag: str | None,
    ) -> RemoteRecord:
        """Change only the given fields, keeping the rest of the record as it is.

        ``etag`` is the version the engine last saw; where the platform supports it the
        write is conditional and a newer remote version raises ``PreconditionFailed``.
        """

    @abstractmethod
    def delete(self, collection: Collection, remote_id: str, etag: str | None) -> None:
        """Delete a record; deleting one that is already gone is not an error."""

    #: Whether an existing record can be given a marker (:meth:`mark`): then records the
    #: connector adopts or imports carry their entity's uid like the ones it created.
    marks_records: ClassVar[bool] = False

    def mark(
        self, collection: Collection, remote_id: str, uid: str, etag: str | None
    ) -> RemoteRecord:
        """Write ``uid`` as the marker of an existing record, changing none of its fields;
        ``PreconditionFailed`` if it changed since ``etag``. Only where ``marks_records``."""
        raise NotImplementedError(f"{self.kind} records keep no marker of their own")

    def find_marker(self, collection: Collection, uid: str) -> RemoteRecord | None:
        """The record carrying ``uid`` as its marker, if any (used to heal after a crash)."""
        for record in self.changes(collection, None).records:
            if record.marker == uid:
                return record
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


# -- checking a configuration against the real platform (`connector doctor`) ---------------


@dataclass(frozen=True)
class Finding:
    """One line of ``connector doctor``: what was checked, what was found, what to do.

    ``exit_code`` is 0 when nothing needs doing, else the README's code for the kind of
    problem: 3 configuration, 5 credentials or permissions, 8 the platform failed, 9 it is
    unavailable. ``warning`` marks something that works but should be known.
    """

    subject: str
    message: str
    exit_code: int = 0
    fix: str = ""
    warning: bool = False

    @property
    def ok(self) -> bool:
        """Whether nothing needs fixing."""
        return self.exit_code == 0


def finding_from(subject: str, error: ConnectorError) -> Finding:
    """The finding for an error a check ran into (its exit code, its words)."""
    fixes = {
        CredentialsError: N_("fix the user or the secret of this target"),
        RetryLater: N_("check the URL, that the server runs and that this machine reaches it"),
        ConfigError: N_("fix the mapping or the secret's source"),
        NotFound: N_("check the URL and the user's rights"),
    }
    fix = next((_(text) for kind, text in fixes.items() if isinstance(error, kind)), "")
    if str(error).startswith("TLS:") or error.advises:
        fix = ""  # the message already says what to do
    code = error.exit_code if isinstance(error, TargetError | CredentialsError | ConfigError) else 8
    return Finding(subject, str(error), code, fix)


@runtime_checkable
class Diagnosable(Protocol):
    """Optional capability of a target: check the configuration without changing anything."""

    def diagnose(self, collections: Sequence[Collection]) -> list[Finding]:
        """Findings for the platform (reachable, credentials) and for each collection
        (exists or will be created, rights, what it depends on); writes nothing."""
