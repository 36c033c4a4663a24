"""``connector status``: entity counts per cohort, the last pass per target, open conflicts."""

from __future__ import annotations

from typing import Any

from sync.display import local_time
from sync.i18n import _, kind_label, ngettext
from sync.model import ENTITY_TYPES
from sync.store import Store

_KIND_ORDER = tuple(ENTITY_TYPES)


def status_data(store: Store) -> dict[str, Any]:
    """What ``connector status`` reports, as JSON-able data."""
    per_cohort: dict[str, dict[str, int]] = {}
    for cohort, kind, count in store.counts():
        per_cohort.setdefault(cohort, {})[kind] = count
    cohorts = []
    for uid, counts in sorted(per_cohort.items()):
        entity = store.get(uid) if uid else None
        title = getattr(entity, "title", None)
        cohorts.append({"cohort": uid or None, "title": title, "counts": counts})
    return {
        "store": str(store.path),
        "cohorts": cohorts,
        "last_passes": store.last_passes(),
        "open_conflicts": len(store.conflicts()),
    }


def status_lines(data: dict[str, Any]) -> list[str]:
    """:func:`status_data` as text: a table of counts, the passes, the conflicts."""
    lines = [_("Store: {path}").format(path=data["store"])]
    present = {k for c in data["cohorts"] for k in c["counts"]}
    kinds = [k for k in _KIND_ORDER if k in present]
    if not kinds:
        lines.append(_("The store is empty: start with `connector import organisations FILE`."))
    else:
        labels = [c["cohort"] or _("(no cohort)") for c in data["cohorts"]]
        heading = _("cohort")
        width = max(len(label) for label in [*labels, heading]) + 2
        lines.append("")
        names = {k: kind_label(k) for k in kinds}
        lines.append(
            f"{heading:<{width}}" + "".join(f"{names[k]:>{len(names[k]) + 2}}" for k in kinds)
        )
        for label, cohort in zip(labels, data["cohorts"], strict=True):
            row = "".join(f"{cohort['counts'].get(k, 0):>{len(names[k]) + 2}}" for k in kinds)
            lines.append(f"{label:<{width}}{row}")
    lines.append("")
    passes = data["last_passes"]
    lines.append(_("Last sync pass per target:") + (" " + _("none yet") if not passes else ""))
    for done in passes:
        when = local_time(done["finished_at"])
        lines.append(
            f"  {done['target']}: "
            + _("{outcome} at {when}").format(outcome=done["outcome"], when=when)
        )
        if done.get("duration") is not None:
            requests = ngettext("{n} request", "{n} requests", done["requests"])
            lines.append(
                "    "
                + _(
                    "{seconds} s, {requests}, {changes} changes, {conflicts} conflicts, "
                    "{failures} failed, {withheld} withheld"
                ).format(
                    seconds=f"{done['duration']:.1f}",
                    requests=requests.format(n=done["requests"]),
                    changes=done["changes"],
                    conflicts=done["conflicts"],
                    failures=done["failures"],
                    withheld=done["withheld"],
                )
            )
    lines.append(_("Open conflicts: {count}").format(count=data["open_conflicts"]))
    return lines
