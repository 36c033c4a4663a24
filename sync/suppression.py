"""Erased addresses: what keeps a person erased with ``connector forget`` from coming back.

The erasure keeps, per address the person had, only a keyed hash: HMAC-SHA256 of the
normalised address (stripped, casefolded) under a random key kept in the store. It names
nobody — the address cannot be read back from it, and the same address hashes differently
in every other store — but it answers the one question an import asks: was this address
erased? ``connector import people --readmit EMAIL`` removes it for someone who applied again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sync.i18n import _
from sync.store import Store

#: The domain of the address an erased person's tombstone carries (``<uid>@erased.invalid``).
ERASED_DOMAIN = "erased.invalid"
#: A field value that is an e-mail address (in a link's last-seen fields, a conflict's values).
_ADDRESS = re.compile(r"[^\s@<>,;:]+@[^\s@<>,;:]+\.[^\s@<>,;:]+")


@dataclass(frozen=True)
class Erased:
    """An address of an erased person: when, and the receipt (None while still pending)."""

    erased_on: str
    receipt: int | None


def normalise(address: str) -> str:
    """The form an address is hashed in: surrounding blanks stripped, casefolded."""
    return address.strip().casefold()


def _key(store: Store, *, create: bool) -> bytes | None:
    row = store.db.execute("SELECT key FROM erasure_key WHERE id = 1").fetchone()
    if row is None and create:
        store.db.execute(
            "INSERT OR IGNORE INTO erasure_key(id, key) VALUES (1, ?)", (secrets.token_bytes(32),)
        )
        row = store.db.execute("SELECT key FROM erasure_key WHERE id = 1").fetchone()
    return None if row is None else bytes(row[0])


def _digest(key: bytes, address: str) -> str:
    return hmac.new(key, normalise(address).encode("utf-8"), hashlib.sha256).hexdigest()


def known_addresses(store: Store, uid: str, current: str) -> list[str]:
    """``current`` and every other address the store holds for person ``uid``: a field
    value that is an address, in the last-seen copies of their links and in the values of
    their conflicts (an old address a platform still had)."""
    texts = [
        text
        for query in (
            "SELECT base, seen FROM links WHERE uid = ?",
            "SELECT base, canonical, remote FROM conflicts WHERE uid = ?",
        )
        for row in store.db.execute(query, (uid,)).fetchall()
        for text in row
        if text
    ]
    found = {normalise(current): current}
    for text in texts:
        for address in _addresses(_read(text)):
            found.setdefault(normalise(address), address)
    return list(found.values())


def _read(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _addresses(value: Any) -> Iterator[str]:
    """The values in ``value`` (JSON read) that are each one e-mail address."""
    if isinstance(value, str):
        if _ADDRESS.fullmatch(value.strip()):
            yield value.strip()
    elif isinstance(value, dict):
        for item in value.values():
            yield from _addresses(item)
    elif isinstance(value, list):
        for item in value:
            yield from _addresses(item)


def suppress(store: Store, addresses: Iterable[str], erased_on: str) -> None:
    """Record ``addresses`` as erased on ``erased_on`` (the key is made on first use)."""
    key = _key(store, create=True)
    assert key is not None
    store.db.executemany(
        "INSERT OR REPLACE INTO erased_addresses(digest, erased_on, receipt) VALUES (?, ?, NULL)",
        [(_digest(key, a), erased_on) for a in addresses],
    )


def receipted(store: Store, addresses: Iterable[str], receipt: int) -> None:
    """Give the erased ``addresses`` the number of their erasure's receipt."""
    key = _key(store, create=False)
    if key is not None:
        store.db.executemany(
            "UPDATE erased_addresses SET receipt = ? WHERE digest = ?",
            [(receipt, _digest(key, a)) for a in addresses],
        )


def readmit(store: Store, addresses: Iterable[str]) -> list[str]:
    """Remove ``addresses`` from the erased ones; returns those that were erased."""
    key = _key(store, create=False)
    removed = []
    for address in addresses if key is not None else ():
        assert key is not None
        done = store.db.execute(
            "DELETE FROM erased_addresses WHERE digest = ?", (_digest(key, address),)
        )
        if done.rowcount:
            removed.append(address)
    return removed


class ErasedAddresses:
    """Asks whether an address was erased; reads the key once (none: nothing was erased)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.key = _key(store, create=False)

    def find(self, address: str) -> Erased | None:
        """When ``address`` was erased, or None."""
        if self.key is None:
            return None
        row = self.store.db.execute(
            "SELECT erased_on, receipt FROM erased_addresses WHERE digest = ?",
            (_digest(self.key, address),),
        ).fetchone()
        return None if row is None else Erased(row[0], row[1])


def erased_refusal(store: Store, address: str) -> list[str]:
    """Why a sync pass does not create a person of ``address`` from a platform's record: it
    was erased (names neither address nor person: pass summaries are stored)."""
    erased = ErasedAddresses(store).find(address)
    if erased is None:
        return []
    message = (
        _(
            "its address was erased with connector forget on {date}; not created again "
            "(connector import people FILE --readmit ADDRESS if they applied again)"
        )
        if erased.receipt is None
        else _(
            "its address was erased with connector forget on {date} (receipt {receipt}); not "
            "created again (connector import people FILE --readmit ADDRESS if they applied again)"
        )
    )
    return [message.format(date=erased.erased_on, receipt=erased.receipt)]
