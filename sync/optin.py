"""``connector person opt-in PERSON LIST``: the one way an opt-out is lifted.

Someone who leaves a list is recorded as opted out (``Person.opt_outs``) and never
re-subscribed; imports add opt-outs but never remove one. When the person asks to be on the
list again, a coordinator says so with this command, and the next sync subscribes them where
the mapping's filter covers them.
"""

from __future__ import annotations

from connector.errors import InputError
from sync.errors import StoreError
from sync.i18n import _
from sync.importing.rows import Resolver
from sync.model import Person
from sync.store import StaleWrite, Store

#: How often the opt-in is read and written again when another writer was faster.
ATTEMPTS = 5


def opt_in(store: Store, who: str, mailing_list: str) -> tuple[Person, str]:
    """Lift the opt-out of the person ``who`` (e-mail or uid) from ``mailing_list``.

    Returns the updated person and the list as recorded. Raises :class:`InputError` when there
    is no such person or they have not opted out of that list.
    """
    try:
        uid = Resolver(store).uid("person", who.strip())
    except ValueError as exc:
        raise InputError(str(exc)) from None
    for _attempt in range(ATTEMPTS):
        try:
            return _lift(store, uid, mailing_list)
        except StaleWrite:
            continue  # someone wrote the person meanwhile (a pass, an import): read again
    raise StoreError(
        _("{uid} was changed by another writer {n} times while this ran: nothing changed").format(
            uid=uid, n=ATTEMPTS
        )
    )


def _lift(store: Store, uid: str, mailing_list: str) -> tuple[Person, str]:
    # The revision is read before the person, so that a write between the two reads makes
    # the write below stale instead of overwriting it.
    revision = store.revision(uid)
    person = store.get(uid)
    assert isinstance(person, Person)
    wanted = mailing_list.strip().casefold()
    recorded = next((name for name in person.opt_outs if name.casefold() == wanted), None)
    if recorded is None:
        left = ", ".join(sorted(person.opt_outs)) or _("none")
        error = InputError(
            _("{name} has not opted out of {list} (opted out of: {left})").format(
                name=person.name, list=mailing_list, left=left
            )
        )
        error.hint = _("give the list's address as the opt-out names it")
        raise error
    updated = person.touched(opt_outs=person.opt_outs - {recorded})
    store.put(updated, expect=revision)
    assert isinstance(updated, Person)
    return updated, recorded
