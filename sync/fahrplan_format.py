"""Where Fahrplan templates are looked for, and a run's report as text."""

from __future__ import annotations

from pathlib import Path

from mappings.fahrplan import SHIPPED
from sync.config import Config
from sync.fahrplan import FahrplanReport
from sync.i18n import N_, _, kind_label, ngettext


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
    what = ", ".join(_count_of(kind, n) for kind, n in kinds.items())
    done = ", ".join(_(ACTIONS.get(action, action)).format(n=n) for action, n in counts.items())
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
            action = _(ACTION_WORDS.get(outcome.action, outcome.action))
            lines.append(f"  {action:<8} {kind_label(outcome.kind):<6} {outcome.uid}{why}")
    return lines


#: What a run did to its items, counted ("36 created").
ACTIONS = {
    "created": N_("{n} created"),
    "updated": N_("{n} updated"),
    "unchanged": N_("{n} unchanged"),
    "kept": N_("{n} kept"),
    "removed": N_("{n} removed"),
}
#: The same, as the first word of an item's line.
ACTION_WORDS = {
    "created": N_("created"),
    "updated": N_("updated"),
    "unchanged": N_("unchanged"),
    "kept": N_("kept"),
    "removed": N_("removed"),
}


def _count_of(kind: str, n: int) -> str:
    """``n`` items of ``kind``: "1 cohort", "16 events", "19 tasks"."""
    if kind == "cohort":
        return _("{n} cohort").format(n=n)
    if kind == "event":
        return ngettext("{n} event", "{n} events", n).format(n=n)
    if kind == "task":
        return ngettext("{n} task", "{n} tasks", n).format(n=n)
    return f"{n} {kind_label(kind)}"
