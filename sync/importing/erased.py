"""Rows of people erased with ``connector forget``: left out of an import, with a notice.

A people row whose address was erased (see :mod:`sync.suppression`) is not imported again;
nor is an application or tandem row of such a person. A cell that only mentions them (a
task's assignee, a cohort's council) leaves them out and the row is imported. ``--readmit
EMAIL`` imports someone who really applied again; writing the import removes the address
from the erased ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from connector.errors import InputError
from sync.i18n import _
from sync.importing.rows import CellProblem, Notice
from sync.model import Person, Tandem
from sync.store import Store
from sync.suppression import ERASED_DOMAIN, Erased, ErasedAddresses, normalise

#: Reference fields whose record is about the person: their row goes with them.
ROW_OF = frozenset({"applicant", "mentee", "mentor"})


def _when(erased: Erased) -> str:
    if erased.receipt is None:
        return _("was erased on {date} (the erasure is not finished yet)").format(
            date=erased.erased_on
        )
    return _("was erased on {date} (receipt {receipt})").format(
        date=erased.erased_on, receipt=erased.receipt
    )


class ErasedPerson(Notice):
    """A reference cell names an erased person's address."""

    def __init__(self, address: str, erased: Erased) -> None:
        super().__init__(address)
        self.address, self.erased = address, erased

    def notice(self, line: int, column: str, field: str) -> CellProblem:
        """The notice for the cell of ``field``: the row is left out, or only the person."""
        said = _("{address} {when}").format(address=self.address, when=_when(self.erased))
        if field in ROW_OF:
            text = _(
                "{said}; this row is not imported — if they applied again, import them "
                "first with connector import people --readmit {address}"
            ).format(said=said, address=self.address)
            return CellProblem(line, column, text, notice="row")
        text = _("{said}; left out of this cell").format(said=said)
        return CellProblem(line, column, text, notice="cell")


class ErasedTandem(Notice):
    """A reference cell names a tandem erased with one of its people (its meetings went too)."""

    def __init__(self, uid: str) -> None:
        super().__init__(uid)
        self.uid = uid

    def notice(self, line: int, column: str, field: str) -> CellProblem:
        """The row is left out: it belongs to the erased tandem."""
        text = _(
            "tandem {uid} was erased with connector forget, with its meetings; this row is "
            "not imported"
        ).format(uid=repr(self.uid))
        return CellProblem(line, column, text, notice="row")


class ErasedRows:
    """What an import does with erased addresses: finds them, and readmits those named."""

    def __init__(self, store: Store, kind: str, readmit: Iterable[str]) -> None:
        self.store = store
        self.addresses = ErasedAddresses(store)
        self.readmit = {normalise(a): a.strip() for a in readmit}
        if self.readmit and kind != "person":
            raise InputError(
                _("--readmit is for a people file (connector import people FILE --readmit EMAIL)")
            )
        self.seen: set[str] = set()
        #: The addresses named by --readmit that were erased (imported again).
        self.readmitted: list[str] = []

    def find(self, address: str) -> Erased | None:
        """When ``address`` was erased, or None (also for one named by --readmit)."""
        if normalise(address) in self.readmit:
            return None
        return self.addresses.find(address)

    def refuse(self, address: str) -> None:
        """Raise :class:`ErasedPerson` if a reference to ``address`` names an erased person."""
        erased = self.find(address)
        if erased is not None:
            raise ErasedPerson(address.strip(), erased)

    def refuse_tandem(self, uid: str) -> None:
        """Raise :class:`ErasedTandem` if ``uid`` is a tandem erased with one of its people."""
        tandem = self.store.get(uid, include_deleted=True)
        if not isinstance(tandem, Tandem) or not self.store.is_deleted(uid):
            return
        for partner in (tandem.mentee, tandem.mentor):
            person = self.store.get(partner, include_deleted=True)
            if isinstance(person, Person) and person.email.endswith("@" + ERASED_DOMAIN):
                raise ErasedTandem(uid)

    def person_row(self, line: int, column: str, values: dict[str, Any]) -> CellProblem | None:
        """The notice leaving out a new people row of an erased address, or None."""
        address = values.get("email")
        if not isinstance(address, str):
            return None
        key = normalise(address)
        if key in self.readmit:
            self.seen.add(key)
            if self.addresses.find(address) is not None:
                self.readmitted.append(address.strip())
            return None
        erased = self.addresses.find(address)
        if erased is None:
            return None
        text = _(
            "this person {when}; not imported again — add --readmit {address} if they applied again"
        ).format(when=_when(erased), address=address.strip())
        return CellProblem(line, column, text, notice="row")

    def unused(self, line: int) -> list[CellProblem]:
        """Problems for addresses named by --readmit that no new row of the file has."""
        return [
            CellProblem(
                line, "--readmit", _("no new row of the file has {address}").format(address=address)
            )
            for key, address in self.readmit.items()
            if key not in self.seen
        ]
