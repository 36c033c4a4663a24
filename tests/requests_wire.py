"""A :class:`connector.http_wire.Wire` that sends through ``requests``, so that unit tests of
the client's error paths can script answers with ``responses`` (which replaces requests'
transport). Every other test sends over the real wire to real servers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest
import requests

from connector import http
from connector.http_wire import Headers, Response


class RequestsWire:
    """Same interface as :class:`connector.http_wire.Wire`, over a requests session."""

    def __init__(self, *, verify: bool = True, timeout: float = 30.0) -> None:
        self.verify, self.timeout = verify, timeout
        self.session = requests.Session()

    def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> Response:
        try:
            answer = self.session.request(
                method, url, headers=dict(headers), data=body, timeout=self.timeout,
                verify=self.verify,
            )  # fmt: skip
        except requests.Timeout as exc:
            raise TimeoutError(str(exc)) from exc
        except requests.ConnectionError as exc:
            raise ConnectionError(str(exc)) from exc
        return Response(
            answer.url, answer.status_code, answer.reason, Headers(list(answer.headers.items())),
            answer.content,
        )  # fmt: skip

    def close(self) -> None:
        self.session.close()


@pytest.fixture
def requests_wire(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Clients made during the test send through requests (and so through ``responses``)."""
    monkeypatch.setattr(http, "Wire", RequestsWire)
    yield
