"""The cost report as a terminal table, as CSV for Excel in a German locale, and as JSON."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from sync.costs import SPLIT, CostReport
from sync.i18n import _

#: Excel in a German locale reads ``;`` as the separator, ``,`` as the decimal mark, and
#: recognises UTF-8 only with a byte-order mark.
BOM = "\ufeff"


def amount(value: Decimal) -> str:
    """``1234.5`` as ``1,234.50`` (terminal)."""
    return f"{value:,.2f}"


def german_amount(value: Decimal) -> str:
    """``1234.5`` as ``1234,50`` (a number to German Excel: no thousands mark)."""
    return f"{value:.2f}".replace(".", ",")


def costs_lines(report: CostReport) -> list[str]:
    """The terminal table: one row per organisation, then the total."""
    heads = _("mentees") if report.role == "mentee" else _("participants")
    if report.rule == SPLIT:
        assert report.total_cost is not None
        rule = _(
            "rule: {total} EUR split in proportion to {heads} "
            "(largest remainder, ties by short name)"
        ).format(total=amount(report.total_cost), heads=heads)
    else:
        assert report.fee is not None
        per = (
            _("rule: {fee} EUR per mentee")
            if report.role == "mentee"
            else _("rule: {fee} EUR per participant")
        )
        rule = per.format(fee=amount(report.fee))
    rows = [
        (
            line.short_name,
            str(line.participants),
            amount(line.fee) if line.fee is not None else "",
            amount(line.amount),
        )
        for line in report.lines
    ]
    fee = _("fee (EUR)") if report.rule != SPLIT else ""
    header = (_("organisation"), heads, fee, _("due (EUR)"))
    total = (_("total"), str(report.participants), "", amount(report.total))
    widths = [max(len(r[i]) for r in [header, *rows, total]) for i in range(4)]

    def fmt(row: tuple[str, str, str, str]) -> str:
        right = [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        cells = [row[0].ljust(widths[0]), *right]
        return "  ".join(c for c, w in zip(cells, widths, strict=True) if w).rstrip()

    rule_line = "-" * len(fmt(header))
    return [
        _("Costs of {cohort}: {title}").format(cohort=report.cohort, title=report.title),
        rule,
        "",
        fmt(header),
        rule_line,
        *map(fmt, rows),
        rule_line,
        fmt(total),
    ]


def costs_csv(report: CostReport) -> str:
    """CSV text for Excel in a German locale (prefix :data:`BOM` when writing the file)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    count = "Mentees" if report.role == "mentee" else "Teilnehmende"
    writer.writerow(["Kurzname", "Organisation", count, "Gebühr je Person (EUR)", "Betrag (EUR)"])
    for line in report.lines:
        fee = german_amount(line.fee) if line.fee is not None else ""
        row = [line.short_name, line.name, line.participants, fee, german_amount(line.amount)]
        writer.writerow(row)
    writer.writerow(["Summe", "", report.participants, "", german_amount(report.total)])
    return buffer.getvalue()


def costs_json(report: CostReport) -> dict[str, Any]:
    """JSON-able data; amounts as strings with two decimals, so no float creeps in."""

    def text(value: Decimal | None) -> str | None:
        return None if value is None else f"{value:.2f}"

    return {
        "cohort": report.cohort,
        "title": report.title,
        "rule": report.rule,
        "counted_role": report.role,
        "fee_per_person": text(report.fee),
        "total_cost": text(report.total_cost),
        "organisations": [
            {
                "short_name": line.short_name,
                "name": line.name,
                "participants": line.participants,
                "fee_per_person": text(line.fee),
                "amount_due": text(line.amount),
            }
            for line in report.lines
        ],
        "participants": report.participants,
        "total": text(report.total),
    }
