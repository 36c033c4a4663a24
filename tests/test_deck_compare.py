"""The double answers every request the adapter sends the way the real Nextcloud does.

The adapter works through a council's day against the double (boards opened twice, cards
created with labels, assignees, due dates and archiving, edited, moved, unarchived, deleted,
polled with ``If-Modified-Since`` and ``If-None-Match``, a wrong password) while every request
and answer is recorded. The same requests are then replayed on the real Nextcloud 29 + Deck
1.13, ids and ETags translated as they are learnt from the answers, and each answer's status
and body shape (keys and JSON types, list lengths) must match the double's.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any

import pytest
import requests

from connector.deck import DeckTarget
from connector.errors import CredentialsError
from connector.testing.deck_http import Response
from connector.testing.deck_server import DeckServer
from connector.testing.nextcloud_server import NextcloudInstance
from tests.test_deck import GROUPS, PASSWORDS, collection_for
from tests.test_deck_server import _kind as kind

ID_KEYS = {"boardId": "board", "stackId": "stack", "cardId": "card"}
PATH_IDS = re.compile(r"/(boards|stacks|cards|labels|acl)/(\d+)")
#: The adapter's account: no admin, like the fresh account it stands for on the real server.
WRITER = "connector"
PATH_KIND = {"boards": "board", "stacks": "stack", "cards": "card", "labels": "label", "acl": "acl"}


@dataclass
class Exchange:
    """One request the adapter sent to the double, and the double's answer."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    answer: Any
    etag: str | None
    at: float


class Recorder:
    """Wraps a double's request handling and keeps every exchange."""

    def __init__(self, server: DeckServer) -> None:
        self.exchanges: list[Exchange] = []
        original = server.handle

        def handle(method: str, raw_path: str, headers: Message, payload: bytes) -> Response:
            response = original(method, raw_path, headers, payload)
            try:
                answer = json.loads(response.body) if response.body else None
            except ValueError:
                answer = response.body.decode(errors="replace")
            kept = {k: v for k, v in headers.items() if k.lower() != "content-length"}
            etag = response.headers.get("ETag")
            self.exchanges.append(
                Exchange(
                    method, raw_path, kept, payload, response.status, answer, etag, time.time()
                )
            )
            return response

        server.handle = handle  # type: ignore[method-assign]


def council_day(url: str, user: str, password: str) -> None:
    """Every kind of request the adapter makes, through its public interface."""
    adapter = DeckTarget(url, user, password)
    board = collection_for()
    adapter.open(board)
    adapter.open(board)
    first = {"title": "Anna Beispiel (Greven)", "stack": "Bewerbungen",
             "description": "**Funktion:** Leitung", "labels": ["Greven"]}  # fmt: skip
    plain = adapter.create(board, "app-1", first)
    second = {"title": "Bernd Muster (Rheine)", "stack": "Bewerbungen",
              "labels": ["Rheine", "Neu"], "assignees": ["bob"],
              "due": "2026-03-05T08:00:00+00:00", "archived": True}  # fmt: skip
    full = adapter.create(board, "app-2", second)
    listing = adapter.changes(board, None)
    time.sleep(1.1)
    quiet = adapter.changes(board, listing.cursor)  # If-Modified-Since probe, then ETag
    quiet = adapter.changes(board, quiet.cursor)
    edit = {"stack": "Ausgewählt", "labels": ["Rheine"], "assignees": ["bob"],
            "title": "Anna B. (Greven)"}  # fmt: skip
    moved = adapter.update(board, plain.remote_id, edit, plain.etag)
    adapter.update(board, moved.remote_id, {"assignees": [], "due": None}, moved.etag)
    back = adapter.update(board, full.remote_id, {"archived": False, "assignees": []}, None)
    adapter.update(board, back.remote_id, {"archived": True, "stack": "Abgelehnt"}, back.etag)
    adapter.find_marker(board, "app-404")
    adapter.delete(board, plain.remote_id, None)
    adapter.delete(board, plain.remote_id, None)
    time.sleep(1.1)
    adapter.changes(board, quiet.cursor)
    adapter.close()
    wrong = DeckTarget(url, user, "wrong")
    with pytest.raises(CredentialsError):
        wrong.open(board)
    wrong.close()


# -- shape comparison ---------------------------------------------------------------------------


def shape_diff(want: Any, got: Any, path: str = "$") -> list[str]:
    """Where ``got`` differs from ``want`` in keys, JSON types or list lengths."""
    if kind(want) != kind(got):
        return [f"{path}: double {kind(want)} {want!r:.50}, real {kind(got)} {got!r:.50}"]
    if isinstance(want, dict):
        problems = []
        if want.keys() != got.keys():
            problems.append(
                f"{path}: keys only in the double {sorted(want.keys() - got.keys())}, "
                f"only on the real server {sorted(got.keys() - want.keys())}"
            )
        for key in want.keys() & got.keys():
            problems += shape_diff(want[key], got[key], f"{path}.{key}")
        return problems
    if isinstance(want, list):
        if len(want) != len(got):
            return [f"{path}: double {len(want)} elements, real {len(got)}"]
        return [p for i, (w, g) in enumerate(zip(want, got, strict=True))
                for p in shape_diff(w, g, f"{path}[{i}]")]  # fmt: skip
    return []


def test_shape_diff_reports_types_keys_and_lengths() -> None:
    assert shape_diff({"a": 1, "b": [1]}, {"a": 2, "b": [3]}) == []
    assert shape_diff({"a": None}, {"a": "x"}) == ["$.a: double null None, real string 'x'"]
    assert shape_diff({"a": 1}, {"b": 1})[0].startswith("$: keys only in the double ['a']")
    assert shape_diff([1, 2], [1]) == ["$: double 2 elements, real 1"]


# -- replay ---------------------------------------------------------------------------------------


def _entity(value: dict[str, Any]) -> str | None:
    if "permissionEdit" in value:
        return "acl"
    if "objectId" in value:
        return "comment"
    if "stackId" in value and "type" in value and "title" in value:
        return "card"
    if "color" in value and "boardId" in value:
        return "label"
    if "cardId" in value and "participant" in value:
        return "assignment"
    if "boardId" in value and "order" in value:
        return "stack"
    if "permissions" in value or "acl" in value:
        return "board"
    return None


class Translation:
    """Ids and ETags of the double and their counterparts on the real server."""

    def __init__(self) -> None:
        self.ids: dict[tuple[str, int], int] = {}
        self.etags: dict[str, str] = {}

    def learn(self, want: Any, got: Any) -> None:
        if isinstance(want, dict) and isinstance(got, dict):
            entity = _entity(want)
            for key in want.keys() & got.keys():
                a, b = want[key], got[key]
                if key == "id" and entity and isinstance(a, int) and isinstance(b, int):
                    self.ids.setdefault((entity, a), b)
                elif key in ID_KEYS and isinstance(a, int) and isinstance(b, int):
                    self.ids.setdefault((ID_KEYS[key], a), b)
                elif key == "ETag" and isinstance(a, str) and isinstance(b, str):
                    self.etags[a] = b
                else:
                    self.learn(a, b)
        elif isinstance(want, list) and isinstance(got, list):
            for a, b in zip(want, got, strict=False):
                self.learn(a, b)

    def path(self, path: str) -> str:
        def swap(match: re.Match[str]) -> str:
            number = int(match.group(2))
            found = self.ids.get((PATH_KIND[match.group(1)], number), number)
            return f"/{match.group(1)}/{found if number else 0}"

        return PATH_IDS.sub(swap, path)

    def body(self, payload: bytes) -> bytes:
        if not payload:
            return payload
        data = json.loads(payload)
        for key, entity in (("labelId", "label"), ("stackId", "stack")):
            if isinstance(data, dict) and isinstance(data.get(key), int):
                data[key] = self.ids.get((entity, data[key]), data[key])
        return json.dumps(data).encode()


def generic(path: str) -> str:
    """A path with its ids replaced by ``{id}``."""
    return re.sub(r"/\d+", "/{id}", path)


def replay(
    exchanges: list[Exchange], nc: NextcloudInstance, writer: str
) -> tuple[list[str], set[str]]:
    """Send the recorded requests to the real server; (differences, request kinds seen)."""
    translation, problems, kinds = Translation(), [], set()
    previous = exchanges[0].at
    for number, step in enumerate(exchanges):
        if step.at - previous > 0.5:  # the adapter waited for the next second: so do we
            time.sleep(step.at - previous)
        previous = step.at
        headers = dict(step.headers)
        login, _, secret = (
            base64.b64decode(headers.pop("Authorization")[6:]).decode().partition(":")
        )
        user = writer if login == WRITER else login
        password = secret if secret == "wrong" else nc.app_passwords[user]
        if "If-None-Match" in headers:
            tag = headers["If-None-Match"].strip('"')
            headers["If-None-Match"] = f'"{translation.etags.get(tag, tag)}"'
        path = translation.path(step.path)
        answer = requests.request(step.method, nc.url + path, headers=headers,
                                  data=translation.body(step.body), auth=(user, password),
                                  timeout=60)  # fmt: skip
        got: Any = answer.json() if answer.content else None
        label = f"{number:02d} {step.method} {generic(step.path)}"
        kinds.add(label[3:] + (" If-None-Match" if "If-None-Match" in headers else ""))
        if answer.status_code != step.status:
            problems.append(
                f"{label}: double {step.status}, real {answer.status_code} {got!r:.120}"
            )
            continue
        if step.etag is not None and answer.headers.get("ETag") is not None:
            translation.etags[step.etag.strip('"')] = answer.headers["ETag"].strip('"')
        if (step.etag is None) != (answer.headers.get("ETag") is None):
            where = "only in the double" if step.etag else "only on the real server"
            problems.append(f"{label}: ETag header {where}")
        if answer.status_code < 300 or step.method == "GET":
            translation.learn(step.answer, got)
            if isinstance(step.answer, dict) and "requestId" in step.answer:
                continue  # a 500's message names its request id
            problems += [f"{label}: {p}" for p in shape_diff(step.answer, got)]
    return problems, kinds


def record(groups: Mapping[str, list[str]]) -> list[Exchange]:
    """The adapter's council day against a fresh double with these groups."""
    users = {**{u: f"{u}-pw" for members in groups.values() for u in members}, **PASSWORDS}
    with DeckServer({**users, WRITER: "connector-pw"}, groups, "1.13") as srv:
        recorder = Recorder(srv)
        council_day(srv.url, WRITER, "connector-pw")
        return recorder.exchanges


@pytest.fixture
def recorded() -> list[Exchange]:
    return record(GROUPS)


def test_the_recording_covers_every_request_kind_the_adapter_sends(
    recorded: list[Exchange],
) -> None:
    kinds = {(e.method, re.sub(r"/\d+", "/{id}", e.path.split("?")[0])) for e in recorded}
    base = "/index.php/apps/deck/api/v1.0"
    card = base + "/boards/{id}/stacks/{id}/cards/{id}"
    assert {
        ("GET", base + "/boards"), ("POST", base + "/boards"), ("GET", base + "/boards/{id}"),
        ("POST", base + "/boards/{id}/stacks"), ("POST", base + "/boards/{id}/labels"),
        ("POST", base + "/boards/{id}/acl"), ("GET", base + "/boards/{id}/stacks"),
        ("GET", base + "/boards/{id}/stacks/archived"),
        ("POST", base + "/boards/{id}/stacks/{id}/cards"),
        ("GET", card), ("PUT", card), ("DELETE", card), ("PUT", card + "/reorder"),
        ("PUT", card + "/assignLabel"), ("PUT", card + "/removeLabel"),
        ("PUT", card + "/assignUser"), ("PUT", card + "/unassignUser"),
    } <= kinds  # fmt: skip
    statuses = {(e.status, "If-Modified-Since" in e.headers) for e in recorded}
    assert {(500, True), (304, False), (401, False), (403, False)} <= statuses
    assert all(e.headers.get("OCS-APIRequest") == "true" for e in recorded)


@pytest.mark.real_nextcloud
def test_the_real_server_answers_the_adapters_requests_like_the_double(
    nextcloud: NextcloudInstance,
) -> None:
    recorded = record(nextcloud.groups)  # the same accounts: board member lists match
    writer, _ = nextcloud.new_user("cmp")
    try:
        problems, kinds = replay(recorded, nextcloud, writer)
    finally:
        nextcloud.reset_bruteforce()
    print(f"\n{len(recorded)} requests replayed, {len(kinds)} kinds:", *sorted(kinds), sep="\n  ")
    assert not problems, "the double differs from the real server:\n" + "\n".join(problems)


def test_a_double_with_a_shape_wrong_is_caught(recorded: list[Exchange]) -> None:
    """The comparison can fail: a recorded answer with one type changed is reported."""
    step = next(e for e in recorded if e.method == "PUT" and e.path.endswith("/reorder"))
    tampered = json.loads(json.dumps(step.answer))
    tampered[0]["lastEditor"] = None if tampered[0]["lastEditor"] else "admin"
    assert shape_diff(tampered, step.answer)
