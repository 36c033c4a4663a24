"""Connected adapters for a mapping's targets, with their secrets resolved."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connector.base import Target
from connector.registry import make_target
from mappings.schema import MappingFile, TargetSpec


def build_targets(mapping: MappingFile, secret: Callable[[TargetSpec], str]) -> dict[str, Target]:
    """One adapter per target of ``mapping``; ``secret`` reads each target's password."""
    return {name: build_target(spec, secret) for name, spec in mapping.targets.items()}


def build_target(spec: TargetSpec, secret: Callable[[TargetSpec], str]) -> Target:
    """The adapter for one target of a mapping, its secret read by ``secret``."""
    options: dict[str, Any] = {}
    if spec.kind != "memory":
        options["verify"] = spec.verify_tls
    if spec.kind == "caldav":
        options["uid_domain"] = spec.uid_domain
    password = secret(spec) if spec.secret is not None else ""
    return make_target(spec.kind, spec.url, spec.user, password, **options)
