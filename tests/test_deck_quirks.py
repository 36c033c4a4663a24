"""The ten places where the real Deck 1.13 surprised (../shared/nextcloud/README.md), pinned on
the double and on the real server alike: the double must behave like the real thing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from connector.testing.deck_server import DeckServer
from tests.deck_sites import API, BOTH, Site, either_site
from tests.test_deck import GROUPS, PASSWORDS

OCS = "/ocs/v2.php/apps/deck/api/v1.0"


@pytest.fixture(params=BOTH)
def site(request: pytest.FixtureRequest) -> Iterator[Site]:
    yield from either_site(request, PASSWORDS, GROUPS)


def send(site: Site, method: str, path: str, body: Any = None, **headers: str) -> requests.Response:
    sent = {"OCS-APIRequest": "true", **{k.replace("_", "-"): v for k, v in headers.items()}}
    return requests.request(
        method,
        site.url + (path if path.startswith("/ocs/") else API + path),
        json=body,
        headers=sent,
        auth=(site.writer, site.password(site.writer)),
        timeout=60,
    )


def share(kind: int, participant: str) -> dict[str, Any]:
    return {"type": kind, "participant": participant, "permissionEdit": True,
            "permissionShare": False, "permissionManage": False}  # fmt: skip


def board_with_card(site: Site) -> tuple[int, int, int]:
    board = site.call("POST", "/boards", {"title": "Eigenheiten", "color": "0082c9"})["id"]
    stack = site.call("POST", f"/boards/{board}/stacks", {"title": "A", "order": 0})["id"]
    card = site.call("POST", f"/boards/{board}/stacks/{stack}/cards", {"title": "Anna"})["id"]
    return board, stack, card


def test_a_share_with_an_unknown_group_or_user_is_stored(site: Site) -> None:
    board, _, _ = board_with_card(site)
    for kind, name in ((1, "gibt-es-nicht"), (0, "niemand")):
        answer = send(site, "POST", f"/boards/{board}/acl", share(kind, name))
        assert answer.status_code == 200 and answer.json()["participant"] == name
    assert [a["participant"] for a in site.board("Eigenheiten")["acl"]] == [
        "gibt-es-nicht", "niemand",
    ]  # fmt: skip


def test_the_same_share_twice_is_a_500(site: Site) -> None:
    board, _, _ = board_with_card(site)
    assert send(site, "POST", f"/boards/{board}/acl", share(1, "beirat")).status_code == 200
    assert send(site, "POST", f"/boards/{board}/acl", share(1, "beirat")).status_code == 500
    assert site.acl("Eigenheiten") == [(1, "beirat")]


def test_a_label_assigned_twice_is_listed_twice(site: Site) -> None:
    board, stack, card = board_with_card(site)
    label = site.label_id("Eigenheiten", "Finished")
    path = f"/boards/{board}/stacks/{stack}/cards/{card}"
    for _ in range(2):
        answer = send(site, "PUT", path + "/assignLabel", {"labelId": label})
        assert (answer.status_code, answer.json()) == (200, None)
    assert [lb["title"] for lb in site.card(board, card)["labels"]] == ["Finished", "Finished"]


def test_removing_a_label_of_another_board_is_a_500(site: Site) -> None:
    board, stack, card = board_with_card(site)
    other = site.call("POST", "/boards", {"title": "Andere", "color": "ff0000"})
    answer = send(site, "PUT", f"/boards/{board}/stacks/{stack}/cards/{card}/removeLabel",
                  {"labelId": other["labels"][0]["id"]})  # fmt: skip
    assert answer.status_code == 500
    assert answer.json()["message"] == "Operation not allowed. Label does not exist."


def test_unassigning_on_an_archived_card_works(site: Site) -> None:
    board, stack, card = board_with_card(site)
    base = f"/boards/{board}/stacks/{stack}/cards/{card}"
    send(site, "POST", f"/boards/{board}/acl", share(0, "bob"))
    assert send(site, "PUT", base + "/assignUser", {"userId": "bob"}).status_code == 200
    body = {"title": "Anna", "type": "plain", "owner": site.writer, "order": 0, "archived": True}
    assert send(site, "PUT", base, body).status_code == 200
    assert send(site, "PUT", base + "/unassignUser", {"userId": "bob"}).status_code == 200
    assert site.card(board, card)["assignedUsers"] == []


def test_a_due_date_loses_its_offset(site: Site) -> None:
    board, stack, card = board_with_card(site)
    body = {"title": "Anna", "type": "plain", "owner": site.writer, "order": 0,
            "duedate": "2026-01-10T12:00:00+01:00"}  # fmt: skip
    assert send(site, "PUT", f"/boards/{board}/stacks/{stack}/cards/{card}", body).ok
    assert site.card(board, card)["duedate"] == "2026-01-10T12:00:00+00:00"


def test_a_request_without_the_ocs_header_is_served(site: Site) -> None:
    answer = requests.get(site.url + API + "/boards", timeout=60,
                          auth=(site.writer, site.password(site.writer)))  # fmt: skip
    assert answer.status_code == 200


def test_no_credentials_is_a_401_asking_for_basic_auth(site: Site) -> None:
    answer = requests.get(
        site.url + API + "/boards", headers={"OCS-APIRequest": "true"}, timeout=60
    )
    assert (answer.status_code, answer.json()) == (401, {"message": "CORS requires basic auth"})


def test_comments_may_be_empty_but_not_over_1000_characters(site: Site) -> None:
    _, _, card = board_with_card(site)
    path = f"{OCS}/cards/{card}/comments"
    empty = send(site, "POST", path, {"message": ""}, Accept="application/json")
    assert empty.status_code == 200 and empty.json()["ocs"]["data"]["message"] == ""
    long = send(site, "POST", path, {"message": "x" * 1001}, Accept="application/json")
    assert long.status_code == 400
    assert (
        long.json()["ocs"]["meta"]["message"] == "Message exceeds allowed character limit of 1000"
    )


def test_archived_listing_labels_and_the_reorder_answer(site: Site) -> None:
    board, stack, card = board_with_card(site)
    base = f"/boards/{board}/stacks/{stack}/cards/{card}"
    send(site, "PUT", base + "/assignLabel", {"labelId": site.label_id("Eigenheiten", "Later")})
    moved = send(site, "PUT", base + "/reorder", {"order": 0, "stackId": stack}).json()
    assert moved[0]["lastEditor"] == site.writer
    body = {"title": "Anna", "type": "plain", "owner": site.writer, "order": 0, "archived": True}
    send(site, "PUT", base, body)
    archived = send(site, "GET", f"/boards/{board}/stacks/archived").json()
    [label] = archived[0]["cards"][0]["labels"]
    assert (label["boardId"], label["lastModified"], label["cardId"]) == (None, None, card)


def test_a_double_that_requires_the_header_proves_the_adapter_sends_it() -> None:
    """The real server is lenient; the adapter sends ``OCS-APIRequest`` anyway."""
    from connector.base import Collection
    from connector.deck import DeckTarget

    with DeckServer(PASSWORDS, GROUPS, "1.13", require_ocs_header=True) as strict:
        missing = requests.get(strict.url + API + "/boards", auth=("admin", PASSWORDS["admin"]))
        assert missing.status_code == 412
        adapter = DeckTarget(strict.url, "admin", PASSWORDS["admin"], sleep=lambda _: None)
        coll = Collection("Kopfzeile", {"stacks": ["Offen"], "labels": ["X"]})
        adapter.open(coll)
        made = adapter.create(coll, "t-1", {"title": "Eins", "labels": ["X"], "assignees": []})
        adapter.update(coll, made.remote_id, {"title": "Zwei", "archived": True}, made.etag)
        adapter.changes(coll, None)
        adapter.delete(coll, made.remote_id, None)
        adapter.close()
