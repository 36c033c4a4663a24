"""The mass-deletion guard: a rule whose pass would delete too much, or whose scope moved
away from what it holds on its platform, stops before it writes anything."""

from __future__ import annotations

from mappings.filters import matches
from mappings.schema import MappingFile, Rule
from sync.catalog import Catalog
from sync.engine_core import EngineCore
from sync.i18n import N_, _
from sync.plan import Action, RulePlan

#: A rule whose filter no longer covers more than half of what it holds on its platform stops
#: (a typo in a cohort or filter), whatever the deletion thresholds; from this many records.
SCOPE_MIN = 2


class Guard(EngineCore):
    """Checks a rule's plan before it is applied."""

    def _guard(self, rule: Rule, plan: RulePlan, catalog: Catalog) -> None:
        """Stop the collection when a pass would delete too much, on either side.

        Counted are the linked records that vanished from the platform (whatever the rule's
        policy then does with them) and every deletion the pass planned itself: records that
        fell out of the rule's scope, records carrying the marker of an entity the rule no
        longer covers, and tombstoned entities' records. The share is taken of everything the
        rule holds on the platform (its links and the records it recognises by marker).
        """
        from sync.errors import GuardTripped

        allowed = self.options.allow_mass_delete
        if {rule.name, self.key(rule), "*"} & allowed:
            return
        deletes = [i for i in plan.items if i.action == Action.DELETE]
        by_marker = [i for i in deletes if i.uid not in plan.linked_uids]
        reach = plan.linked + len(by_marker) + plan.out_of_scope
        # Entities still alive that the rule's filter (or cohort) no longer covers: the scope
        # moved away from them. (Records withdrawn by the embargo are deletions, not this.)
        # Unlinked records of such entities (found by marker) count too: a typo in the cohort
        # also changes the rule's key, and its records would be orphaned.
        out_of_scope = [i for i in deletes if self._filtered_out(rule, catalog, i.uid)]
        moved = len(out_of_scope) + plan.out_of_scope
        if moved >= SCOPE_MIN and moved * 2 > reach:
            error = GuardTripped(
                _(
                    "{rule}: the rule's scope no longer matches {n} of the "
                    "{reach} records it holds on {target} ({scope}); "
                    "the pass would delete them; nothing was changed for this collection"
                ).format(
                    rule=rule.name,
                    n=moved,
                    reach=reach,
                    target=rule.target,
                    scope=_scope_of(self.mapping, rule),
                )
            )
            error.hint = _(
                "check the mapping's cohort and the rule's filter (`connector mappings check "
                "FILE` warns about a filter that matches nothing in the store); if the "
                "deletions are meant, run `connector sync --allow-mass-delete {rule}`"
            ).format(rule=rule.name)
            raise error
        doomed = plan.lost + len(deletes)
        if doomed < self.options.min_delete_count or not reach:
            return
        share = doomed / reach
        if share <= self.options.max_delete_share:
            return
        parts = []
        if plan.lost:
            parts.append(
                _("{lost} of {linked} linked records vanished from {target}").format(
                    lost=plan.lost, linked=plan.linked, target=rule.target
                )
            )
        if deletes:
            parts.append(
                _("the pass would delete {n} records on {target}").format(
                    n=len(deletes), target=rule.target
                )
            )
        error = GuardTripped(
            _(
                "{rule}: {parts} in one pass ({share:.0%} of {reach}, more "
                "than {limit:.0%}); nothing was changed for this collection"
            ).format(
                rule=rule.name,
                parts=_(" and ").join(parts),
                share=share,
                reach=reach,
                limit=self.options.max_delete_share,
            ),
        )
        error.hint = _(
            "check {target}; {allowing}if the deletions are meant, run "
            "`connector sync --allow-mass-delete {rule}`"
        ).format(target=rule.target, allowing=_allowing(rule, plan), rule=rule.name)
        raise error

    def _filtered_out(self, rule: Rule, catalog: Catalog, uid: str | None) -> bool:
        entity = catalog.get(uid or "")
        return entity is not None and not matches(rule, entity, catalog, self.mapping.cohort)


def _scope_of(mapping: MappingFile, rule: Rule) -> str:
    cohort = rule.filter.get("cohort", mapping.cohort)
    others = {k: v for k, v in rule.filter.items() if k != "cohort"}
    scope = _("cohort {cohort!r}").format(cohort=cohort) if cohort is not None else _("no cohort")
    return scope + (_(", filter {others}").format(others=others) if others else "")


_ALLOWING = {
    "tombstone": N_("tombstones their {n} entities in the store"),
    "restore": N_("creates their {n} records again"),
    "opt_out": N_("records {n} opt-outs"),
    "detach": N_("stops syncing their {n} entities"),
}


def _allowing(rule: Rule, plan: RulePlan) -> str:
    """What overriding the guard would do with the vanished records (policy-specific)."""
    if not plan.lost:
        return ""
    effect = _ALLOWING.get(rule.on_remote_delete, "")
    return (
        _("allowing the pass {effect}; ").format(effect=_(effect).format(n=plan.lost))
        if effect
        else ""
    )
