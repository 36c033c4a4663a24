"""Real Radicale, real Mailman and the Deck double, started once for the fault tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from connector.http import HttpClient
from connector.testing.calendar_servers import radicale_server
from connector.testing.deck_server import DeckServer
from connector.testing.mailman_server import mailman_server
from tests.faults.world import Servers


@pytest.fixture(scope="package")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    tmp = tmp_path_factory.mktemp("fault-servers")
    with (
        DeckServer({"admin": "pw"}) as deck,
        radicale_server(tmp / "radicale") as radicale,
        mailman_server(tmp / "mailman") as mailman,
    ):
        yield Servers(deck, radicale, mailman)


@pytest.fixture
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The HTTP client's retries wait milliseconds instead of seconds (the test stays short;
    what is retried, and how often, stays the same)."""
    original = HttpClient._wait
    monkeypatch.setattr(HttpClient, "_wait", lambda self, *why: original(self, *why) / 50)


@pytest.fixture
def deck_time(servers: Servers, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """When the Deck adapter waits for the double's next second, the double's clock jumps
    there instead (the same listing and ETags, without the second of real waiting)."""
    from connector.deck import DeckTarget

    offset = [0.0]
    original_clock = servers.deck.clock
    servers.deck.clock = lambda: time.time() + offset[0]

    def advance(seconds: float) -> None:
        offset[0] += seconds

    original = DeckTarget.__init__

    def init(self: DeckTarget, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._sleep = advance

    monkeypatch.setattr(DeckTarget, "__init__", init)
    yield
    servers.deck.clock = original_clock
