"""``connector sync --watch``: passes in a loop, one process per store.

A lock file next to the store keeps a second daemon (or a manual ``sync``) out. SIGTERM and
SIGINT let the current item finish, then the loop ends cleanly. While a target is down its
rules rest: the wait before that target is tried again doubles (up to ``max_backoff``) and
drops back after a clean pass; the other targets go on at the normal interval. A server's
``Retry-After`` is honoured, but never beyond ``max_backoff`` (the log says so).
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from connector.errors import ConnectorError, RetryLater
from sync.engine import RuleResult
from sync.errors import LockHeld, StoreError
from sync.i18n import _
from sync.logs import event

if TYPE_CHECKING:
    from sync.runner import Run

log = logging.getLogger(__name__)


@contextmanager
def store_lock(store_path: Path) -> Iterator[None]:
    """Hold the store's lock for the duration; ``LockHeld`` if another process has it."""
    if not store_path.exists():
        raise StoreError(
            _("{path}: no store here (run `connector import` or `connector init`)").format(
                path=store_path
            )
        )
    lock_path = store_path.with_name(store_path.name + ".lock")
    handle = open(lock_path, "a+")  # noqa: SIM115 - held for the whole block
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or _("another process")
            raise LockHeld(
                _("{store} is being synced by {holder}").format(store=store_path, holder=holder)
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()


class Stopper:
    """Turns SIGTERM/SIGINT into a flag the loop checks between items and passes."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._signalled = False
        self._previous: dict[int, object] = {}

    def __enter__(self) -> Stopper:
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._previous[sig] = signal.signal(sig, self._stop)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        # A signal handler runs between two bytecodes of the main thread, which may be inside
        # ``event.wait`` holding the event's (non-reentrant) lock: setting the event here could
        # deadlock the daemon on SIGTERM. A flag is safe; a helper thread wakes the wait.
        self._signalled = True
        threading.Thread(target=self._wake, args=(signum,), daemon=True).start()

    def _wake(self, signum: int) -> None:
        log.info("signal %s: finishing the current item, then stopping", signum)
        self.event.set()

    @property
    def stopped(self) -> bool:
        """Whether a stop was asked for."""
        return self._signalled or self.event.is_set()


def next_wait(interval: float, failures: int, max_backoff: float) -> float:
    """Seconds to wait before the next pass after ``failures`` failed passes in a row."""
    if failures == 0:
        return interval
    # The exponent is capped: after weeks of outage 2**failures would overflow a float.
    return float(min(max_backoff, interval * 2 ** min(failures, 32)))


class TargetResting(RetryLater):
    """A target the daemon leaves alone this pass: it was unavailable and its wait is not over."""


@dataclass
class Backoff:
    """A target that was unavailable: failed passes in a row and when to try it again."""

    failures: int
    resume_at: float
    #: The wait set by the pass that found it unavailable, and when that pass ended.
    wait: float = 0.0
    since: float = 0.0

    def remaining(self, now: float) -> float:
        """Seconds until the target may be tried again."""
        return self.wait if now == self.since else max(0.0, self.resume_at - now)


def _bounded(target: str, wait: float, asked: float, max_backoff: float) -> float:
    """``wait``, but at most ``max_backoff``; a longer ``Retry-After`` is logged as capped."""
    if wait <= max_backoff:
        return wait
    if asked > max_backoff:
        log.warning(
            "%s asked to wait %.0f s (Retry-After); waiting the maximum back-off of %.0f s",
            target,
            asked,
            max_backoff,
        )
    return max_backoff


def backoff_after(
    results: list[RuleResult],
    backoff: Mapping[str, Backoff],
    now: float,
    interval: float,
    max_backoff: float,
) -> dict[str, Backoff]:
    """Each unavailable target's back-off after a pass with ``results``."""
    updated = dict(backoff)
    for target in dict.fromkeys(r.target for r in results):
        errors = [r.error for r in results if r.target == target]
        if any(isinstance(e, TargetResting) for e in errors):
            continue  # skipped this pass: its wait goes on
        down = [e for e in errors if isinstance(e, RetryLater)]
        if not down:
            updated.pop(target, None)
            continue
        failures = updated[target].failures + 1 if target in updated else 1
        asked = max((e.retry_after or 0.0 for e in down), default=0.0)
        asked = asked if asked == asked else 0.0  # NaN
        wait = max(next_wait(interval, failures, max_backoff), asked)
        wait = _bounded(target, wait, asked, max_backoff)
        updated[target] = Backoff(failures, now + wait, wait, now)
        event(log, logging.WARNING, "target resting", target=target, failures=failures, wait=wait)
    return updated


#: A target whose wait ends this close to the next pass is tried in that pass.
_SLACK = 0.05


def watch(
    run_pass: Callable[[Mapping[str, ConnectorError]], list[RuleResult]],
    interval: float,
    stopper: Stopper,
    *,
    max_backoff: float = 3600.0,
    report: Callable[[list[RuleResult], float], None] | None = None,
    max_passes: int | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Run passes until stopped; returns the number of passes made.

    ``run_pass`` gets the targets to leave alone this pass (each with the error its rules
    report). The wait before the next pass is ``interval`` while any target is well; when all
    are resting, until the first of them may be tried again.
    """
    backoff: dict[str, Backoff] = {}
    passes = 0
    while not stopper.stopped and (max_passes is None or passes < max_passes):
        now = clock()
        resting: dict[str, ConnectorError] = {
            target: TargetResting(
                _(
                    "{target} was unavailable in {failures} pass(es) in a row; "
                    "next try in {seconds:.0f} s"
                ).format(target=target, failures=b.failures, seconds=b.resume_at - now),
                b.resume_at - now,
            )
            for target, b in backoff.items()
            if b.resume_at - now > _SLACK
        }
        results = run_pass(resting)
        passes += 1
        now = clock()
        backoff = backoff_after(results, backoff, now, interval, max_backoff)
        targets = {r.target for r in results}
        if backoff and not targets - backoff.keys():
            wait = min(b.remaining(now) for b in backoff.values())
        else:
            wait = float(interval)
        if report is not None:
            report(results, wait)
        if max_passes is None or passes < max_passes:
            stopper.event.wait(wait)
    return passes


def watch_run(
    run: Run,
    interval: float,
    *,
    max_backoff: float,
    report: Callable[[list[RuleResult], float], None],
) -> int:
    """``connector sync --watch``: passes of ``run`` until SIGTERM/SIGINT; how many were made.

    A signal lets the current item finish: every engine asks the stopper between items.
    """
    with Stopper() as stopper:
        for engine in run.engines:
            engine.stop_requested = lambda: stopper.stopped
        return watch(
            lambda resting: run.sync(None, resting),
            interval,
            stopper,
            max_backoff=max_backoff,
            report=report,
        )
