"""A test hook: the process SIGKILLs itself at a chosen moment, set by ``CONNECTOR_CRASH_AT``.

The crash tests kill real ``connector sync`` and ``connector import`` processes exactly where
a crash hurts most, and can replay a failure from its seed:

* ``journal:N`` — once the Nth journalled remote write has been sent, at the start of the
  next store transaction (the commit that would settle it): between the write and its commit.
* ``put:N`` — at the Nth entity written to the store (an import dies mid-transaction).

Unset, as always outside those tests, every hook returns at once.
"""

from __future__ import annotations

import os
import signal

VARIABLE = "CONNECTOR_CRASH_AT"

_counts = {"journal": 0, "put": 0}
_armed = False


def _target(kind: str) -> int | None:
    spec = os.environ.get(VARIABLE)
    if not spec or not spec.startswith(kind + ":"):
        return None
    return int(spec.split(":", 1)[1])


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def journalled() -> None:
    """A remote write was journalled and is about to be sent."""
    global _armed
    at = _target("journal")
    if at is None:
        return
    _counts["journal"] += 1
    if _counts["journal"] == at:
        _armed = True


def transaction() -> None:
    """A store transaction begins (after an armed journalled write: its commit)."""
    if _armed:
        _die()


def put() -> None:
    """An entity is about to be written."""
    at = _target("put")
    if at is None:
        return
    _counts["put"] += 1
    if _counts["put"] == at:
        _die()
