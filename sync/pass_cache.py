"""What an engine keeps from one clean pass to the next (``sync --watch``, issue 14).

A daemon's pass would otherwise read the whole store again: every entity into a
:class:`~sync.catalog.Catalog`, every link of every rule. Kept instead, and brought up to date
from the store's change sequence, a quiet pass reads only what was written since. Only a pass
that ended cleanly (no error, no failed item) leaves its copies behind: after anything else
the next pass reads everything, as the first one does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sync.catalog import Catalog
from sync.store import Link, Store


@dataclass
class _Links:
    seq: int
    links: dict[str, Link]


@dataclass
class PassCache:
    """The catalog and the links of the last clean pass, if any."""

    _catalog: Catalog | None = None
    _links: dict[str, _Links] = field(default_factory=dict)
    _kept: bool = False

    def begin(self, store: Store) -> Catalog:
        """The catalog for a pass: the kept one brought up to date, else loaded anew. Until
        :meth:`end` says the pass was clean, nothing is kept."""
        catalog = self._catalog if self._kept else None
        self._kept = False
        if catalog is None or not catalog.refresh(store):
            catalog = Catalog.load(store)
            self._links.clear()
        self._catalog = catalog
        return catalog

    def links(self, store: Store, rule: str) -> dict[str, Link]:
        """The links of ``rule`` as the store holds them now."""
        now = store.change_seq()
        kept = self._links.get(rule)
        if kept is None or store.removed_since(kept.seq)[1]:
            kept = _Links(now, store.links(rule))
        else:
            written = store.links_where("rule = ? AND seq > ?", (rule, kept.seq))
            kept = _Links(now, {**kept.links, **written} if written else kept.links)
        self._links[rule] = kept
        return kept.links

    def end(self, *, clean: bool) -> None:
        """The pass is over; keep its copies for the next one only if it was ``clean``."""
        self._kept = clean
        if not clean:
            self._catalog = None
            self._links.clear()
