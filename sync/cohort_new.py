"""``connector cohort new``: the programme's Fahrplan template applied to a new cohort."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from connector.errors import InputError
from mappings.fahrplan import FahrplanTemplate, load_template
from sync.fahrplan import FahrplanReport, apply_template
from sync.fahrplan_format import template_name
from sync.i18n import _
from sync.model import Programme
from sync.store import Store


def programme_template(path: Path, programme: str) -> FahrplanTemplate:
    """The template at ``path``, which must be ``programme``'s (InputError if not)."""
    loaded = load_template(path)
    if loaded.programme != programme:
        raise InputError(
            _("{path}: the template is for programme {programme!r}").format(
                path=path, programme=loaded.programme
            )
        )
    return loaded


def new_cohort(
    store: Store,
    template: FahrplanTemplate,
    path: Path,
    *,
    number: int,
    start: date,
    dry_run: bool,
) -> FahrplanReport:
    """Cohort PROGRAMME-NUMBER from ``template`` (read from ``path``), starting on ``start``."""
    if not isinstance(store.get(template.programme), Programme):
        raise InputError(
            _("there is no programme {programme!r} (import programmes first)").format(
                programme=template.programme
            )
        )
    return apply_template(
        store, template, template_name(path), number=number, start=start, dry_run=dry_run
    )
