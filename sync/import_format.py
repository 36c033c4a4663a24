"""What ``connector import`` says about a file it imported or checked."""

from __future__ import annotations

from sync.i18n import _, kind_label, ngettext
from sync.importer import ImportReport


def import_lines(report: ImportReport) -> list[str]:
    """The file, its rows, encoding and separator; then created/updated/unchanged per kind,
    and the rows and cells left out because they name an erased person."""
    separator = {";": "';'", ",": "','", "\t": "tab"}[report.delimiter]
    separator = _("tab") if separator == "tab" else separator
    line = (
        _("Imported {file}: {rows} ({encoding}, separator {separator})")
        if report.written
        else _(
            "Checked (dry run, nothing written) {file}: {rows} ({encoding}, separator {separator})"
        )
    )
    rows = ngettext("{n} row", "{n} rows", report.rows).format(n=report.rows)
    lines = [
        line.format(file=report.file, rows=rows, encoding=report.encoding, separator=separator)
    ]
    if report.ignored:
        lines.append(_("  left out: column {names}").format(names=", ".join(report.ignored)))
    for kind, outcome in report.outcomes.items():
        why = "" if kind == report.kind else " " + _("(follows from these rows)")
        counts = _("{created} created, {updated} updated, {unchanged} unchanged").format(
            created=outcome.created, updated=outcome.updated, unchanged=outcome.unchanged
        )
        lines.append(f"  {kind_label(kind)}: {counts}{why}")
    if report.readmitted:
        lines.append(
            _("  readmitted (erased before, imported again): {addresses}").format(
                addresses=", ".join(report.readmitted)
            )
        )
    if report.notices:
        lines.append(_("  left out: people erased with connector forget"))
        lines += [f"    {notice}" for notice in report.notices]
    return lines
