"""Where Fahrplan templates are looked for, and a run's report as text."""

from __future__ import annotations

from pathlib import Path

from mappings.fahrplan import SHIPPED
from sync.config import Config
from sync.fahrplan import FahrplanReport
from sync.i18n import _


def template_folders(config: Config) -> list[Path]:
    """``fahrplan/`` beside the config file (an admin's own templates), then the shipped ones."""
    folders = []
    if config.path is not None and (config.path.parent / "fahrplan").is_dir():
        folders.append(config.path.parent / "fahrplan")
    return [*folders, SHIPPED]


def template_name(path: Path) -> str:
    """How to name a template file in a report: shipped ones by their place in the package."""
    try:
        return _("{path} (shipped)").format(path=path.resolve().relative_to(SHIPPED.parent.parent))
    except ValueError:
        return str(path)


def fahrplan_lines(report: FahrplanReport) -> list[str]:
    """A summary line, then one line per item that did not simply go as planned."""
    counts = report.counts()
    kinds: dict[str, int] = {}
    for outcome in report.outcomes:
        kinds[outcome.kind] = kinds.get(outcome.kind, 0) + 1
    what = ", ".join(f"{n} {k}{'s' if n != 1 and k != 'cohort' else ''}" for k, n in kinds.items())
    done = ", ".join(f"{n} {action}" for action, n in counts.items())
    verb = "" if report.written else _(" (dry run: nothing written)")
    lines = [
        _("{cohort} from {template}: {what}; {done}").format(
            cohort=report.cohort, template=report.template, what=what, done=done
        )
        + verb
    ]
    for outcome in report.outcomes:
        if outcome.action in ("updated", "kept", "removed"):
            why = f" ({_(outcome.why)})" if outcome.why else ""
            lines.append(f"  {outcome.action:<8} {outcome.kind:<6} {outcome.uid}{why}")
    return lines
