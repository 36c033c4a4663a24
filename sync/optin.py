"""``connector person opt-in PERSON LIST``: the one way an opt-out is lifted.

Someone who leaves a list is recorded as opted out (``Person.opt_outs``) and never
re-subscribed; imports add opt-outs but never remove one. When the person asks to be on the
list again, a coordinator says so with this command, and the next sync subscribes them where
the mapping's filter covers them.
"""

from __future__ import annotations

from connector.errors import InputError
from sync.i18n import _
from sync.importing.rows import Resolver
from sync.model import Person
from sync.store import Store


def opt_in(store: Store, who: str, mailing_list: str) -> tuple[Person, str]:
    """Lift the opt-out of the person ``who`` (e-mail or uid) from ``mailing_list``.

    Returns the updated person and the list as recorded. Raises :class:`InputError` when there
    is no such person or they have not opted out of that list.
    """
    try:
        uid = Resolver(store).uid("person", who.strip())
    except ValueError as exc:
        raise InputError(str(exc)) from None
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
    with store.transaction():
        store.put(updated)
    assert isinstance(updated, Person)
    return updated, recorded
