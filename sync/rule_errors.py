"""The one error of a plan or pass whose rules did not all finish: the first rule's, annotated.

The message names every rule that did not finish, but the error stays the first rule's: its
class and exit code, its hint, its problems (one per line on stderr) and any ``retry_after``
the platform asked for, so the operator sees what to fix and the daemon how long to wait.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from connector.errors import ConnectorError
from sync.i18n import _

if TYPE_CHECKING:
    from sync.engine import RuleResult

E = TypeVar("E", bound=ConnectorError)


def annotated(error: E, message: str) -> E:
    """A copy of ``error`` that says ``message``, with every attribute of the original.

    The copy is made without calling the class's ``__init__`` (whose arguments differ per
    class), so nothing the original carries is lost; the original is left as it was.
    """
    copy = type(error).__new__(type(error), message)
    copy.__dict__.update(error.__dict__)
    copy.__cause__ = error.__cause__
    return copy


def unfinished(results: list[RuleResult]) -> ConnectorError | None:
    """The error to report when rules of ``results`` did not finish (None when all did)."""
    failed = [(r.rule, r.error) for r in results if r.error is not None]
    if not failed:
        return None
    first = failed[0][1]
    names = ", ".join(rule for rule, _error in failed)
    message = _("{count} rule(s) did not finish ({names}): {error}").format(
        count=len(failed), names=names, error=first
    )
    return annotated(first, message)
