"""``connector doctor``'s findings as JSON and its closing line."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sync.doctor import Line
from sync.i18n import _, ngettext


def doctor_json(lines: list[Line], code: int) -> dict[str, Any]:
    """The exit code and every finding with its target."""
    rows = [{"target": line.target, **asdict(line.finding)} for line in lines]
    return {"exit_code": code, "findings": rows}


def doctor_summary(lines: list[Line], code: int) -> str:
    """How many problems are left to fix (and the exit code), or that all checks passed."""
    problems = sum(not line.finding.ok for line in lines)
    if problems:
        return ngettext(
            "doctor: {n} problem to fix (exit {code})",
            "doctor: {n} problems to fix (exit {code})",
            problems,
        ).format(n=problems, code=code)
    return _("doctor: all {n} checks passed").format(n=len(lines))
