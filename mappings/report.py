"""What ``connector mappings check`` and ``connector mappings show`` print.

``show`` lays a mapping out as one row per rule and field: which entities (filter), where
they go (target, collection), canonical ↔ remote with direction and conflict policy, and
who sees them. Rules that carry tandems to a non-council audience get the embargo note.
"""

from __future__ import annotations

import ipaddress
import os
import sys
import textwrap
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from rich.console import Console
from rich.table import Table

from mappings.load import inspect_mapping
from mappings.schema import FieldSpec, MappingFile, Rule, collection_name
from mappings.templates import placeholders
from sync.i18n import N_, _, ngettext
from sync.model import REFERENCES, Audience

#: How each audience is named in the table ("visible to").
AUDIENCE_LABELS = {
    Audience.COUNCIL: "Beirat",
    Audience.MENTEES: "Mentees",
    Audience.MENTORS: "Mentor:innen",
    Audience.PARTICIPANTS: "alle Teilnehmenden",
}
ARROWS = {"both": "↔", "out": "→", "in": "←"}
EMBARGO_NOTE = N_("tandems hidden until reveal date")


def check_files(paths: Iterable[str | Path]) -> tuple[list[str], list[str]]:
    """(one ``ok: FILE (N rules, M targets)`` line per good file, every problem of the rest).

    Target warnings (TLS off, plain http) follow their file's ok line.
    """
    ok: list[str] = []
    problems: list[str] = []
    for path in paths:
        mapping, found = inspect_mapping(path)
        if mapping is None:
            problems += [str(problem) for problem in found]
            continue
        rules, targets = len(mapping.rules), len(mapping.targets)
        ok.append(
            "ok: "
            + ngettext(
                "{path} ({n} rule, {t} targets)", "{path} ({n} rules, {t} targets)", rules
            ).format(path=path, n=rules, t=targets)
        )
        ok += [f"warning: {path}: {warning}" for warning in target_warnings(mapping)]
    return ok, problems


def target_warnings(mapping: MappingFile) -> list[str]:
    """One line per target whose connection is not protected: TLS unverified, plain http."""
    warnings = []
    for name, target in mapping.targets.items():
        if not target.verify_tls:
            warnings.append(
                _(
                    "target {name!r}: TLS certificates are not verified (verify_tls = false); "
                    "use this only for a test server"
                ).format(name=name)
            )
        url = urlparse(target.url)
        if url.scheme == "http" and not _loopback(url.hostname or ""):
            warnings.append(
                _(
                    "target {name!r}: {url} is plain http to another host; "
                    "passwords and personal data would travel unencrypted; use https"
                ).format(name=name, url=target.url)
            )
    return warnings


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ShowRow:
    """One field of one rule, as ``mappings show`` lists it."""

    rule: str
    entity: str
    filter: str
    target: str
    target_kind: str
    collection: str
    canonical: str
    remote: str
    direction: str
    policy: str
    visible_to: str
    note: str


def show(mapping: MappingFile) -> list[ShowRow]:
    """One row per rule and field of ``mapping``."""
    rows = []
    for rule in mapping.rules:
        audience = mapping.audience_of(rule)
        note = EMBARGO_NOTE if carries_tandems(rule) and audience != Audience.COUNCIL else ""
        for spec in rule.fields:
            rows.append(
                ShowRow(
                    rule=rule.name,
                    entity=rule.entity,
                    filter=_filter_text(rule, mapping.cohort),
                    target=rule.target,
                    target_kind=mapping.targets[rule.target].kind,
                    collection=collection_name(rule),
                    canonical=_source(spec),
                    remote=spec.remote,
                    direction=spec.direction,
                    policy=spec.policy,
                    visible_to=AUDIENCE_LABELS[audience],
                    note=note,
                )
            )
    return rows


def carries_tandems(rule: Rule) -> bool:
    """Whether ``rule`` can reveal a pairing: tandems, entities that belong to a tandem
    (a tandem's meetings), or a path that reads through a tandem."""
    belongs = any(ref == "tandem" for (kind, _), ref in REFERENCES.items() if kind == rule.entity)
    if rule.entity == "tandem" or belongs:
        return True
    paths = [*rule.filter, *(s.canonical for s in rule.fields if s.canonical)]
    for spec in rule.fields:
        paths += [path for path, _ in placeholders(spec.template or "")]
    return any(_through_tandem(rule.entity, path) for path in paths)


def _through_tandem(kind: str, path: str) -> bool:
    current = kind
    for part in path.split("."):
        ref = REFERENCES.get((current, part))
        if ref is None:
            return False
        if ref == "tandem":
            return True
        current = ref
    return False


def _filter_text(rule: Rule, default_cohort: str | None) -> str:
    wanted: dict[str, Any] = dict(rule.filter)
    if default_cohort and "cohort" not in wanted:
        wanted = {"cohort": default_cohort, **wanted}
    return "; ".join(f"{key}={_value_text(value)}" for key, value in wanted.items())


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return ", ".join(value) if isinstance(value, list) else str(value)


def _source(spec: FieldSpec) -> str:
    if spec.template is not None:
        text = " ".join(spec.template.split())
        return f'template "{text if len(text) <= 48 else text[:45] + "..."}"'
    assert spec.canonical is not None
    if spec.lookup:
        return f"{spec.canonical} → {spec.lookup}"
    if spec.values:
        return f"{spec.canonical} ({len(spec.values)} values)"
    return spec.canonical


def show_json(mapping: MappingFile) -> dict[str, Any]:
    """The ``--json`` form of :func:`show`, with targets and warnings."""
    return {
        "name": mapping.name,
        "programme": mapping.programme,
        "cohort": mapping.cohort,
        "targets": {
            name: {
                "kind": t.kind,
                "url": t.url,
                "audience": t.audience.value,
                "verify_tls": t.verify_tls,
            }
            for name, t in mapping.targets.items()
        },
        "warnings": target_warnings(mapping),
        "rows": [asdict(row) for row in show(mapping)],
    }


def show_table(mapping: MappingFile) -> Table:
    """:func:`show` as a rich table, the rule's own columns only on its first row."""
    table = Table(title=mapping.name, title_justify="left", show_lines=False)
    # Short cells never wrap, so the long ones (filters, templates) take the narrowing.
    table.add_column(_("rule"), no_wrap=True)
    for header in (N_("entity (filter)"), N_("target / collection"), N_("canonical")):
        table.add_column(_(header), overflow="fold")
    table.add_column("", justify="center", no_wrap=True)
    for header in (N_("remote"), N_("policy"), N_("visible to")):
        table.add_column(_(header), no_wrap=True)
    table.add_column(_("note"), overflow="fold")
    previous = None
    for row in show(mapping):
        first = row.rule != previous
        if first and previous is not None:
            table.add_section()
        previous = row.rule
        entity = f"{row.entity} ({row.filter})" if row.filter else row.entity
        where = f"{row.target} ({row.target_kind}): {row.collection}"
        policy = row.policy if row.direction == "both" else "–"
        table.add_row(
            row.rule if first else "",
            entity if first else "",
            where if first else "",
            row.canonical,
            ARROWS[row.direction],
            row.remote,
            policy,
            row.visible_to,
            row.note if first else "",
        )
    return table


#: Below this terminal width the table does not read; one block per rule is shown instead.
TABLE_WIDTH = 140


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def show_blocks(mapping: MappingFile, width: int = 80) -> list[str]:
    """:func:`show` as one block per rule, each line at most ``width`` characters."""
    lines = [mapping.name]
    previous = None
    canonical_width = max(16, width - 31)
    for row in show(mapping):
        if row.rule != previous:
            previous = row.rule
            entity = f"{row.entity} ({row.filter})" if row.filter else row.entity
            lines += ["", *textwrap.wrap(f"{row.rule}: {entity}", width, subsequent_indent="    ")]
            where = f"{row.target} ({row.target_kind}): {row.collection}"
            visible = _("visible to {audience}").format(audience=row.visible_to)
            lines += textwrap.wrap(f"  → {where}; {visible}", width, subsequent_indent="    ")
            if row.note:
                lines.append(_fit("  " + _("note: {text}").format(text=_(row.note)), width))
        policy = row.policy if row.direction == "both" else ""
        remote = f"{ARROWS[row.direction]} {row.remote}"
        line = (
            f"    {_fit(row.canonical, canonical_width):<{canonical_width}} {remote:<16} {policy}"
        )
        lines.append(_fit(line.rstrip(), width))
    return lines


def print_show(mapping: MappingFile, console: Console | None = None) -> None:
    """Print :func:`show_table`, or :func:`show_blocks` where the table does not fit.

    A terminal narrower than :data:`TABLE_WIDTH` (or ``COLUMNS`` below it) gets the blocks.
    """
    columns = os.environ.get("COLUMNS", "")
    if console is None and sys.stdout.isatty():
        console = Console()
    width = console.width if console is not None else int(columns) if columns.isdigit() else 0
    if 0 < width < TABLE_WIDTH:
        for line in show_blocks(mapping, width):
            (console.print if console is not None else print)(line, **_plain(console))
        return
    # Piped output (a file, a pager, a CI log) gets room for every column instead of 80.
    (console or Console(width=170)).print(show_table(mapping))


def _plain(console: Console | None) -> dict[str, Any]:
    return {"markup": False, "highlight": False, "soft_wrap": True} if console else {}
