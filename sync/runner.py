"""From a configuration to ready engines: load each mapping, connect its targets."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from connector import logsafe
from connector.base import Collection, RemoteRecord, Target
from connector.errors import ConfigError, ConnectorError, InputError, NotFound
from connector.platform import Announcing
from mappings.load import load_mapping, resolve_secret
from mappings.schema import MappingFile, Rule, TargetSpec, collection_name
from sync.catalog import Catalog
from sync.config import Config
from sync.engine import Engine, Options, RuleResult, field_keys, rule_key
from sync.factory import build_engine
from sync.factory import check_domain as check_domain
from sync.factory import domain_consequences as domain_consequences
from sync.i18n import _
from sync.store import Conflict, Store
from sync.targets import build_targets, target_url


@dataclass
class Run:
    """The engines of one configuration, sharing one store."""

    store: Store
    engines: list[Engine]

    def plan(self) -> list[RuleResult]:
        """Every mapping's plan."""
        return [result for engine in self.engines for result in engine.plan()]

    def sync(
        self,
        progress: Callable[[str, int, int], None] | None = None,
        resting: Mapping[str, ConnectorError] | None = None,
    ) -> list[RuleResult]:
        """One pass of every mapping (skipping the rules of ``resting`` targets)."""
        return [result for engine in self.engines for result in engine.sync(progress, resting)]

    def targets(self) -> dict[str, Target]:
        """All connected targets, by mapping-qualified name."""
        return {
            f"{engine.mapping.cohort or engine.mapping.programme}/{name}": target
            for engine in self.engines
            for name, target in engine.targets.items()
        }

    def close(self) -> None:
        """Close every target's connections."""
        for engine in self.engines:
            for target in engine.targets.values():
                target.close()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        """Close every target's connections, then the store (also when the block failed)."""
        try:
            self.close()
        finally:
            self.store.close()


def find_rule(run: Run, name: str) -> tuple[Engine, Rule]:
    """The engine and rule called ``name`` (``rule`` or ``cohort:rule``)."""
    for engine in run.engines:
        for rule in engine.mapping.rules:
            if name in (rule.name, engine.key(rule)):
                return engine, rule
    known = ", ".join(engine.key(r) for engine in run.engines for r in engine.mapping.rules)
    raise InputError(_("no rule {name!r}; known: {known}").format(name=name, known=known))


def remote_records(run: Run, name: str) -> tuple[Engine, Rule, list[RemoteRecord]]:
    """What the collection of rule ``name`` holds on its platform now (a full listing)."""
    engine, rule = find_rule(run, name)
    collection = engine.collection(rule, Catalog.load(run.store))
    try:
        records = engine.targets[rule.target].changes(collection, None).records
    except NotFound:
        records = []
    return engine, rule, records


def find_list(run: Run, name: str) -> tuple[Announcing, Collection]:
    """The announcing target (Mailman) and collection of the rule whose list is ``name``
    (address or rule)."""
    known = []
    for engine in run.engines:
        for rule in engine.mapping.rules:
            if not issubclass(rule.platform.target_class(), Announcing):
                continue
            address = collection_name(rule)
            known.append(address)
            if name in (rule.name, address):
                target = engine.targets[rule.target]
                if not isinstance(target, Announcing):
                    platform = rule.platform.target_class().__name__.removesuffix("Target")
                    raise ConfigError(
                        _("rule {rule}: target {target} is not {platform}").format(
                            rule=rule.name, target=rule.target, platform=platform
                        )
                    )
                return target, engine.collection(rule, Catalog.load(run.store))
    raise InputError(
        _("no mapped list {name!r}; known: {known}").format(
            name=name, known=", ".join(known) or _("none")
        )
    )


def check_resolution(config: Config, conflict: Conflict, value: Any) -> None:
    """Refuse a conflict resolution the field's value map cannot carry (InputError)."""
    for mapping in load_mappings(config):
        for rule in mapping.rules:
            if rule_key(mapping, rule) != conflict.rule:
                continue
            for key, spec in zip(field_keys(rule), rule.fields, strict=True):
                allowed = set(spec.values.values()) if spec.values else None
                if key == conflict.field and allowed is not None and value not in allowed:
                    raise InputError(
                        _("{value!r} is not a value of {field}; choose one of: {allowed}").format(
                            value=value, field=conflict.field, allowed=", ".join(sorted(allowed))
                        )
                    )


def load_mappings(config: Config) -> list[MappingFile]:
    """The configuration's mapping files, validated; ConfigError when there are none."""
    if not config.mappings:
        where = config.path or "connector.toml"
        raise ConfigError(
            _("{where}: no mapping files configured (key `mappings`)").format(where=where)
        )
    return [load_mapping(path) for path in config.mappings]


def check_secrets(mappings: list[MappingFile]) -> None:
    """Refuse to start when secrets from the environment are missing: name all of them."""
    missing: dict[str, list[str]] = {}
    for mapping in mappings:
        for name, spec in mapping.targets.items():
            env = spec.secret.env if spec.secret is not None else None
            if env and not os.environ.get(env):
                missing.setdefault(env, []).append(f"{name} ({target_url(name, spec)})")
    if not missing:
        return
    problems = [
        _("{variable}: the password of target {targets}").format(
            variable=env, targets=", ".join(dict.fromkeys(where))
        )
        for env, where in missing.items()
    ]
    error = ConfigError(
        _("{n} secret(s) are not set in the environment: {names}").format(
            n=len(missing), names=", ".join(missing)
        ),
        problems,
    )
    error.hint = _(
        "set each with `export NAME=...` (or use `secret = {{ command = ... }}` in the mapping); "
        'for the local demo servers: eval "$(connector servers start)"'
    ).format()
    raise error


def open_run(
    config: Config,
    *,
    today: date | None = None,
    allow_mass_delete: frozenset[str] = frozenset(),
) -> Run:
    """Open the configured store (it must exist) and :func:`prepare` its engines.

    Use it as ``with open_run(config) as run:``; the store is closed again if preparing fails.
    """
    store = Store.open(config.store, create=False)
    try:
        return prepare(config, store, today=today, allow_mass_delete=allow_mass_delete)
    except BaseException:
        store.close()
        raise


def prepare(
    config: Config,
    store: Store,
    *,
    today: date | None = None,
    allow_mass_delete: frozenset[str] = frozenset(),
    secret: Callable[[TargetSpec], str] = resolve_secret,
) -> Run:
    """Engines for every mapping of ``config`` on ``store``, targets connected."""
    options = Options(
        today=today,
        allow_mass_delete=allow_mass_delete,
        max_delete_share=config.sync.max_delete_share,
        min_delete_count=config.sync.min_delete_count,
    )
    engines = []
    mappings = load_mappings(config)
    if secret is resolve_secret:
        check_secrets(mappings)
    for mapping in mappings:
        logsafe.publish([collection_name(r) for r in mapping.rules if r.platform.public_names])
        targets = build_targets(mapping, secret)
        engines.append(build_engine(store, mapping, targets, options))
    return Run(store, engines)
