"""How the cells of one import row change a record: an import changes only what its cells say.

An empty cell says nothing: an existing record keeps its value, a new one gets the model's
default (for consent: no, because consent is given, never assumed). A cell of exactly ``-``
(:data:`CLEAR`) clears the field. People's own decisions have rules of their own: an import
adds opt-outs but never lifts one (`connector person opt-in` does), and roles belong to the
cohorts the row names, so a row about cohort 11 leaves cohort 10 as it was.
"""

from __future__ import annotations

from typing import Any

from sync.i18n import N_, _
from sync.model import Entity, Person, entity_type

#: The cell that clears a field.
CLEAR = "-"


class _Cleared:
    """The value of a cell that says: clear this field."""

    def __repr__(self) -> str:
        return "CLEARED"


#: What :func:`sync.importing.rows.row_values` gives for a cell of exactly :data:`CLEAR`.
CLEARED: Any = _Cleared()

#: Person cells that are not plain model fields.
_PERSON_CELLS = {"roles", "cohorts", "opt_outs"}

OPT_IN_HINT = N_("an import never lifts an opt-out; `connector person opt-in PERSON LIST` does")


def record_data(
    kind: str, existing: Entity | None, values: dict[str, Any]
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The model data of the record after a row with cell ``values`` (field -> value, only
    cells that say something), and the (field, message) problems of cells that cannot say it.

    ``existing`` is the stored record the row matches, or None for a new one.
    """
    data: dict[str, Any] = existing.model_dump() if existing is not None else {}
    problems: list[tuple[str, str]] = []
    fields = entity_type(kind).model_fields
    for name, value in values.items():
        if kind == "person" and name in _PERSON_CELLS:
            continue
        if value is not CLEARED:
            data[name] = value
        elif name == "uid" or fields[name].is_required():
            message = _("a value is required; {clear!r} cannot clear it").format(clear=CLEAR)
            problems.append((name, message))
        else:
            data[name] = fields[name].get_default(call_default_factory=True)
    if kind == "person":
        stored = existing if isinstance(existing, Person) else None
        problems += _person(data, stored, values)
    return data, problems


def _person(data: dict[str, Any], stored: Person | None, values: dict[str, Any]) -> list[Any]:
    problems: list[tuple[str, str]] = []
    opt_outs = values.get("opt_outs")
    if opt_outs is CLEARED:
        problems += [("opt_outs", _(OPT_IN_HINT))]
    elif opt_outs is not None:
        data["opt_outs"] = (stored.opt_outs if stored else set()) | set(opt_outs)
    roles, cohorts = values.get("roles"), values.get("cohorts")
    memberships = {c: set(r) for c, r in stored.memberships.items()} if stored else {}
    if cohorts is None or (cohorts is CLEARED and roles not in (None, CLEARED)):
        if roles is not None:
            message = _("roles belong to a cohort; name it (Durchgang) in this row")
            problems += [("roles", message)]
    elif cohorts is CLEARED:
        memberships = {}
    else:
        for cohort in cohorts:
            if roles is None:
                memberships.setdefault(cohort, set())
            else:
                memberships[cohort] = set() if roles is CLEARED else set(roles)
    data["memberships"] = memberships
    return problems
