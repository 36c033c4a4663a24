"""Connected adapters for a mapping's targets, with their secrets resolved."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from connector.base import Target
from connector.registry import make_target, platform
from mappings.schema import MappingFile, TargetSpec


def url_variable(target: str) -> str:
    """The environment variable that overrides target ``target``'s URL.

    ``CONNECTOR_URL_NEXTCLOUD`` for target ``nextcloud``: local servers on free ports (the
    demo, `connector servers start`) are reached without editing the mapping.
    """
    return "CONNECTOR_URL_" + re.sub(r"[^A-Za-z0-9]", "_", target).upper()


def target_url(name: str, spec: TargetSpec) -> str:
    """Where target ``name`` is: its override from the environment, else the mapping's URL."""
    return os.environ.get(url_variable(name), "").strip() or spec.url


def build_targets(mapping: MappingFile, secret: Callable[[TargetSpec], str]) -> dict[str, Target]:
    """One adapter per target of ``mapping``; ``secret`` reads each target's password."""
    return {name: build_target(name, spec, secret) for name, spec in mapping.targets.items()}


def build_target(name: str, spec: TargetSpec, secret: Callable[[TargetSpec], str]) -> Target:
    """The adapter for target ``name`` of a mapping, its secret read by ``secret``."""
    settings = platform(spec.kind).settings
    options: dict[str, Any] = {argument: getattr(spec, key) for argument, key in settings.items()}
    password = secret(spec) if spec.secret is not None else ""
    return make_target(spec.kind, target_url(name, spec), spec.user, password, **options)
