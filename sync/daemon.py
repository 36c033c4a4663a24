"""``connector sync --watch``: passes in a loop, one process per store.

A lock file next to the store keeps a second daemon (or a manual ``sync``) out. SIGTERM and
SIGINT let the current item finish, then the loop ends cleanly. While a target is down the
wait between passes doubles (up to ``max_backoff``) and drops back after a clean pass.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from connector.errors import LockHeld, RetryLater, StoreError
from sync.engine import RuleResult
from sync.i18n import _

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
            holder = handle.read().strip() or "another process"
            raise LockHeld(f"{store_path} is being synced by {holder}") from None
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
        self._previous: dict[int, object] = {}

    def __enter__(self) -> Stopper:
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._previous[sig] = signal.signal(sig, self._stop)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        log.info("signal %s: finishing the current item, then stopping", signum)
        self.event.set()

    @property
    def stopped(self) -> bool:
        """Whether a stop was asked for."""
        return self.event.is_set()


def next_wait(interval: float, failures: int, max_backoff: float) -> float:
    """Seconds to wait before the next pass after ``failures`` failed passes in a row."""
    if failures == 0:
        return interval
    # The exponent is capped: after weeks of outage 2**failures would overflow a float.
    return float(min(max_backoff, interval * 2 ** min(failures, 32)))


def watch(
    run_pass: Callable[[], list[RuleResult]],
    interval: float,
    stopper: Stopper,
    *,
    max_backoff: float = 3600.0,
    report: Callable[[list[RuleResult], float], None] | None = None,
    max_passes: int | None = None,
) -> int:
    """Run passes until stopped; returns the number of passes made."""
    failures = 0
    passes = 0
    while not stopper.stopped and (max_passes is None or passes < max_passes):
        results = run_pass()
        passes += 1
        down = [r.error for r in results if isinstance(r.error, RetryLater)]
        failures = failures + 1 if down else 0
        asked = max((e.retry_after or 0.0 for e in down), default=0.0)
        wait = max(next_wait(interval, failures, max_backoff), asked)
        if report is not None:
            report(results, wait)
        if max_passes is None or passes < max_passes:
            stopper.event.wait(wait)
    return passes
