"""Which linked records a round need not merge again (issue 14): nothing they are planned
from changed since the rule's last complete plan, which found them agreed.

A merge is a pure function of the entity, what it renders from (other entities), the
remote record, the link's base, open conflicts, the journal, the day and the rule as
compiled. A linked record is *settled* when none of these changed since the rule's
:class:`~sync.store_changes.PlanMark`: its record was not in the listing's changes (it is
filled from the link's last-seen copy), its entity and link were not written since (a link
is saved whenever its merge changed anything, so an unwritten link merged to nothing), no
entity of another kind changed (lookups, scope and the embargo read those), no entity row
was removed, it has no open conflict or journal entry, and the day and the rule are the
same. Merging a settled record again would give the same empty item, so it is left out.
When in doubt the answer is "nothing is settled": the round plans everything.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from datetime import date
from importlib.metadata import PackageNotFoundError, version

from connector.base import content_hash
from sync.plan_items import RuleView
from sync.store import Conflict, JournalEntry, Store
from sync.store_changes import PlanMark

#: Kinds whose rendering reads other entities of the same kind (a person's
#: ``match_candidates`` reads every person): a change to any of them re-plans the rule.
SELF_READING: frozenset[str] = frozenset({"person"})


@functools.cache
def _code_version() -> str:
    try:
        return version("cohort-connector")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree only
        return "source"


#: Hashes of compiled rules, by ``id`` (the view is kept alongside, so the id stays its own).
_HASHES: dict[int, tuple[RuleView, str]] = {}


def view_hash(view: RuleView) -> str:
    """A hash of everything the rule's merges depend on besides the data: the rule, its
    compiled codecs, audience, default cohort, and the connector's version."""
    known = _HASHES.get(id(view))
    if known is not None and known[0] is view:
        return known[1]
    digest = _view_hash(view)
    _HASHES[id(view)] = (view, digest)
    return digest


def _view_hash(view: RuleView) -> str:
    codecs = {
        key: [codec.remote_type, codec.max_length, codec.kind] for key, codec in view.codecs.items()
    }
    blob = json.dumps(
        [
            view.rule.model_dump(mode="json"),
            view.key,
            view.target,
            view.collection,
            str(view.audience),
            view.default_cohort,
            view.marks,
            codecs,
            _code_version(),
        ],
        sort_keys=True,
        default=str,
    )
    return content_hash({"view": blob})


def mark_for(view: RuleView, seq: int, today: date, links: int | None = None) -> PlanMark:
    """The mark a complete plan of ``view`` on ``today`` from entities read at ``seq`` leaves,
    with the rule's number of ``links`` after it."""
    return PlanMark(seq, today.isoformat(), view_hash(view), links)


def settled(
    store: Store,
    view: RuleView,
    today: date,
    filled: Iterable[str],
    conflicts: Iterable[Conflict],
    journal: Iterable[JournalEntry],
) -> frozenset[str]:
    """The uids among ``filled`` (linked records filled from their last-seen copy) whose
    merge this round may leave out (see the module's docstring)."""
    mark = store.plan_mark(view.key)
    if mark is None or mark.today != today.isoformat() or mark.view != view_hash(view):
        return frozenset()
    changed = store.changed_since(mark.seq)
    kind = view.rule.entity
    if changed.dropped or any(k != kind for k in changed.kinds.values()):
        return frozenset()
    if changed.kinds and kind in SELF_READING:
        return frozenset()
    busy = store.links_changed_since(view.key, mark.seq)
    busy.update(changed.kinds)
    busy.update(c.uid for c in conflicts)
    busy.update(e.uid for e in journal)
    return frozenset(uid for uid in filled if uid not in busy)
