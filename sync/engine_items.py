"""Step 4 of a round: apply a rule's items one by one, each committed on its own; one
item's failure never stops the others, an outage stops the rule."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from connector.base import Collection, Target
from connector.errors import Fatal, RetryLater, TargetError
from mappings.schema import Rule
from sync.apply import Applier, Tally
from sync.catalog import Catalog
from sync.engine_core import EngineCore
from sync.logs import event
from sync.outcome import ITEM_FAILED, ITEM_UNAVAILABLE, ItemFailure
from sync.plan import Item, RulePlan

#: The item events keep the engine's logger name (``sync.engine``): log readers filter on it.
log = logging.getLogger("sync.engine")

#: Items in a row that found their platform unavailable before the pass gives the target up
#: (an outage, not one unlucky request).
OUTAGE_STREAK = 5
#: A server that asks for a longer pause than this (Retry-After) is left alone for the pass.
THROTTLE_STOP = 30.0


class ItemLoop(EngineCore):
    """Applies the items of a rule's plan."""

    def _apply(
        self,
        rule: Rule,
        target: Target,
        collection: Collection,
        catalog: Catalog,
        plan: RulePlan,
        tally: Tally,
        progress: Callable[[str, int, int], None] | None,
        outcomes: dict[str, ItemFailure | None],
        *,
        links: Mapping[str, Any] | None = None,
    ) -> bool:
        """Apply the rule's items; False if a stop request cut it short.

        ``links`` are the rule's links as the round's pull read them (nothing writes links
        between pull and apply; reading 5,000 again costs a quiet pass tens of ms).

        One item's failure never stops the others: it is recorded in ``outcomes`` (and its
        journal entry kept). Only an outage (several items in a row finding the platform
        unavailable, or a server asking for a long pause) stops the rule, and with it the
        target for the rest of the pass.
        """
        view = self.views[rule.name]
        applier = Applier(
            self.store,
            catalog,
            view,
            target,
            collection,
            self.consequences,
            tally,
            self.check,
            uids=self.uids,
        )
        if links is None:
            links = self.store.links(self.key(rule))
        items = [i for i in plan.items if _worth_applying(i, links)]
        streak = 0
        for index, item in enumerate(items, 1):
            if self.stop_requested():
                return False
            key = item.uid or item.remote_id or "?"
            before = len(tally.problems)
            code, reason = ITEM_FAILED, "refused"
            try:
                applier.apply(item)
            except RetryLater as exc:
                streak += 1
                code, reason = ITEM_UNAVAILABLE, type(exc).__name__
                tally.problems.append(f"{self.key(rule)}: {key}: {exc}")
                tally.failed.add(item.uid or "")
                if streak >= OUTAGE_STREAK or (exc.retry_after or 0.0) > THROTTLE_STOP:
                    outcomes[key] = ItemFailure(key, tally.problems[before:], code)
                    raise
            except TargetError as exc:
                if isinstance(exc, Fatal):
                    raise
                reason = type(exc).__name__
                tally.problems.append(f"{self.key(rule)}: {key}: {exc}")
                tally.failed.add(item.uid or "")
            else:
                streak = 0
            lines = tally.problems[before:]
            key = item.uid or key  # an import has its uid now
            outcomes[key] = ItemFailure(key, lines, code) if lines else None
            self._log_item(rule, item, key, reason if lines else None)
            if progress is not None:
                progress(rule.name, index, len(items))
        return True

    def _log_item(self, rule: Rule, item: Item, key: str, failed: str | None) -> None:
        """One log record per item changed or failed. It names the record by uid and the
        fields by name, never their values (a platform's message may quote an address)."""
        if failed is not None:
            event(
                log,
                logging.WARNING,
                "item failed",
                rule=self.key(rule),
                uid=key,
                action=item.action,
                reason=failed,
            )
        elif item.writes:
            event(
                log,
                logging.INFO,
                "item",
                rule=self.key(rule),
                uid=key,
                action=item.action,
                remote_fields=sorted(item.remote),
                canonical_fields=sorted(item.canonical),
                conflicts=len(item.conflicts),
            )


def _worth_applying(item: Item, links: Mapping[str, Any]) -> bool:
    if item.writes or item.problems:
        return True
    link = links.get(item.uid or "")
    # A record read anew is linked as read, also when its merge changes nothing: a later
    # pass filling it from the link's copy merges exactly what this one did (issue 14).
    return (
        link is None
        or link.base != item.base
        or link.remote_etag != item.etag
        or link.seen != item.seen
    )
