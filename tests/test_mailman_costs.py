"""What a quiet Mailman pass asks a REAL Mailman 3 core (issue 14), and that it asks little.

Request counts are deterministic, so they are held here; times live in
``bench/cli_mailman_bench.py``. The requests are the ones the connector's HTTP client
records with ``CONNECTOR_TIMINGS`` (what the benchmark replays with curl).
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.test_mailman_sync import World
from tests.test_mailman_sync import admin as admin
from tests.test_mailman_sync import mailman as mailman
from tests.test_mailman_sync import world as world


def recorded(path: Path) -> list[tuple[str, str, dict[str, list[str]]]]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [
        (t["method"], urlsplit(t["url"]).path, parse_qs(urlsplit(t["url"]).query)) for t in lines
    ]


def test_a_quiet_pass_asks_the_roster_once_and_only_for_what_it_uses(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two GETs: one roster page with just the fields a member record is made of (every
    other field of Mailman's member resource costs it preference and user look-ups per
    member: four times the time for 1,000 members), and one delivery-status query (the
    bounce notes of every pass need it)."""
    assert world.sync().counts == {"create": 6}
    world.sync()
    timings = tmp_path / "timings.jsonl"
    monkeypatch.setenv("CONNECTOR_TIMINGS", str(timings))
    result = world.sync()
    assert result.counts == {} and result.error is None
    sent = sorted(recorded(timings), key=lambda r: "find" in r[1])
    assert result.requests == len(sent) == 2, sent
    (m1, roster, query), (m2, find, status) = sent
    assert (m1, m2) == ("GET", "GET")
    assert roster == f"/3.1/lists/{world.address.replace('@', '.')}/roster/member"
    assert sorted(query["fields"]) == ["display_name", "email", "member_id"]
    assert find == "/3.1/members/find" and status["delivery_status"] == ["enabled"]
    assert status["fields"] == ["member_id"]


def test_the_status_query_is_under_way_while_the_roster_is_read(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mailman answers the delivery-status query slower than the whole roster: the pass sends
    it first, on its own connection, and reads the roster meanwhile (issue 14: a quiet list
    pass took the sum of both)."""
    world.sync()
    timings = tmp_path / "timings.jsonl"
    monkeypatch.setenv("CONNECTOR_TIMINGS", str(timings))
    assert world.sync().counts == {}
    lines = [json.loads(line) for line in timings.read_text().splitlines()]
    (find,) = [t for t in lines if "/members/find" in t["url"]]
    (roster,) = [t for t in lines if "/roster/member" in t["url"]]
    assert find["started"] < roster["started"] + roster["seconds"], lines


def test_the_round_trip_record_names_no_secret(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``CONNECTOR_TIMINGS`` writes method, URL, status, seconds and start; never the
    password."""
    timings = tmp_path / "timings.jsonl"
    monkeypatch.setenv("CONNECTOR_TIMINGS", str(timings))
    world.sync()
    text = timings.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines and all(set(t) == {"method", "url", "status", "seconds", "started"} for t in lines)
    assert all(t["seconds"] > 0 for t in lines)
    assert world.target.api.http.auth is not None
    password = world.target.api.http.auth[1]
    assert password not in text
