"""``connector forget``: what to erase, the guard for many at once, and what to print."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from connector.errors import InputError
from sync.config import Config
from sync.erasure import Receipt, erase
from sync.erasure_plan import ErasurePlan, begin, pending, plan_erasure
from sync.erasure_retention import due, past_the_guard
from sync.erasure_steps import remote_records
from sync.i18n import _, ngettext
from sync.matching import find_person
from sync.model import BERLIN, utcnow
from sync.runner import Run


@dataclass
class Output:
    """What the command prints: lines for people, data for ``--json``."""

    lines: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


def _sync_errors(run: Run) -> list[str]:
    return [f"{r.rule}: {r.error}" for r in run.sync() if r.error is not None]


def _receipt_lines(receipt: Receipt) -> list[str]:
    lines = [_("receipt {id} ({at}):").format(id=receipt.id, at=receipt.erased_at)]
    lines += [f"  {kind}: {n}" for kind, n in receipt.records.items()]
    for target, counts in receipt.targets.items():
        lines.append(f"  {target}: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
    return lines


def _preview(run: Run, plan: ErasurePlan) -> list[str]:
    lines = [_("would erase {name} ({person}):").format(name=plan.name, person=plan.person)]
    lines += [f"  {kind}: {n}" for kind, n in plan.kinds.items()]
    per_rule: dict[str, int] = {}
    for engine, rule, _uid, _remote in remote_records(run.store, run.engines, plan):
        per_rule[engine.key(rule)] = per_rule.get(engine.key(rule), 0) + 1
    lines += [
        "  "
        + ngettext("{rule}: {n} record to delete", "{rule}: {n} records to delete", n).format(
            rule=rule, n=n
        )
        for rule, n in sorted(per_rule.items())
    ]
    lines.append("  " + _("and the Mailman users owning the address, with all their addresses"))
    return lines


def _finish(run: Run, plan: ErasurePlan, out: Output) -> None:
    receipt = erase(run.store, plan, run.engines, lambda: _sync_errors(run))
    out.lines += _receipt_lines(receipt)
    out.data.setdefault("receipts", []).append(asdict(receipt))


def forget_command(
    run: Run,
    config: Config,
    person: str | None,
    *,
    dry_run: bool,
    due: bool,
    yes: bool,
    today: date | None,
) -> Output:
    """Carry out ``connector forget`` on ``run``; returns what to print."""
    out = Output()
    if due:
        return _due(run, config, dry_run=dry_run, yes=yes, today=today)
    if person is None:
        started = pending(run.store)
        if not started:
            raise InputError(_("nothing to finish: name a PERSON (e-mail or uid), or use --due"))
        for plan in started:
            out.lines.append(
                _("finishing the erasure started earlier ({steps} done)").format(
                    steps=", ".join(plan.done) or _("no step")
                )
            )
            _finish(run, plan, out)
        return out
    if dry_run:
        started = [p for p in pending(run.store) if person in (p.person, p.email)]
        plan = started[0] if started else plan_erasure(run.store, find_person(run.store, person))
        out.lines = _preview(run, plan)
        out.data = {"dry_run": True, "records": plan.kinds}
        return out
    plan = begin(run.store, person)
    _finish(run, plan, out)
    return out


def _due(run: Run, config: Config, *, dry_run: bool, yes: bool, today: date | None) -> Output:
    day = today or utcnow().astimezone(BERLIN).date()
    found = due(run.store, day)
    out = Output(data={"today": day.isoformat(), "due": [asdict(d) for d in found]})
    out.lines.append(
        _("{n} applicants not selected are past their retention period:").format(n=len(found))
    )
    out.lines += [
        "  "
        + _("{name} <{email}> (kept until {since}, {programme})").format(
            name=d.name, email=d.email, since=d.since, programme=d.programme
        )
        for d in found
    ]
    if not found or dry_run or not yes:
        if found and not yes:
            out.lines.append(_("add --yes to erase them"))
        return out
    plans = [plan_erasure(run.store, find_person(run.store, d.person)) for d in found]
    settings = config.sync
    over = past_the_guard(
        run.store, run.engines, plans, settings.max_delete_share, settings.min_delete_count
    )
    for mass in over:
        out.lines.append(
            _("past the mass-deletion guard, allowed by --yes: {mass}").format(mass=mass)
        )
    out.data["past_the_guard"] = [asdict(m) for m in over]
    for d in found:
        _finish(run, begin(run.store, d.person), out)
    return out
