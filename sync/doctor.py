"""``connector doctor``: every target of the configuration's mappings checked against the
real platform, one finding per line, and the exit code of the worst.

Each adapter's checks are its optional ``diagnose`` (:class:`connector.base.Diagnosable`);
this module reads the secrets, builds the adapters, hands each one the collections its rules
use, and ranks what comes back. Nothing is written, locally or remotely.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from connector.base import Collection, Diagnosable, Finding
from connector.errors import ConfigError, ConnectorError
from mappings.load import resolve_secret
from mappings.schema import MappingFile, TargetSpec, collection_name, options_of
from sync.config import Config
from sync.i18n import _
from sync.runner import load_mappings
from sync.targets import build_target

#: Worst first: bad configuration, then credentials, then a failing, then an absent server
#: (the order of the README's exit-code table for these four).
SEVERITY = (3, 5, 8, 9)


@dataclass(frozen=True)
class Line:
    """A finding with the mapping target it belongs to."""

    target: str
    finding: Finding

    def __str__(self) -> str:
        found = self.finding
        word = "ok  " if found.ok and not found.warning else "warn" if found.ok else "FIX "
        text = f"{word}  {self.target}: {found.subject}: {found.message}"
        return f"{text}; {found.fix}" if found.fix else text


def worst(lines: list[Line]) -> int:
    """The exit code of the worst finding (0 when all are fine)."""
    codes = {line.finding.exit_code for line in lines} - {0}
    return min(
        codes, key=lambda c: SEVERITY.index(c) if c in SEVERITY else len(SEVERITY), default=0
    )


def _collections(mapping: MappingFile, target: str) -> list[Collection]:
    seen: dict[str, Collection] = {}
    for rule in mapping.rules:
        if rule.target == target:
            seen.setdefault(
                collection_name(rule), Collection(collection_name(rule), options_of(rule))
            )
    return list(seen.values())


def _check_target(
    mapping: MappingFile, name: str, spec: TargetSpec, secret: Callable[[TargetSpec], str]
) -> list[Finding]:
    subject = f"{spec.kind} {spec.url}"
    try:
        target = build_target(name, spec, secret)
    except ConfigError as exc:
        return [Finding(subject, str(exc), exc.exit_code, _("set it, then run doctor again"))]
    try:
        if not isinstance(target, Diagnosable):
            return [
                Finding(
                    subject, _("no checks for {kind} targets").format(kind=spec.kind), warning=True
                )
            ]
        return target.diagnose(_collections(mapping, name))
    except ConnectorError as exc:  # a check that did not expect this error
        return [Finding(subject, str(exc), exc.exit_code)]
    finally:
        target.close()


def doctor(config: Config, secret: Callable[[TargetSpec], str] = resolve_secret) -> list[Line]:
    """Every finding for every target of every mapping of ``config``."""
    lines: list[Line] = []
    for mapping in load_mappings(config):
        for name, spec in mapping.targets.items():
            lines += [Line(name, f) for f in _check_target(mapping, name, spec, secret)]
    return lines
