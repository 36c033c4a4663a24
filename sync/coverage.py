"""Which rules of a mapping cover nothing in a store: the warning of ``mappings check``.

A typo in a mapping's cohort or in a rule's filter passes every check of the file itself, yet
makes the rule cover nothing, and a pass would then delete what the rule put on its platform
(the mass-deletion guard stops that pass). Checking the filters against the store names the
rule before that.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from connector.errors import ConnectorError
from mappings.filters import matches
from mappings.load import load_mapping
from mappings.schema import MappingFile
from sync.catalog import Catalog
from sync.i18n import _
from sync.store import Store


def empty_rules(mapping: MappingFile, store: Store) -> list[str]:
    """One warning per rule of ``mapping`` whose filter matches no live entity of ``store``."""
    catalog = Catalog.load(store)
    warnings = []
    for rule in mapping.rules:
        entities = catalog.all(rule.entity)
        if any(matches(rule, e, catalog, mapping.cohort) for e in entities):
            continue
        cohort = rule.filter.get("cohort", mapping.cohort)
        scope = (
            _("cohort {cohort!r}").format(cohort=cohort) if cohort is not None else _("no cohort")
        )
        others = {k: v for k, v in rule.filter.items() if k != "cohort"}
        if others:
            scope += _(", filter {others}").format(others=others)
        held = (
            _("{n} {kind} entities are in the store").format(n=len(entities), kind=rule.entity)
            if entities
            else _("the store holds no {kind} entities yet").format(kind=rule.entity)
        )
        warnings.append(
            _(
                "rule {rule!r}: its filter matches nothing in the store {store} "
                "({scope}; {held}); a sync would remove what the rule put on {target}"
            ).format(rule=rule.name, store=store.path, scope=scope, held=held, target=rule.target)
        )
    return warnings


def store_warnings(store_path: Path | None, files: Iterable[Path]) -> list[str]:
    """``warning: FILE: ...`` lines for the rules of ``files`` that cover nothing in the
    store at ``store_path`` (none when there is no store there yet)."""
    if store_path is None or not store_path.is_file():
        return []
    lines = []
    with Store.open(store_path, create=False) as store:
        for file in files:
            try:
                mapping = load_mapping(file)
            except ConnectorError:
                continue  # its problems are reported by the file check
            lines += [
                _("warning: {file}: {warning}").format(file=file, warning=w)
                for w in empty_rules(mapping, store)
            ]
    return lines
