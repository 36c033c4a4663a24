"""What an engine is built from and hands back: its options, a rule's result, the store
names of rules and fields, and the engine's state (mapping, targets, compiled rules)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from connector.base import Collection, RemoteField, Target
from connector.errors import ConnectorError
from connector.platform import WantsOrganisations
from mappings.fields import Codec
from mappings.schema import MappingFile, Rule, collection_name, options_of
from sync.apply import Check, Consequences, Tally, new_uid
from sync.catalog import Catalog
from sync.model import BERLIN, Cohort, Organisation
from sync.outcome import ItemFailure
from sync.pass_cache import PassCache
from sync.plan import RulePlan, RuleView
from sync.store import Store


@dataclass
class Options:
    """How a pass behaves."""

    #: The day the embargo is judged on; None: the current day in Berlin, at every pass.
    today: date | None = None
    #: Rule names (or "*") whose mass-deletion guard the operator overrides for this pass.
    allow_mass_delete: frozenset[str] = frozenset()
    max_delete_share: float = 0.2
    min_delete_count: int = 5


@dataclass
class RuleResult:
    """What one rule's pass found and did."""

    rule: str
    target: str
    collection: str
    plan: RulePlan | None = None
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    #: What the platform reported that is not a change (bounces, disabled delivery ...).
    notes: list[str] = field(default_factory=list)
    error: ConnectorError | None = None
    requests: int = 0
    #: Records that did not sync (their write failed, or a change was refused), by uid.
    failures: dict[str, ItemFailure] = field(default_factory=dict)
    #: Entities the rule would carry but the tandem embargo holds back today.
    withheld: int = 0
    #: Seconds the rule took.
    duration: float = 0.0

    def merge(self, tally: Tally, outcomes: Mapping[str, ItemFailure | None] | None = None) -> None:
        """Add what one round applied; ``outcomes`` says per item key whether it failed.

        An item that failed in an earlier round and went through in a later one is no
        failure; the problems are those of the items still failing.
        """
        for action, count in tally.counts.items():
            self.counts[action] = self.counts.get(action, 0) + count
        for key, failure in (outcomes or {}).items():
            if failure is None:
                self.failures.pop(key, None)
            else:
                self.failures[key] = failure
        self.problems = [line for f in self.failures.values() for line in f.messages]

    def summary(self) -> dict[str, Any]:
        """JSON-able summary."""
        return {
            "rule": self.rule,
            "target": self.target,
            "collection": self.collection,
            "counts": self.counts,
            "problems": self.problems,
            "notes": self.notes,
            "requests": self.requests,
            "error": str(self.error) if self.error else None,
            "failures": len(self.failures),
            "withheld": self.withheld,
            "duration": round(self.duration, 3),
        }


def rule_key(mapping: MappingFile, rule: Rule) -> str:
    """``cohort:rule`` (or ``programme:rule``): how the store names a rule's links and cursor."""
    return f"{mapping.cohort or mapping.programme}:{rule.name}"


def field_keys(rule: Rule) -> list[str]:
    """The base key of each of ``rule``'s fields (the remote name, made unique if shared)."""
    remotes = [f.remote for f in rule.fields]
    return [
        f.remote if remotes.count(f.remote) == 1 else f"{f.remote}[{f.canonical or 'text'}]"
        for f in rule.fields
    ]


class EngineCore:
    """The state of an :class:`sync.engine.Engine`: its collaborators and compiled rules."""

    def __init__(
        self,
        store: Store,
        mapping: MappingFile,
        targets: dict[str, Target],
        options: Options | None = None,
        consequences: Consequences | None = None,
        check: Check | None = None,
        uids: Callable[[str], str] = new_uid,
        clock: Callable[[], datetime] = lambda: datetime.now(BERLIN),
    ) -> None:
        self.store, self.mapping, self.targets = store, mapping, targets
        self.options = options or Options()
        self.consequences = consequences
        self.check = check
        #: Makes the uid of an entity created from a platform record.
        self.uids = uids
        #: The current time; the embargo's day is its date in Berlin (unless fixed by options).
        self.clock = clock
        #: Checked between items; when it returns True the pass ends after the current item.
        self.stop_requested: Callable[[], bool] = lambda: False
        self.views = {rule.name: self.compile(rule) for rule in mapping.rules}
        #: The catalog and links a clean pass leaves for the next (``sync --watch``).
        self.cache = PassCache()

    def today(self) -> date:
        """The day this pass runs on (for the embargo): fixed by the options, else now."""
        return self.options.today or self.clock().astimezone(BERLIN).date()

    def key(self, rule: Rule) -> str:
        """The rule's name in the store, unique across mapping files."""
        return rule_key(self.mapping, rule)

    def compile(self, rule: Rule) -> RuleView:
        """The rule with its codecs, typed by the target's fields."""
        fields = self.targets[rule.target].FIELDS
        codecs = {}
        for key, spec in zip(field_keys(rule), rule.fields, strict=True):
            remote = fields.get(spec.remote, RemoteField(spec.remote))
            codecs[key] = Codec(spec, rule.entity, remote.type, remote.max_length)
        return RuleView(
            rule,
            self.key(rule),
            rule.target,
            collection_name(rule),
            self.mapping.audience_of(rule),
            codecs,
            self.mapping.cohort,
            self.targets[rule.target].marks_records,
        )

    def collection(self, rule: Rule, catalog: Catalog) -> Collection:
        """The collection with its options; organisation labels come from the cohort."""
        options = options_of(rule)
        if isinstance(rule.table, WantsOrganisations):
            rule.table.with_organisations(options, self._organisation_labels(catalog))
        return Collection(collection_name(rule), options)

    def _organisation_labels(self, catalog: Catalog) -> list[str]:
        cohort = catalog.get(self.mapping.cohort or "")
        uids = cohort.organisations if isinstance(cohort, Cohort) else []
        orgs = [catalog.get(uid) for uid in uids] or catalog.all("organisation")
        return sorted({o.short_name for o in orgs if isinstance(o, Organisation)})
