"""50 passes at 20 % faults with edits on both sides, then clean passes: converged, nothing
lost, no duplicate, and every item a pass left undone was reported by that pass.

Faults (seeded): 500s, connection resets before and after forwarding, slow answers, 429s,
injected by a proxy in front of real Radicale, real Mailman and the Deck double.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from connector.errors import ConnectorError
from sync.engine import RuleResult
from tests.faults.proxy import FaultProxy
from tests.faults.world import Servers, World, direct_urls

SEED = int(os.environ.get("FAULTS_SEED", "20261201"))
PASSES, RATE, CLEAN = 50, 0.2, 3


def unreported(results: list[RuleResult], leftovers: dict[str, set[str]]) -> dict[str, set[str]]:
    """Records a pass left undone that it did not report (a finished rule, no failure)."""
    missing: dict[str, set[str]] = {}
    for result in results:
        if result.error is not None:
            continue  # the rule did not finish and says so
        silent = leftovers.get(result.rule, set()) - set(result.failures)
        if silent:
            missing[result.rule] = silent
    return missing


def test_fifty_passes_at_twenty_percent_faults_then_clean_passes_converge(
    servers: Servers,
    tmp_path: Path,
    quick_backoff: None,
    deck_time: None,
    request: pytest.FixtureRequest,
) -> None:
    rng = random.Random(SEED)
    urls = direct_urls(servers)
    with (
        FaultProxy(urls["deck"], rate=RATE, seed=SEED) as deck,
        FaultProxy(urls["caldav"], rate=RATE, seed=SEED + 1) as caldav,
        FaultProxy(urls["mailman"], rate=RATE, seed=SEED + 2) as mailman,
    ):
        proxied = {"deck": deck.url.rstrip("/"), "caldav": caldav.url, "mailman": mailman.url}
        world = World(tmp_path, "f", servers, proxied)
        request.addfinalizer(world.close)
        failed_items = rule_errors = 0
        silent: list[tuple[int, dict[str, set[str]]]] = []
        for number in range(PASSES):
            if number:
                world.random_edits(rng)
            try:
                results = world.sync(faulty=True)
            except ConnectorError as exc:  # the pass must not break down as a whole
                raise AssertionError(f"pass {number}: {exc!r}") from exc
            failed_items += sum(len(r.failures) for r in results)
            rule_errors += sum(r.error is not None for r in results)
            missing = unreported(results, world.leftovers())
            if missing:
                silent.append((number, missing))
        injected = sum(p.injected.total() for p in (deck, caldav, mailman))
        for proxy in (deck, caldav, mailman):
            proxy.rate = 0.0
        for _ in range(CLEAN):
            results = world.sync(faulty=False)
            assert all(r.error is None and not r.failures for r in results), [
                r.summary() for r in results
            ]
        assert world.leftovers() == {"aufgaben": set(), "termine": set(), "liste": set()}
    assert not silent, f"passes that left records undone without reporting them: {silent}"
    world.assert_converged()
    # The faults did happen, and the passes reported them.
    assert injected > 50 and failed_items + rule_errors > 0, (injected, failed_items)
    print(f"faults injected: {injected}; items failed: {failed_items}; rules: {rule_errors}")
