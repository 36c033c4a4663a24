"""Readable and JSON forms of plans, pass results and conflicts (the CLI prints these)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from connector.base import RemoteRecord
from connector.platform import Describes
from mappings.schema import Rule
from sync.display import local_time, shown_value
from sync.engine import RuleResult
from sync.i18n import N_, _, ngettext
from sync.plan import Action, Item
from sync.store import Conflict

if TYPE_CHECKING:
    from connector.mailman import Announcement

_SYMBOL: dict[Action, str] = {
    Action.CREATE: "+",
    Action.RESTORE: "+",
    Action.UPDATE: "~",
    Action.ADOPT: "=",
    Action.DELETE: "-",
    Action.IMPORT: "<",
    Action.TOMBSTONE: "x",
    Action.OPT_OUT: "o",
    Action.UNLINK: ".",
    Action.DETACH: ".",
}
_VERB: dict[Action, str] = {
    Action.CREATE: N_("create"),
    Action.RESTORE: N_("re-create (deleted on the platform)"),
    Action.UPDATE: N_("update"),
    Action.ADOPT: N_("adopt existing record"),
    Action.DELETE: N_("delete"),
    Action.IMPORT: N_("import new record"),
    Action.TOMBSTONE: N_("tombstone (deleted on the platform)"),
    Action.OPT_OUT: N_("record opt-out (left the list)"),
    Action.UNLINK: N_("forget link"),
    Action.DETACH: N_("detach"),
}
#: The words of a rule's counts ("40 create, 1 conflict"), for the catalog.
_COUNT_WORDS = (
    *(N_("restore"), N_("adopt"), N_("import"), N_("tombstone")),
    *(N_("opt_out"), N_("unlink"), N_("conflict")),
)


def _short(value: Any, width: int = 60) -> str:
    return shown_value(value, width)


def _named(uid: str, labels: Mapping[str, str] | None) -> str:
    """A record as people name it, with its uid: ``Till Gövert (Greven) – application [app-…]``."""
    name = (labels or {}).get(uid)
    return f"{name} [{uid}]" if name and name != uid else uid


def item_data(item: Item) -> dict[str, Any]:
    """One planned item as JSON-able data."""
    return {
        "action": item.action,
        "uid": item.uid,
        "remote_id": item.remote_id,
        "remote_changes": item.remote,
        "canonical_changes": item.canonical,
        "conflicts": [
            {"field": key, "base": base, "canonical": canonical, "remote": remote}
            for key, base, canonical, remote in item.conflicts
        ],
        "problems": item.problems,
        "marker": item.mark,
    }


def plan_data(result: RuleResult) -> dict[str, Any]:
    """One rule's plan as JSON-able data."""
    items = [i for i in result.plan.items if i.writes] if result.plan else []
    return {
        "rule": result.rule,
        "target": result.target,
        "collection": result.collection,
        "error": str(result.error) if result.error else None,
        "counts": _counts(items),
        "items": [item_data(i) for i in items],
        "unlinked_remote": result.plan.unlinked_remote if result.plan else [],
        "requests": result.requests,
    }


def _counts(items: list[Item]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        if item.counted:
            counts[item.action] = counts.get(item.action, 0) + 1
        if item.conflicts:
            counts["conflict"] = counts.get("conflict", 0) + len(item.conflicts)
    return counts


def _counts_text(counts: dict[str, int]) -> str:
    if not counts:
        return _("nothing to do")
    return ", ".join(f"{n} {_(action)}" for action, n in sorted(counts.items()))


def item_lines(item: Item, labels: Mapping[str, str] | None = None) -> list[str]:
    """An item as indented lines: what changes on which side (``labels``: names by uid)."""
    head = f"  {_SYMBOL.get(item.action, '?')} {_(_VERB.get(item.action, item.action))} "
    head += _named(item.uid, labels) if item.uid else _("remote {id}").format(id=item.remote_id)
    lines = [head]
    if item.action.merges:
        lines += [
            "      " + _("platform {field}: → {value}").format(field=k, value=_short(v))
            for k, v in item.remote.items()
        ]
    elif item.action in (Action.CREATE, Action.RESTORE):
        lines += [f"      {k}: {_short(v)}" for k, v in item.remote.items()]
    lines += [
        "      " + _("canonical {field}: → {value}").format(field=k, value=_short(v))
        for k, v in item.canonical.items()
    ]
    if item.mark and item.uid:
        lines.append("      " + _("platform marker: → {uid}").format(uid=item.uid))
    for key, _base, canonical, remote in item.conflicts:
        sides = _("here {canonical} vs there {remote}").format(
            canonical=_short(canonical, 30), remote=_short(remote, 30)
        )
        lines.append("      " + _("CONFLICT {field}: {sides}").format(field=key, sides=sides))
    lines += ["      " + _("problem: {text}").format(text=p) for p in item.problems]
    return lines


def plan_lines(
    result: RuleResult, limit: int = 20, labels: Mapping[str, str] | None = None
) -> list[str]:
    """A rule's plan as text (``labels``: how people name each uid)."""
    head = f"{result.rule} → {result.target} / {result.collection}"
    if result.error is not None:
        return [f"{head}: " + _("NOT PLANNED: {error}").format(error=result.error)]
    items = [i for i in result.plan.items if i.writes] if result.plan else []
    lines = [f"{head}: {_counts_text(_counts(items))}"]
    for item in items[:limit]:
        lines += item_lines(item, labels)
    if len(items) > limit:
        lines.append(
            "  " + _("… and {n} more (--limit, or --json for all)").format(n=len(items) - limit)
        )
    lines += _withheld_lines(len(result.plan.withheld) if result.plan else 0, result.target)
    unlinked = result.plan.unlinked_remote if result.plan else []
    if unlinked:
        lines.append(
            "  "
            + _("{n} record(s) on the platform without a counterpart (left alone)").format(
                n=len(unlinked)
            )
        )
    lines += ["  " + _("note: {text}").format(text=n) for n in result.notes]
    return lines


def _withheld_lines(count: int, target: str) -> list[str]:
    if not count:
        return []
    return [
        "  "
        + _(
            "withheld: {count} record(s) naming both partners of a tandem stay off {target} "
            "until the reveal date"
        ).format(count=count, target=target)
    ]


def summary_lines(
    results: list[RuleResult], *, stats: bool = False, quiet: bool = False
) -> list[str]:
    """A pass's outcome, one line per rule, then problems and totals.

    ``quiet`` leaves out rules with nothing to report (the daemon's log).
    """
    lines = []
    for result in results:
        if quiet and not (
            result.counts or result.error or result.problems or result.notes or result.withheld
        ):
            continue
        state = (
            _("ERROR: {error}").format(error=result.error)
            if result.error
            else _counts_text(result.counts)
        )
        requests = ngettext("{n} request", "{n} requests", result.requests)
        if result.failures:
            state += ", " + _("{n} failed").format(n=len(result.failures))
        if result.withheld and not result.error:
            state += ", " + _("{n} withheld until the reveal date").format(n=result.withheld)
        extra = f"  [{requests.format(n=result.requests)}]" if stats else ""
        lines.append(f"{result.rule} → {result.target} / {result.collection}: {state}{extra}")
        lines += ["  " + _("problem: {text}").format(text=p) for p in result.problems]
        lines += ["  " + _("note: {text}").format(text=n) for n in result.notes]
        lines += _withheld_lines(result.withheld, result.target)
    parked = sum(r.counts.get("conflict", 0) for r in results)
    if parked:
        lines.append(
            _(
                "{n} conflict(s) wait for a person: see `connector conflicts list`; "
                "both sides stay as they are until then"
            ).format(n=parked)
        )
    if stats:
        per_target: dict[str, int] = {}
        for result in results:
            per_target[result.target] = per_target.get(result.target, 0) + result.requests
        total = ", ".join(f"{t}: {n}" for t, n in sorted(per_target.items()))
        lines.append(_("requests per target: {counts}").format(counts=total))
    return lines


def pass_line(results: list[RuleResult], when: str, wait: float) -> str:
    """One line per daemon pass: when, how much changed, how many rules failed."""
    changes = sum(n for r in results for a, n in r.counts.items() if a != "conflict")
    failed = sum(1 for r in results if r.error is not None)
    state = _("{n} change(s)").format(n=changes) if changes else _("nothing to do")
    if failed:
        state += ", " + _("{n} rule(s) failed").format(n=failed)
    items = sum(len(r.failures) for r in results)
    if items:
        state += ", " + _("{n} item(s) failed").format(n=items)
    return _("{when} pass over {n} rules: {state}; next pass in {wait} s").format(
        when=when, n=len(results), state=state, wait=f"{wait:.0f}"
    )


def conflict_line(conflict: Conflict, labels: Mapping[str, str] | None = None) -> str:
    """One line per conflict for `conflicts list` (``labels``: names by uid)."""
    state = _("open") if conflict.resolved_at is None else _("settled")
    return (
        f"#{conflict.id} [{state}] {conflict.rule} {_named(conflict.uid, labels)} "
        f"{conflict.field}: "
        + _("here {canonical} vs there {remote}").format(
            canonical=_short(conflict.canonical, 30), remote=_short(conflict.remote, 30)
        )
    )


def conflict_details(conflict: Conflict, labels: Mapping[str, str] | None = None) -> list[str]:
    """The full story of one conflict (``labels``: names by uid)."""
    state = _("open") if conflict.resolved_at is None else _("settled")
    rows = [
        (_("rule:"), conflict.rule),
        (_("record:"), _named(conflict.uid, labels)),
        (_("field:"), conflict.field),
        (_("agreed before:"), _short(conflict.base, 200)),
        (_("canonical now:"), _short(conflict.canonical, 200)),
        (_("platform now:"), _short(conflict.remote, 200)),
        (_("noticed:"), local_time(conflict.created_at)),
    ]
    if conflict.resolved_at:
        rows.append(
            (
                _("resolved:"),
                _("{value} at {when}").format(
                    value=_short(conflict.resolution), when=local_time(conflict.resolved_at)
                ),
            )
        )
    else:
        rows.append(
            (
                _("resolve with:"),
                f"connector conflicts resolve {conflict.id} --take canonical|remote|VALUE",
            )
        )
    width = max(len(label) for label, _value in rows)
    lines = [_("Conflict #{id} ({state})").format(id=conflict.id, state=state)]
    return lines + [f"  {label:<{width}} {value}" for label, value in rows]


def announcement_text(result: Announcement) -> str:
    """A circular mail as the operator sees it before (or after) it goes out."""
    state = _("PREVIEW: nothing was sent (add --send to post it)") if result.dry_run else _("SENT")
    queued = (
        "\n" + _("Queued by Mailman as {file}").format(file=result.queue_file)
        if result.queue_file
        else ""
    )
    to = _("To: {address} ({n} members with delivery on)").format(
        address=result.list_address, n=result.recipients
    )
    sender = _("From: {address}").format(address=result.sender)
    subject = _("Subject: {subject}").format(subject=result.subject)
    return f"{state}\n{to}\n{sender}\n{subject}\n\n{result.body.rstrip()}{queued}"


def resolution_value(conflict: Conflict, take: str) -> Any:
    """The value chosen by ``--take``: a side's value, or text (comma-separated for sets)."""
    if take == "canonical":
        return conflict.canonical
    if take == "remote":
        return conflict.remote
    if isinstance(conflict.canonical, list) or isinstance(conflict.remote, list):
        return sorted({part.strip() for part in take.split(",") if part.strip()})
    return take


def collection_lines(rule: Rule, records: list[RemoteRecord]) -> list[str]:
    """A collection as text, laid out by its platform (a board's stacks, a calendar's days)
    where the platform declares how; otherwise one line per record."""
    table = rule.table
    if isinstance(table, Describes):
        return table.describe(records, local_time)
    name = rule.platform.collection_name(table)
    lines = [f"{_(rule.platform.noun)} »{name}« ({len(records)})"]
    for record in sorted(records, key=lambda r: r.remote_id):
        shown = ", ".join(
            f"{k}={v}" for k, v in sorted(record.fields.items()) if v not in (None, "")
        )
        lines.append(f"    {record.remote_id}: {shown}")
    return lines
