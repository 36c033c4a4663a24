"""Tests of the Nextcloud Deck double (connector.testing.deck_server).

The main test replays every recorded exchange in ``tests/fixtures/nextcloud29-deck1.13/``, in
order, against one fresh double and compares status, headers and the JSON shape and values of
each answer. The focused tests below pin the quirks a sync engine relies on.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from connector.testing import deck_model
from connector.testing.deck_server import DeckServer

FIXTURES = Path(__file__).parent / "fixtures" / "nextcloud29-deck1.13"
API = "/index.php/apps/deck/api/v1.0"
OCS = "/ocs/v2.php/apps/deck/api/v1.0"
PASSWORDS = {
    "admin": "admin-app-password",
    "bob": "bob-app-password",
    "carol": "carol-login-password",
}
DISPLAY_NAMES = {"bob": "Bob", "carol": "Carol"}
GROUPS = {"beirat": ["bob", "carol"]}
#: The one step recorded with a wrong password (the fixtures never record credentials).
WRONG_PASSWORD_STEPS = {"36-list-boards-wrong-password.json"}
#: Keys whose values depend on the clock: compared by type and format, never by value.
VOLATILE = {"lastModified", "createdAt", "deletedAt", "ETag", "creationDateTime", "requestId"}
MD5_ZERO = hashlib.md5(b"0").hexdigest()
MD5_EMPTY = hashlib.md5(b"").hexdigest()
HEX32 = re.compile(r"^[0-9a-f]{32}$")
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")
T0 = 1_800_000_000


# --- the comparison helper ---


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "list" if isinstance(value, list) else "object" if isinstance(value, dict) else "?"


def _volatile(key: str, expected: Any, actual: Any, path: str) -> list[str]:
    if key in ("lastModified", "createdAt") and (expected == 0) != (actual == 0):
        return [f"{path}: expected {'0' if expected == 0 else 'a timestamp'}, got {actual!r}"]
    if key == "deletedAt" and bool(expected) != bool(actual):
        return [f"{path}: expected deletedAt {'set' if expected else '0'}, got {actual!r}"]
    if key == "ETag" and isinstance(actual, str):
        if expected in (MD5_ZERO, MD5_EMPTY) and actual != expected:
            return [f"{path}: expected the constant ETag {expected}, got {actual}"]
        if expected not in (MD5_ZERO, MD5_EMPTY) and (
            not HEX32.match(actual) or actual in (MD5_ZERO, MD5_EMPTY)
        ):
            return [f"{path}: expected a timestamp ETag, got {actual!r}"]
    if key == "creationDateTime" and not ISO_UTC.match(str(actual)):
        return [f"{path}: {actual!r} is not ISO 8601 with +00:00"]
    if key == "requestId" and not re.fullmatch(r"[A-Za-z0-9]{20}", str(actual)):
        return [f"{path}: {actual!r} is not a request id"]
    return []


def compare(expected: Any, actual: Any, path: str = "$", key: str = "") -> list[str]:
    """Differences between a recorded JSON value and the double's, each naming its JSON path.

    Types must match at every level (so ``null`` vs list and string vs object differ), objects
    must have the same keys, lists the same length (compared element by element), and scalars
    the same value, except clock-dependent keys (:data:`VOLATILE`), whose type and format are
    checked instead. An entity's ``ETag`` must be the md5 of its own ``lastModified``.
    """
    if _kind(expected) != _kind(actual):
        return [
            f"{path}: expected {_kind(expected)} {expected!r:.60}, got {_kind(actual)} "
            f"{actual!r:.60}"
        ]
    if isinstance(expected, dict):
        problems = []
        missing, extra = expected.keys() - actual.keys(), actual.keys() - expected.keys()
        if missing or extra:
            problems.append(
                f"{path}: keys differ: missing {sorted(missing)}, unexpected {sorted(extra)}"
            )
        for name in expected.keys() & actual.keys():
            problems += compare(expected[name], actual[name], f"{path}.{name}", name)
        if {"requestId", "message"} <= expected.keys() & actual.keys():
            wanted = str(expected["message"]).replace(expected["requestId"], actual["requestId"])
            if wanted != actual["message"]:
                problems.append(f"{path}.message: expected {wanted!r}, got {actual['message']!r}")
        if isinstance(actual.get("ETag"), str) and "lastModified" in actual:
            modified = actual["lastModified"]
            own = hashlib.md5(("" if modified is None else str(modified)).encode()).hexdigest()
            if actual["ETag"] != own:
                problems.append(f"{path}.ETag: not the md5 of lastModified {modified!r}")
        return problems
    if isinstance(expected, list):
        if len(expected) != len(actual):
            return [f"{path}: expected {len(expected)} elements, got {len(actual)}"]
        problems = []
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            problems += compare(want, got, f"{path}[{index}]", key)
        return problems
    if key in VOLATILE:
        return _volatile(key, expected, actual, path)
    if key == "message" and expected != actual and "request ID" in str(expected):
        return []  # checked against requestId by the enclosing object
    return [] if expected == actual else [f"{path}: expected {expected!r}, got {actual!r}"]


# --- the replay ---


def _timestamps(value: Any, key: str = "") -> Iterator[int]:
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _timestamps(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from _timestamps(item, key)
    elif key in ("lastModified", "createdAt", "deletedAt") and isinstance(value, int):
        if value > 1_000_000_000:
            yield value
    elif key == "creationDateTime" and isinstance(value, str):
        yield int(datetime.fromisoformat(value).timestamp())


def _etag_pairs(expected: Any, actual: Any) -> Iterator[tuple[str, str]]:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for name in expected.keys() & actual.keys():
            if name == "ETag" and isinstance(expected[name], str):
                yield expected[name], str(actual[name])
            else:
                yield from _etag_pairs(expected[name], actual[name])
    elif isinstance(expected, list) and isinstance(actual, list):
        for want, got in zip(expected, actual, strict=False):
            yield from _etag_pairs(want, got)


class Replay:
    """Plays recorded steps against one double, mapping recorded ETags to the double's.

    The double's clock follows the recording: each step runs at the latest timestamp its
    recorded answer shows (or the previous step's), so overdue states and same-second ETags
    come out as recorded. Timestamps are still compared by format only.
    """

    def __init__(self, server: DeckServer) -> None:
        self.server = server
        self.now = 0
        self.etags: dict[str, str] = {}
        server.clock = lambda: self.now

    def header(self, value: str) -> str:
        recorded = value.strip().strip('"')
        if recorded not in self.etags:
            raise LookupError(f"recorded ETag {recorded} was never answered before")
        return f'"{self.etags[recorded]}"'

    def step(self, path: Path) -> list[str]:
        fixture = json.loads(path.read_text(encoding="utf-8"))
        request, recorded = fixture["request"], fixture["response"]
        self.now = max([self.now, *_timestamps(recorded["body"])])
        user = request.get("user", "admin")
        password = "wrong" if path.name in WRONG_PASSWORD_STEPS else PASSWORDS[user]
        headers = dict(request["headers"])
        try:
            for name in ("If-None-Match", "If-Match"):
                if name in headers:
                    headers[name] = self.header(headers[name])
        except LookupError as missing:
            return [f"{path.name}: {missing}"]
        body = request["body"]
        data = None if body is None else json.dumps(body).encode()
        answer = requests.request(
            request["method"],
            self.server.url + request["path"],
            headers=headers,
            data=data,
            auth=(user, password),
            timeout=10,
        )
        problems = self.check(recorded, answer, request["method"])
        sent = headers.get("If-None-Match")
        if answer.status_code == 304 and answer.headers.get("ETag") != sent:
            problems.append(f"304 ETag {answer.headers.get('ETag')} is not the one sent, {sent}")
        return [f"{path.name}: {problem}" for problem in problems]

    def check(self, recorded: dict[str, Any], answer: requests.Response, method: str) -> list[str]:
        problems = []
        if answer.status_code != recorded["status"]:
            problems.append(f"status: expected {recorded['status']}, got {answer.status_code}")
        want_headers = recorded["headers"]
        for name in ("ETag", "Last-Modified"):
            if (name in want_headers) != (name in answer.headers):
                problems.append(
                    f"header {name}: expected {'present' if name in want_headers else 'absent'}"
                )
        want_type = want_headers.get("Content-Type")
        if want_type != answer.headers.get("Content-Type"):
            problems.append(
                f"Content-Type: expected {want_type!r}, got {answer.headers.get('Content-Type')!r}"
            )
        if recorded["body"] == "" or not (want_type or "").startswith("application/json"):
            if answer.text != recorded["body"]:
                problems.append(f"body: expected {recorded['body']!r}, got {answer.text[:80]!r}")
            actual: Any = answer.text
        else:
            try:
                actual = answer.json()
            except ValueError:
                return [*problems, f"body is not JSON: {answer.text[:80]!r}"]
            problems += compare(recorded["body"], actual)
            self.etags.update(_etag_pairs(recorded["body"], actual))
        if "ETag" in want_headers and "ETag" in answer.headers:
            header = answer.headers["ETag"]
            self.etags[want_headers["ETag"].strip('"')] = header.strip('"')
            if not re.fullmatch(r'"[0-9a-f]{32}"', header):
                problems.append(f"header ETag: {header!r} is not a quoted md5")
            is_entity = isinstance(actual, dict) and "ETag" in actual
            if method == "GET" and is_entity and header != f'"{actual["ETag"]}"':
                problems.append(f"header ETag {header} differs from body ETag {actual['ETag']}")
        return problems


def replay_all(files: list[Path] | None = None) -> list[str]:
    files = files if files is not None else sorted(FIXTURES.glob("*.json"))
    with DeckServer(PASSWORDS, GROUPS, "1.13", display_names=DISPLAY_NAMES) as server:
        replay = Replay(server)
        problems = []
        for path in files:
            problems += replay.step(path)
        return problems


def test_replay_of_every_recorded_exchange_matches() -> None:
    files = sorted(FIXTURES.glob("*.json"))
    assert len(files) == 57, "fixture folder incomplete"
    assert {p.name for p in files if json.loads(p.read_text())["response"]["status"] == 401} == (
        WRONG_PASSWORD_STEPS
    )
    problems = replay_all(files)
    assert not problems, "double differs from the recording:\n" + "\n".join(problems)


# --- the comparison can fail ---


def test_compare_reports_missing_keys_and_type_changes_with_their_path() -> None:
    recorded = {"id": 4, "labels": None, "owner": "admin", "stacks": [{"id": 1}]}
    wrong = {"id": 4, "labels": [], "owner": {"uid": "admin"}, "stacks": [{"id": 1, "x": 0}]}
    problems = compare(recorded, wrong)
    assert any(p.startswith("$.labels: expected null") for p in problems)
    assert any(p.startswith("$.owner: expected string") for p in problems)
    assert any(p.startswith("$.stacks[0]: keys differ") and "'x'" in p for p in problems)
    assert compare({"a": [1, 2]}, {"a": [1]}) == ["$.a: expected 2 elements, got 1"]
    assert compare([{"id": 5}], [{"id": 6}]) == ["$[0].id: expected 5, got 6"]
    assert compare({"deletedAt": 0}, {"deletedAt": 17}) != []
    assert compare({"lastModified": 0, "ETag": MD5_ZERO}, {"lastModified": 5, "ETag": "x"})


def test_compare_detects_a_cards_key_on_an_empty_stack() -> None:
    recorded = json.loads((FIXTURES / "12-list-stacks.json").read_text())["response"]["body"]
    assert compare(recorded, copy.deepcopy(recorded)) == []
    tampered = copy.deepcopy(recorded)
    tampered[1]["cards"] = []
    assert compare(recorded, tampered) == ["$[1]: keys differ: missing [], unexpected ['cards']"]


def test_replay_detects_a_double_that_gets_a_shape_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    original = deck_model.DeckModel.card_json

    def owner_always_a_string(self: Any, card: Any, user: str, mode: str) -> Any:
        body = original(self, card, user, mode)
        body["owner"] = card.owner
        return body

    monkeypatch.setattr(deck_model.DeckModel, "card_json", owner_always_a_string)
    files = sorted(FIXTURES.glob("*.json"))[:13]
    problems = replay_all(files)
    assert "13-get-card.json: $.owner: expected object" in "\n".join(problems)


# --- focused quirks ---


class Api:
    """A tiny client for the focused tests."""

    def __init__(self, server: DeckServer, user: str = "admin") -> None:
        self.server, self.user = server, user

    def __call__(
        self, method: str, path: str, body: Any = None, user: str | None = None, **headers: str
    ) -> requests.Response:
        login = user or self.user
        sent = {"OCS-APIRequest": "true", **{k.replace("_", "-"): v for k, v in headers.items()}}
        return requests.request(
            method,
            self.server.url + (path if path.startswith("/ocs/") else API + path),
            json=body,
            headers=sent,
            auth=(login, PASSWORDS[login]),
            timeout=10,
        )


class Clock:
    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(clock: Clock) -> Iterator[DeckServer]:
    with DeckServer(PASSWORDS, GROUPS, display_names=DISPLAY_NAMES, clock=clock) as srv:
        yield srv


@pytest.fixture
def api(server: DeckServer) -> Api:
    return Api(server)


def _board_with_card(api: Api) -> tuple[int, int, int]:
    board = api("POST", "/boards", {"title": "Kohorte", "color": "0082c9"}).json()["id"]
    stack = api("POST", f"/boards/{board}/stacks", {"title": "Neu", "order": 0}).json()["id"]
    card = api("POST", f"/boards/{board}/stacks/{stack}/cards", {"title": "Anna"}).json()["id"]
    return board, stack, card


def _put_card(api: Api, board: int, stack: int, card: int, **fields: Any) -> requests.Response:
    body = {"title": "Anna", "type": "plain", "owner": "admin", "order": 0, **fields}
    return api("PUT", f"/boards/{board}/stacks/{stack}/cards/{card}", body)


def test_two_edits_in_the_same_second_share_an_etag(api: Api, clock: Clock) -> None:
    board, stack, card = _board_with_card(api)
    url = f"/boards/{board}/stacks/{stack}/cards/{card}"
    clock.now += 5
    first = _put_card(api, board, stack, card, description="Notiz 1").json()["ETag"]
    second = _put_card(api, board, stack, card, description="Notiz 2").json()
    assert second["ETag"] == first
    stale = api("GET", url, If_None_Match=f'"{first}"')
    assert (stale.status_code, stale.text, stale.headers["ETag"]) == (304, "", f'"{first}"')
    clock.now += 1
    assert _put_card(api, board, stack, card, description="Notiz 3").json()["ETag"] != first
    fresh = api("GET", url, If_None_Match=f'"{first}"')
    assert fresh.status_code == 200
    assert fresh.json()["description"] == "Notiz 3"


def test_if_none_match_gives_304_on_board_list_board_and_card_but_never_on_stacks(
    api: Api, clock: Clock
) -> None:
    board, stack, card = _board_with_card(api)
    for path in ("/boards", f"/boards/{board}", f"/boards/{board}/stacks/{stack}/cards/{card}"):
        first = api("GET", path)
        assert first.status_code == 200 and first.headers["ETag"].startswith('"')
        again = api("GET", path, If_None_Match=first.headers["ETag"])
        assert (again.status_code, again.content) == (304, b"")
        assert again.headers["Content-Type"] == "application/json; charset=utf-8"
    listing = api("GET", "/boards")
    board_body = api("GET", f"/boards/{board}").json()
    assert listing.headers["ETag"].strip('"') != board_body["ETag"]
    stacks = api("GET", f"/boards/{board}/stacks", If_None_Match=listing.headers["ETag"])
    assert stacks.status_code == 200 and "ETag" not in stacks.headers
    clock.now += 3
    _put_card(api, board, stack, card, description="neu")
    changed = api("GET", "/boards", If_None_Match=listing.headers["ETag"])
    assert changed.status_code == 200 and changed.headers["ETag"] != listing.headers["ETag"]


def test_if_modified_since_is_a_500_in_deck_1_13(api: Api) -> None:
    board, _, _ = _board_with_card(api)
    since = format_datetime(datetime.fromtimestamp(T0 - 60, UTC), usegmt=True)
    for path in ("/boards", f"/boards/{board}/stacks"):
        answer = api("GET", path, If_Modified_Since=since)
        body = answer.json()
        assert answer.status_code == 500 and set(body) == {"status", "message", "requestId"}
        assert body["status"] == 500 and f'"{body["requestId"]}"' in body["message"]
    assert api("GET", f"/boards/{board}", If_Modified_Since=since).status_code == 200


def test_if_modified_since_filters_boards_and_cards_in_deck_1_17(clock: Clock) -> None:
    with DeckServer(PASSWORDS, GROUPS, "1.17", clock=clock) as server:
        api = Api(server)
        board, stack, kept = _board_with_card(api)
        other = api("POST", "/boards", {"title": "Ruhig", "color": "ff0000"}).json()["id"]
        gone = api("POST", f"/boards/{board}/stacks/{stack}/cards", {"title": "Bernd"}).json()
        untouched = api("POST", f"/boards/{board}/stacks", {"title": "Leer", "order": 1}).json()
        clock.now += 100
        since = format_datetime(datetime.fromtimestamp(clock.now - 50, UTC), usegmt=True)
        _put_card(api, board, stack, kept, description="geändert")
        api("DELETE", f"/boards/{board}/stacks/{stack}/cards/{gone['id']}")
        boards = api("GET", "/boards", If_Modified_Since=since).json()
        assert [b["id"] for b in boards] == [board]
        assert other in [b["id"] for b in api("GET", "/boards").json()]
        stacks = api("GET", f"/boards/{board}/stacks", If_Modified_Since=since).json()
        assert [[c["id"] for c in s.get("cards", [])] for s in stacks] == [[kept], []]
        assert "cards" not in stacks[1] and stacks[1]["id"] == untouched["id"]
        later = format_datetime(datetime.fromtimestamp(clock.now + 10, UTC), usegmt=True)
        assert api("GET", "/boards", If_Modified_Since=later).json() == []


def test_a_deleted_card_answers_403_and_leaves_the_listing(api: Api, clock: Clock) -> None:
    board, stack, card = _board_with_card(api)
    url = f"/boards/{board}/stacks/{stack}/cards/{card}"
    clock.now += 2
    deleted = api("DELETE", url).json()
    assert deleted["deletedAt"] == clock.now and deleted["owner"]["uid"] == "admin"
    answer = api("GET", url)
    assert (answer.status_code, answer.json()) == (
        403,
        {"status": 403, "message": "Card is deleted"},
    )
    assert _put_card(api, board, stack, card).status_code == 403
    assert api("GET", f"/boards/{board}/stacks").json()[0].get("cards") is None
    assert api("GET", "/boards/999999").json() == {"status": 403, "message": "Permission denied"}


def test_fail_next_injects_errors_with_retry_after_and_changes_nothing(
    api: Api, server: DeckServer
) -> None:
    board, stack, card = _board_with_card(api)
    server.reset_requests()
    server.fail_next("GET", r"/boards$", 503, headers={"Retry-After": "2"}, times=2)
    for _ in range(2):
        answer = api("GET", "/boards")
        assert (answer.status_code, answer.headers["Retry-After"]) == (503, "2")
        assert answer.json() == {"status": 503, "message": "Service Unavailable"}
    assert api("GET", "/boards").status_code == 200
    server.fail_next(
        "PUT", r"/cards/\d+$", 429, body={"message": "slow"}, headers={"Retry-After": "1"}
    )
    assert _put_card(api, board, stack, card, title="Geändert").status_code == 429
    assert api("GET", f"/boards/{board}/stacks/{stack}/cards/{card}").json()["title"] == "Anna"
    server.fail_next("*", "stacks", 500, body="kaputt")
    broken = api("GET", f"/boards/{board}/stacks")
    assert (broken.status_code, broken.text) == (500, "kaputt")
    assert server.requests[:3] == [("GET", f"{API}/boards")] * 3
    assert len(server.requests) == 6
    server.reset_requests()
    assert server.requests == []


def test_wrong_or_missing_credentials_give_401(server: DeckServer) -> None:
    url = server.url + API + "/boards"
    headers = {"OCS-APIRequest": "true"}
    for auth in (("admin", "wrong"), ("nobody", "x")):
        answer = requests.get(url, headers=headers, auth=auth, timeout=10)
        assert (answer.status_code, answer.json()) == (401, {"message": ""})
        assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
    anonymous = requests.get(url, headers=headers, timeout=10)
    assert (anonymous.status_code, anonymous.json()) == (
        401,
        {"message": "CORS requires basic auth"},
    )
    assert server.state.boards == {}, "a refused request must not create the Personal board"


def test_first_request_creates_the_personal_board_and_new_boards_get_labels(api: Api) -> None:
    boards = api("GET", "/boards?details=true").json()
    assert [(b["id"], b["title"], len(b["stacks"])) for b in boards] == [(1, "Personal", 3)]
    created = api("POST", "/boards", {"title": "Neu", "color": "0082c9"}).json()
    assert [label["id"] for label in created["labels"]] == [5, 6, 7, 8]
    assert created["lastModified"] == 0 and "shared" not in created
    stack = api("POST", f"/boards/{created['id']}/stacks", {"title": "A", "order": 0}).json()
    assert stack["id"] == 4


def test_card_validation_and_malformed_duedate(api: Api) -> None:
    board, stack, card = _board_with_card(api)
    cards = f"/boards/{board}/stacks/{stack}/cards"
    assert api("POST", cards, {"title": "x" * 255}).status_code == 200
    long = api("POST", cards, {"title": "x" * 256}).json()
    assert long == {"status": 400, "message": "title cannot be longer than 255 characters "}
    missing = api("POST", cards, {"description": "x"}).json()
    assert missing["message"] == "title must be provided and must be not empty"
    bad_date = api("POST", cards, {"title": "y", "duedate": "next tuesday-ish"})
    assert bad_date.status_code == 500 and "requestId" in bad_date.json()
    no_owner = api("PUT", f"{cards}/{card}", {"title": "Anna", "type": "plain"}).json()
    assert no_owner["message"] == "owner must be provided and must be not empty"
    reset = _put_card(api, board, stack, card, duedate="2030-01-02T03:04:05Z").json()
    assert (reset["description"], reset["duedate"]) == ("", "2030-01-02T03:04:05+00:00")
    assert _put_card(api, board, stack, card).json()["duedate"] is None


def test_reorder_renumbers_the_target_stack_skipping_the_requested_slot(api: Api) -> None:
    """Deck never recognises the moved card: the target stack is renumbered from 0 in
    (order, id) sequence, skipping the requested slot (18: order 0 is stored as 1)."""
    board, first, _ = _board_with_card(api)
    moved = api("POST", f"/boards/{board}/stacks/{first}/cards", {"title": "m", "order": 5})
    moved_id = moved.json()["id"]
    target = api("POST", f"/boards/{board}/stacks", {"title": "Z", "order": 1}).json()["id"]
    cards = f"/boards/{board}/stacks/{target}/cards"
    a = api("POST", cards, {"title": "a", "order": 0}).json()["id"]
    b = api("POST", cards, {"title": "b", "order": 1}).json()["id"]
    url = f"/boards/{board}/stacks/{first}/cards/{moved_id}/reorder"
    answer = api("PUT", url, {"order": 1, "stackId": target}).json()
    assert [(c["id"], c["order"], c["stackId"]) for c in answer] == [
        (a, 0, target),
        (b, 2, target),
        (moved_id, 3, target),
    ]
    assert all(isinstance(c["owner"], str) and c["labels"] is None for c in answer)
    listed = api("GET", f"/boards/{board}/stacks").json()
    assert [c["id"] for c in listed[1]["cards"]] == [a, b, moved_id]


def test_archiving_uses_put_and_the_archive_routes_are_405(api: Api) -> None:
    board, stack, card = _board_with_card(api)
    url = f"/boards/{board}/stacks/{stack}/cards/{card}"
    route = api("PUT", url + "/archive", {})
    assert (route.status_code, route.text, route.headers["Content-Type"]) == (
        405,
        "",
        "text/html; charset=UTF-8",
    )
    assert _put_card(api, board, stack, card, archived=True).json()["archived"] is True
    assert "cards" not in api("GET", f"/boards/{board}/stacks").json()[0]
    archived = api("GET", f"/boards/{board}/stacks/archived").json()
    assert [c["id"] for c in archived[0]["cards"]] == [card]
    again = _put_card(api, board, stack, card, archived=True)
    assert again.json() == {
        "status": 500,
        "message": "Operation not allowed. This card is archived.",
    }


def test_sharing_with_a_group_grants_its_members_and_nobody_else(api: Api) -> None:
    board, _, _ = _board_with_card(api)
    assert api("GET", f"/boards/{board}", user="carol").status_code == 403
    share = {
        "type": 1,
        "participant": "beirat",
        "permissionEdit": True,
        "permissionShare": False,
        "permissionManage": False,
    }
    assert api("POST", f"/boards/{board}/acl", share).json()["participant"]["type"] == 1
    seen = api("GET", f"/boards/{board}", user="carol").json()
    assert [u["uid"] for u in seen["users"]] == ["admin", "bob", "carol"]
    assert seen["permissions"] == {
        "PERMISSION_READ": True,
        "PERMISSION_EDIT": True,
        "PERMISSION_MANAGE": False,
        "PERMISSION_SHARE": False,
    }
    listed = api("GET", "/boards", user="bob").json()
    assert [(b["title"], b["shared"]) for b in listed] == [("Personal", 0), ("Kohorte", 1)]
    refused = api("PUT", f"/boards/{board}", {"title": "x", "color": "000000"}, user="bob")
    assert refused.status_code == 403


def test_comments_count_but_bump_nothing(api: Api, clock: Clock) -> None:
    board, stack, card = _board_with_card(api)
    url = f"/boards/{board}/stacks/{stack}/cards/{card}"
    before = api("GET", url).json()
    clock.now += 10
    comments = f"{OCS}/cards/{card}/comments"
    made = api("POST", comments, {"message": "Hallo @bob"}, Accept="application/json").json()
    assert made["ocs"]["meta"] == {"status": "ok", "statuscode": 200, "message": "OK"}
    assert made["ocs"]["data"]["mentions"][0]["mentionId"] == "bob"
    after = api("GET", url).json()
    assert (after["commentsCount"], after["lastModified"]) == (1, before["lastModified"])
    assert api("GET", f"/boards/{board}", user="admin").json()["lastModified"] == T0
    xml = api("GET", comments)
    assert xml.headers["Content-Type"].startswith("application/xml")
    assert "<message>Hallo @bob</message>" in xml.text


def test_command_line_serves_until_sigterm() -> None:
    command = [sys.executable, "-m", "connector.testing.deck_server", "--port", "0"]
    command += ["--user", "admin:secret", "--user", "bob:pw:Bob", "--group", "beirat:bob"]
    root = Path(__file__).parent.parent
    with subprocess.Popen(
        [*command, "--version", "1.17"], stdout=subprocess.PIPE, text=True, cwd=root
    ) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
            answer = requests.get(
                url + API + "/boards",
                auth=("bob", "pw"),
                headers={"OCS-APIRequest": "true"},
                timeout=10,
            )
            assert [b["owner"]["displayname"] for b in answer.json()] == ["Bob"]
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
