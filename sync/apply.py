"""Step 4 of a pass: carry out planned items, one committed transaction per item.

Every remote write is journalled before it is sent and the journal entry is closed in the same
transaction that saves the link, the base and any canonical change. A crash between the write
and that commit leaves the entry behind; the next pass finds the record by its marker and
adopts it (no duplicate), and the three-way merge sees that both sides already agree (no lost
edit).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from connector.base import RemoteRecord
from connector.errors import NotFound, PreconditionFailed, RecordRejected
from mappings.paths import Embargoed
from sync.apply_commit import Check as Check
from sync.apply_commit import Committer
from sync.apply_commit import Consequences as Consequences
from sync.apply_commit import Tally as Tally
from sync.apply_commit import new_uid as new_uid
from sync.i18n import _, a_kind
from sync.model import Person, describe_validation_error, entity_type
from sync.plan import DETACHED, Action, Held, Item, held_base
from sync.store import UNREAD, Link
from sync.suppression import erased_refusal


class Applier(Committer):
    """Applies one rule's items against its target and the store."""

    def apply(self, item: Item) -> None:
        """Carry out one item; record-level failures become problems, others propagate."""
        try:
            _ACTIONS[item.action](self, item)
        except (RecordRejected, NotFound) as exc:
            self.tally.problems.append(f"{self._where(item)}: {exc}")
            self.tally.failed.add(item.uid or "")
            return
        self.tally.problems.extend(f"{self._where(item)}: {p}" for p in item.problems)
        if item.counted:
            self.tally.add(item.action)
        for _conflict in item.conflicts:
            self.tally.add("conflict")

    # -- actions ------------------------------------------------------------------------

    def _create(self, item: Item) -> None:
        assert item.uid is not None
        if item.heal:
            found = self.target.find_marker(self.collection, item.uid)
            if found is not None:
                # Our earlier create landed, perhaps only in part: link what is there and
                # let the next pass merge (and write any missing step) from that.
                intended = self._intended(item.uid) or item.base
                item.base = held_base(self.view, intended, found, self.catalog)
                item.seen, item.canonical = dict(found.fields), {}
                self._commit(item, found)
                return
        self.store.journal_begin(self.view.key, item.uid, "create", None, {"base": item.base})
        record = self.target.create(self.collection, item.uid, item.remote)
        self.tally.remote_writes += 1
        self._commit(item, record)

    def _intended(self, uid: str) -> dict[str, Any] | None:
        """The base the journal says our unfinished create of ``uid`` meant to write."""
        for entry in self.store.journal(self.view.key):
            if entry.uid == uid and entry.op == "create":
                return dict(entry.intent.get("base", {}))
        return None

    def _restore(self, item: Item) -> None:
        assert item.uid is not None
        self.store.drop_link(self.view.key, item.uid)
        item.heal = False
        self._create(item)

    def _update(self, item: Item) -> None:
        assert item.uid is not None and item.remote_id is not None
        if not item.remote:
            record = RemoteRecord(item.remote_id, item.seen, item.etag, item.uid)
            self._commit(item, record)
            self._mark(item, record)
            return
        entry = self.store.journal_begin(
            self.view.key, item.uid, "update", item.remote_id, {"base": item.base}
        )
        try:
            record = self.target.update(self.collection, item.remote_id, item.remote, item.etag)
            self.tally.remote_writes += 1
        except PreconditionFailed:
            self._changed_meanwhile(item, entry)
            return
        except RecordRejected:
            self._keep_what_is_known(item)
            raise
        self._commit(item, record)
        self._mark(item, record)

    def _keep_what_is_known(self, item: Item) -> None:
        """The platform refused (part of) a write: commit what is known anyway.

        A write may take several requests (a Deck card: the card, then each label and
        assignee), so after a refusal the fields we wrote are unknown: their base stays what
        the platform was known to hold, and later passes write them again. Everything else
        is committed: canonical changes taken from the platform, agreed fields, conflicts.
        For a record of our own half-finished create this links it as the platform holds it.
        """
        assert item.uid is not None and item.remote_id is not None
        held = item.held or Held({}, dict(item.seen), item.etag)
        unknown = set()
        for key, codec in self.view.codecs.items():
            if codec.spec.remote in item.remote:
                unknown.add(key)
                if key in held.base:
                    item.base[key] = held.base[key]
                else:
                    item.base.pop(key, None)
        still_open = set()
        for conflict_id in item.closes:
            conflict = self.store.conflict(conflict_id)
            if conflict is not None and conflict.field in unknown:
                still_open.add(conflict_id)  # its resolution did not reach the platform yet
        item.closes = [c for c in item.closes if c not in still_open]
        item.seen = dict(held.seen)
        self._commit(item, RemoteRecord(item.remote_id, held.seen, held.etag, item.uid))

    def _changed_meanwhile(self, item: Item, entry: int) -> None:
        """Someone edited the record while we planned: keep the old base, see it fresh."""
        assert item.uid is not None and item.remote_id is not None
        fresh = self.target.get(self.collection, item.remote_id)
        links = self.store.links(self.view.key)
        old = links.get(item.uid)
        with self.store.transaction():
            if old is not None:
                old.seen, old.remote_etag = dict(fresh.fields), fresh.etag
                self.store.save_link(old)
            self.store.journal_end(entry)
        self.tally.problems.append(
            _("{record}: changed on {target} meanwhile; merged next pass").format(
                record=self._where(item), target=self.view.target
            )
        )
        item.remote, item.canonical, item.conflicts, item.closes = {}, {}, [], []

    def _delete(self, item: Item) -> None:
        assert item.remote_id is not None and item.uid is not None
        if (item.canonical or item.closes) and not self._carry_over(item):
            return
        self.store.journal_begin(self.view.key, item.uid, "delete", item.remote_id, {})
        try:
            self.target.delete(self.collection, item.remote_id, item.etag)
            self.tally.remote_writes += 1
        except PreconditionFailed:
            self.target.delete(self.collection, item.remote_id, None)
            self.tally.remote_writes += 1
        with self.store.transaction():
            self._drop_link_of(item)
            self._settle(item.uid)

    def _carry_over(self, item: Item) -> bool:
        """Take the edits made on a record leaving the rule's scope into the store before
        the record goes. When the store did not take them all (a domain check refused one,
        another writer came first), the record and its link stay, with the old base for
        what was not taken, so the next pass merges it again: returns False then."""
        assert item.remote_id is not None
        with self.store.transaction():
            if self._write_canonical(item):
                record = RemoteRecord(item.remote_id, item.seen, item.etag, item.uid)
                self._save_link(item, record)
                item.action, item.canonical, item.closes = Action.UPDATE, {}, []
                return False
            for conflict_id in item.closes:
                read = item.resolutions_read.get(conflict_id, UNREAD)
                self.store.close_conflict(conflict_id, read=read)
        return True

    def _drop_link_of(self, item: Item) -> None:
        links = self.store.links(self.view.key)
        link = links.get(item.uid or "")
        if link is not None and link.remote_id == item.remote_id:
            self.store.drop_link(self.view.key, link.uid)

    def _unlink(self, item: Item) -> None:
        assert item.uid is not None
        with self.store.transaction():
            self.store.drop_link(self.view.key, item.uid)
            self._settle(item.uid)

    def _detach(self, item: Item) -> None:
        assert item.uid is not None
        link = Link(
            self.view.key, item.uid, self.view.target, DETACHED + item.uid, None, {}, {}, ""
        )
        self.store.save_link(link)

    def _tombstone(self, item: Item) -> None:
        assert item.uid is not None
        with self.store.transaction():
            self.store.tombstone(item.uid)
            self.store.drop_link(self.view.key, item.uid)
        self.catalog.remove(item.uid)

    def _opt_out(self, item: Item) -> None:
        assert item.uid is not None
        person = self.catalog.get(item.uid)
        with self.store.transaction():
            if isinstance(person, Person):
                updated = person.touched(opt_outs=person.opt_outs | {self.collection.name})
                self._put(updated)
            self.store.drop_link(self.view.key, item.uid)

    def _import(self, item: Item) -> None:
        assert item.remote_id is not None
        kind = self.view.rule.entity
        uid = self.uids(kind)
        try:
            entity = entity_type(kind).model_validate({"uid": uid, **item.canonical})
        except ValidationError as exc:
            details = "; ".join(f"{f}: {m}" for f, m in describe_validation_error(exc))
            raise RecordRejected(_rejected(kind, details)) from None
        refused = self.check(entity, self.catalog) if self.check else []
        if isinstance(entity, Person):
            refused += erased_refusal(self.store, entity.email)
        if refused:
            raise RecordRejected(_rejected(kind, "; ".join(refused)))
        item.uid, item.canonical = uid, {}
        for key in item.unsettled:
            try:
                item.base[key] = self.view.codecs[key].render(entity, self.catalog, tandems=False)
            except Embargoed:
                item.base.pop(key, None)
        record = RemoteRecord(item.remote_id, item.seen, item.etag, None)
        with self.store.transaction():
            self._put(entity)
            self._save_link(item, record)
        self._mark(item, record)

    def _mark(self, item: Item, record: RemoteRecord) -> None:
        """Give a linked record its entity's uid as marker, once (after the link is saved,
        so a failure here leaves a linked record that the next pass marks again)."""
        if not item.mark:
            return
        assert item.uid is not None
        try:
            marked = self.target.mark(self.collection, record.remote_id, item.uid, record.etag)
            self.tally.remote_writes += 1
        except PreconditionFailed:
            return  # changed meanwhile: the next pass merges it and marks it then
        self._save_link(item, marked)


def _rejected(kind: str, why: str) -> str:
    """Why a platform's new record does not become an entity of ``kind``."""
    return _("cannot become {kind}: {why}").format(kind=a_kind(kind), why=why)


#: What carries out each action: every :class:`Action` has its method here.
_ACTIONS: dict[Action, Callable[[Applier, Item], None]] = {
    Action.CREATE: Applier._create,
    Action.RESTORE: Applier._restore,
    Action.UPDATE: Applier._update,
    Action.ADOPT: Applier._update,
    Action.DELETE: Applier._delete,
    Action.IMPORT: Applier._import,
    Action.TOMBSTONE: Applier._tombstone,
    Action.OPT_OUT: Applier._opt_out,
    Action.UNLINK: Applier._unlink,
    Action.DETACH: Applier._detach,
}
