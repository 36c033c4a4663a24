"""Real Radicale, real Mailman and the Deck double, started once for the fault tests."""

from __future__ import annotations

from collections.abc import Iterator

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
    monkeypatch.setattr(HttpClient, "_wait", lambda self, state: original(self, state) / 50)
