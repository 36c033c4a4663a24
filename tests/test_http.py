"""The HTTP helper: retries only where safe, Retry-After honoured, nothing personal logged."""

from __future__ import annotations

import logging

import pytest
import responses

from connector.errors import CredentialsError, RetryLater
from connector.http import HttpClient

BASE = "https://cloud.example.org"
pytestmark = pytest.mark.usefixtures("requests_wire")


def client(sleeps: list[float]) -> HttpClient:
    return HttpClient(BASE, ("admin", "secret"), attempts=4, max_wait=30, sleep=sleeps.append)


@responses.activate
def test_idempotent_requests_are_retried_after_the_time_the_server_asked() -> None:
    responses.get(f"{BASE}/x", status=429, headers={"Retry-After": "2"})
    responses.get(f"{BASE}/x", status=503)
    responses.get(f"{BASE}/x", json={"ok": True})
    sleeps: list[float] = []
    assert client(sleeps).request("GET", "/x").json() == {"ok": True}
    assert sleeps == [2.0, 1.0]


@responses.activate
def test_a_post_is_never_retried() -> None:
    responses.post(f"{BASE}/x", status=503)
    sleeps: list[float] = []
    with pytest.raises(RetryLater):
        client(sleeps).request("POST", "/x")
    assert len(responses.calls) == 1 and sleeps == []


@responses.activate
def test_a_long_retry_after_gives_up_at_once_and_says_when_to_come_back() -> None:
    responses.get(f"{BASE}/x", status=503, headers={"Retry-After": "120"})
    sleeps: list[float] = []
    with pytest.raises(RetryLater) as caught:
        client(sleeps).request("GET", "/x")
    assert caught.value.retry_after == 120.0
    assert len(responses.calls) == 1 and sleeps == []


@responses.activate
def test_a_plain_500_is_handed_to_the_adapter_and_401_names_the_user() -> None:
    responses.put(f"{BASE}/card", status=500, json={"message": "bad date"})
    responses.get(f"{BASE}/me", status=401)
    sleeps: list[float] = []
    http = client(sleeps)
    assert http.request("PUT", "/card").status_code == 500
    with pytest.raises(CredentialsError, match="user admin"):
        http.request("GET", "/me")


@responses.activate
def test_logs_carry_no_addresses_secrets_or_queries(caplog: pytest.LogCaptureFixture) -> None:
    responses.get(f"{BASE}/lists/anna.beispiel@greven.example/members", json={})
    caplog.set_level(logging.DEBUG, logger="connector.http")
    client([]).request("GET", "/lists/anna.beispiel@greven.example/members?token=abc")
    text = caplog.text
    assert "anna.beispiel" not in text and "token" not in text and "secret" not in text
    assert "/lists/<address>/members" in text
