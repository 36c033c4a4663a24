"""Step 1 of a round: what the platform holds of a rule's collection, since its cursor."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

from connector import ahead
from connector.base import Changes, Collection, RemoteRecord, Target, content_hash
from connector.errors import NotFound
from mappings.schema import Rule
from sync.catalog import Catalog
from sync.engine_core import EngineCore
from sync.opening import guard
from sync.plan import DETACHED, Snapshot
from sync.plan_skip import settled
from sync.store_changes import PlanMark


class Pulling(EngineCore):
    """Reads a rule's collection into the snapshot the planner works on."""

    def _pull(
        self, rule: Rule, target: Target, collection: Collection, catalog: Catalog, *, write: bool
    ) -> tuple[Changes, Snapshot]:
        key = self.key(rule)
        cursor, options_hash = self.store.cursor(key)
        with self._opening(rule, key, cursor):
            changes = self._changes(target, collection, key, cursor, options_hash, write=write)
        records = {r.remote_id: r for r in changes.records}
        links = self.cache.links(self.store, key)
        unlisted: list[str] = []
        if not changes.complete:
            deleted = changes.deleted
            unlisted = [
                uid
                for uid, link in links.items()
                if link.remote_id not in records
                and link.remote_id not in deleted
                and not link.remote_id.startswith(DETACHED)
            ]
        pending = self.store.pending_conflicts(key)
        journal = self.store.journal(key)
        # A platform that cannot tell what changed (Mailman, Deck) lists everything: a listed
        # record that is exactly its link's last-seen copy (same ETag, same fields) counts as
        # unlisted would.
        unchanged = unlisted or [
            uid
            for uid, link in links.items()
            if _as_last_seen(records.get(link.remote_id), link.remote_etag, link.seen)
        ]
        skip = frozenset[str]()
        if unchanged and catalog.seq is not None:
            view = self.views[rule.name]
            skip = settled(self.store, view, self.today(), unchanged, pending, journal)
        # Unchanged records are filled in from each link's last-seen copy; settled ones are
        # not planned, so they need none.
        for uid in unlisted:
            if uid not in skip:
                link = links[uid]
                records[link.remote_id] = RemoteRecord(
                    link.remote_id, link.seen, link.remote_etag, uid
                )
        snapshot = Snapshot(
            links,
            records,
            {(c.uid, c.field): c for c in pending},
            journal,
            self.store.is_deleted,
            skip,
        )
        return changes, snapshot

    def _changes(
        self,
        target: Target,
        collection: Collection,
        key: str,
        cursor: str | None,
        options_hash: str | None,
        *,
        write: bool,
    ) -> Changes:
        links = self.cache.links(self.store, key)
        if cursor is not None and _links_went_missing(self.store.plan_mark(key), len(links)):
            # Links removed outside a pass (a store restored in part, rows deleted by hand):
            # an incremental listing would not show their records again, and the entities
            # would be created anew on top of them. The whole listing finds them by marker.
            cursor = None
        if cursor is None or options_hash != content_hash(collection.options):
            return self._full_listing(target, collection, write=write)
        try:
            return target.changes(collection, cursor)
        except NotFound:
            # The collection vanished from the platform: make it again, list it whole.
            return self._full_listing(target, collection, write=write)

    def _opening(self, rule: Rule, key: str, cursor: str | None) -> AbstractContextManager[None]:
        """Note the requests the collection's reading opens with (see :mod:`sync.opening`)."""
        secret = self.mapping.targets[rule.target].secret
        return ahead.recording(
            key,
            guard(cursor),
            secret.env if secret is not None else None,
            allowed=secret is None or secret.command is None,
        )

    def _full_listing(self, target: Target, collection: Collection, *, write: bool) -> Changes:
        if write:
            target.open(collection)
            return target.changes(collection, None)
        try:
            return target.changes(collection, None)
        except NotFound:
            return Changes([], set(), True, None)  # the pass would create the collection


def _as_last_seen(record: RemoteRecord | None, etag: str | None, seen: Mapping[str, Any]) -> bool:
    """Whether ``record`` is the copy last seen of it: its ETag and its fields unchanged."""
    return (
        record is not None
        and record.etag is not None
        and record.etag == etag
        and (record.fields == seen)
    )


def _links_went_missing(mark: PlanMark | None, links: int) -> bool:
    """Whether the rule has fewer links than its last complete plan left (the engine drops
    links only in its rounds, which record the count after them)."""
    return mark is not None and mark.links is not None and links < mark.links
