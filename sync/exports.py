"""Files a report is exported to, for Excel in a German locale."""

from __future__ import annotations

from pathlib import Path

from sync.costs_format import BOM


def write_csv(path: Path, text: str) -> None:
    """Write ``text`` (CSV, rows ending as the text has them) to ``path`` with the BOM."""
    path.write_text(BOM + text, encoding="utf-8", newline="")
