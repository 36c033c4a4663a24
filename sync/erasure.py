"""Erasing a person everywhere (DSGVO Art. 17), with a receipt that names nobody.

An erasure is planned from the store — the person, their applications, their tandems and
the tandem meetings, and the tasks assigned to them — and written down as *pending* before
anything is deleted, so that a crash half-way is finished by the next ``connector forget``.
Then, step by step (each recorded when done):

1. ``targets``: every record the connector made for those entities is deleted on its
   platform. Deck only soft-deletes (the card stays in its database), so a card is first
   overwritten — title and description — and then deleted. The person is taken off the
   records of their tasks.
2. ``store``: the entities are tombstoned with their personal fields overwritten, links,
   conflicts and journal entries of them dropped, their tasks unassigned, and the person's
   name and address blotted out of stored pass summaries.
3. ``sync``: one pass carries what follows on the platforms (events lose the attendee).
4. ``mailman``: the Mailman users that own the person's address are deleted with every
   address they hold (an address change leaves the old one on the user).

The store step also keeps each address the person had as erased — a keyed hash, no address
in clear (:mod:`sync.suppression`) — so that no import brings the person back.

The receipt keeps the date, the kinds of records and their counts, and the targets — no
name, address or uid.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connector.errors import RetryLater
from sync.engine import Engine
from sync.erasure_plan import ErasurePlan, save
from sync.erasure_steps import erased_addresses, mailman_step, store_step, targets_step
from sync.i18n import _
from sync.model import utcnow
from sync.store import Store
from sync.suppression import receipted

STEPS = ("targets", "store", "sync", "mailman")


@dataclass
class Receipt:
    """What an erasure did, without personal data."""

    erased_at: str
    records: dict[str, int]
    targets: dict[str, dict[str, int]]
    id: int | None = None


def erase(
    store: Store,
    plan: ErasurePlan,
    engines: list[Engine],
    sync_pass: Callable[[], list[str]],
) -> Receipt:
    """Run the pending steps of ``plan``; returns the receipt (also stored).

    ``sync_pass`` runs one sync pass and returns its errors; a step that fails leaves the
    erasure pending, and the next call continues with it.
    """
    for step in STEPS:
        if step in plan.done:
            continue
        if step == "targets":
            targets_step(store, engines, plan)
        elif step == "store":
            store_step(store, plan)
        elif step == "sync":
            errors = sync_pass()
            if errors:
                raise RetryLater(
                    _(
                        "the erasure is stored but a platform could not be updated; run "
                        "`connector forget` again to finish: {errors}"
                    ).format(errors="; ".join(errors))
                )
        elif step == "mailman":
            mailman_step(store, engines, plan)
        plan.done.append(step)
        save(store, plan)
    receipt = Receipt(utcnow().isoformat(), dict(plan.kinds), dict(plan.targets))
    with store.transaction():
        receipt.id = store.add_receipt(
            {"erased_at": receipt.erased_at, "records": receipt.records, "targets": receipt.targets}
        )
        receipted(store, erased_addresses(plan), receipt.id)
        store.db.execute("DELETE FROM erasures WHERE person = ?", (plan.person,))
    return receipt


def receipts(store: Store) -> list[dict[str, Any]]:
    """Every stored erasure receipt, oldest first."""
    rows = store.db.execute("SELECT id, created_at, summary FROM receipts ORDER BY id").fetchall()
    return [{"id": r[0], "created_at": r[1], **json.loads(r[2])} for r in rows]
