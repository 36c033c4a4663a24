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
        scope = f"cohort {cohort!r}" if cohort is not None else "no cohort"
        others = {k: v for k, v in rule.filter.items() if k != "cohort"}
        if others:
            scope += f", filter {others}"
        held = (
            f"{len(entities)} {rule.entity} entities are in the store"
            if entities
            else (f"the store holds no {rule.entity} entities yet")
        )
        warnings.append(
            f"rule {rule.name!r}: its filter matches nothing in the store {store.path} "
            f"({scope}; {held}); a sync would remove what the rule put on {rule.target}"
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
            lines += [f"warning: {file}: {w}" for w in empty_rules(mapping, store)]
    return lines
