"""The Deck adapter against the Nextcloud 29 + Deck double (connector.testing.deck_server)
and, where a test takes a ``site``, against the real Nextcloud 29 + Deck 1.13 as well.

Every test gets a fresh double with a clock it controls; the double stamps ``Date`` from that
clock too (as a real server does), because the adapter reads the server's second from it.
On the real server (tests/deck_sites.py) time really passes. "A person" acts through raw HTTP
as bob, a council member whose group ``beirat`` may edit the board. Tests that inject errors
(``fail_next``), freeze a second or need Deck 1.17 run on the double only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from connector.base import Collection
from connector.deck import DeckTarget
from connector.deck_cards import footer, split_footer
from connector.errors import (
    ConfigError,
    CredentialsError,
    NotFound,
    PreconditionFailed,
    RecordRejected,
    RetryLater,
)
from connector.testing.deck_server import DeckServer
from tests.contract import TargetContract, changed_ids, is_gone
from tests.deck_sites import BOTH, DoubleSite, RealSite, Site, real_site

API = "/index.php/apps/deck/api/v1.0"
PASSWORDS = {"admin": "admin-app-pw", "bob": "bob-app-pw", "carol": "carol-pw"}
GROUPS = {"beirat": ["bob", "carol"]}
BOARD = "Mentoring 10 – Beirat"
STACKS = ["Bewerbungen", "Ausgewählt", "Abgelehnt"]
T0 = 1_790_000_000
DUE = "2026-03-05T08:00:00+00:00"


# -- the double, its clock, and a person -----------------------------------------------------


class Clock:
    """The double's clock: frozen until a test moves it."""

    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: int = 1) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def srv(request: pytest.FixtureRequest, clock: Clock) -> Iterator[DeckServer]:
    version = getattr(request.cls, "version", "1.13")
    with DeckServer(PASSWORDS, GROUPS, version, clock=clock) as server:
        yield server


class Person:
    """Someone editing on Deck through its REST API (bob by default)."""

    def __init__(self, server: DeckServer | Site, user: str = "bob") -> None:
        self.server, self.user = server, user
        self.password = server.password(user) if isinstance(server, Site) else PASSWORDS[user]

    def __call__(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        answer = requests.request(
            method,
            self.server.url + API + path,
            json=body,
            headers={"OCS-APIRequest": "true", **headers},
            auth=(self.user, self.password),
            timeout=60,
        )
        assert answer.status_code < 300, (answer.status_code, answer.text)
        return answer.json() if answer.content else None

    def card(self, board: int, card: int) -> dict[str, Any]:
        found: dict[str, Any] = self("GET", f"/boards/{board}/stacks/0/cards/{card}")
        return found

    def edit(self, board: int, card: int, **changes: Any) -> dict[str, Any]:
        """PUT the whole card, as Deck's web UI does, with ``changes``."""
        now = self.card(board, card)
        body = {
            "title": now["title"], "type": now["type"], "owner": now["owner"]["uid"],
            "description": now["description"], "duedate": now["duedate"], "order": now["order"],
            **changes,
        }  # fmt: skip
        edited: dict[str, Any] = self(
            "PUT", f"/boards/{board}/stacks/{now['stackId']}/cards/{card}", body
        )
        return edited

    def move(self, board: int, card: int, stack: int) -> None:
        now = self.card(board, card)
        path = f"/boards/{board}/stacks/{now['stackId']}/cards/{card}/reorder"
        self("PUT", path, {"order": 0, "stackId": stack})


@pytest.fixture
def bob(srv: DeckServer) -> Person:
    return Person(srv)


def collection_for(board: str = BOARD, **options: Any) -> Collection:
    return Collection(
        board,
        {
            "board": board,
            "stacks": STACKS,
            "labels": ["Greven", "Rheine"],
            "acl": [{"group": "beirat", "edit": True, "share": False, "manage": False}],
            "organisation_labels": True,
            **options,
        },
    )


@pytest.fixture
def collection() -> Collection:
    return collection_for()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def target(srv: DeckServer, sleeps: list[float]) -> Iterator[DeckTarget]:
    adapter = DeckTarget(srv.url, "admin", PASSWORDS["admin"], sleep=sleeps.append)
    yield adapter
    adapter.close()


@pytest.fixture(params=BOTH)
def site(request: pytest.FixtureRequest, srv: DeckServer, clock: Clock) -> Site:
    """The double (with its clock) or the session's real Nextcloud, cleaned for the test."""
    if request.param == "double":
        return DoubleSite(srv, clock)
    return real_site(request)


@pytest.fixture
def adapter(site: Site) -> Iterator[DeckTarget]:
    """The adapter as the writer on ``site``."""
    made = DeckTarget(site.url, site.writer, site.password(site.writer), sleep=site.sleep)
    yield made
    made.close()


@pytest.fixture
def person(site: Site) -> Person:
    return Person(site)


def _sample(i: int) -> dict[str, Any]:
    return {
        "title": f"Karte {i}",
        "description": f"**Funktion:** Sachgebietsleitung {i}\n\n**Ziele**\nFührung lernen",
        "stack": "Bewerbungen",
        "labels": ["Greven"],
        "due": None,
        "archived": False,
    }


def _edit(fields: dict[str, Any]) -> dict[str, Any]:
    return {"stack": "Ausgewählt", "due": DUE}


_sample.edit = _edit  # type: ignore[attr-defined]


@pytest.fixture
def samples() -> Any:
    return _sample


def board_id(srv: DeckServer, title: str = BOARD) -> int:
    return next(b.id for b in srv.state.boards.values() if b.title == title and not b.deleted_at)


def stack_id(srv: DeckServer, title: str, board: str = BOARD) -> int:
    bid = board_id(srv, board)
    return next(s.id for s in srv.state.stacks.values() if s.board_id == bid and s.title == title)


def label_id(srv: DeckServer, title: str, board: str = BOARD) -> int:
    bid = board_id(srv, board)
    return next(
        lb.id for lb in srv.state.labels.values() if lb.board_id == bid and lb.title == title
    )


def cursor_of(text: str | None) -> dict[str, Any]:
    assert text is not None
    data: dict[str, Any] = json.loads(text)
    return data


# -- the contract ---------------------------------------------------------------------------


class TestDeckContract(TargetContract):
    """Every contract test against Deck 1.13: the double at one frozen second (ETags never
    move), and the real server."""

    @pytest.fixture
    def target(self, adapter: DeckTarget) -> DeckTarget:
        return adapter


class TestDeckContract117(TargetContract):
    """The same against Deck 1.17, which understands If-Modified-Since."""

    version = "1.17"


# -- the marker footer ----------------------------------------------------------------------


def test_footer_survives_edits_above_it_and_markdown_rewrites() -> None:
    body = "Text" + footer("mim-10_app.1")
    assert split_footer(body) == ("Text", "mim-10_app.1")
    assert split_footer("Neu\n\nmehr" + footer("x-1")) == ("Neu\n\nmehr", "x-1")
    rewritten = "Text\n\n* * *\n\ncohort-connector: `mim-10_app.1`\n"
    assert split_footer(rewritten) == ("Text", "mim-10_app.1")
    escaped = "Text\n\n***\n\ncohort-connector: mim-10\\_app.1"
    assert split_footer(escaped) == ("Text", "mim-10_app.1")
    legacy = "**Kommune:** Greven\n\n<!-- cohort-uid: 01J0000000000000000000ANNA -->"
    assert split_footer(legacy) == ("**Kommune:** Greven", "01J0000000000000000000ANNA")
    assert split_footer("Text\n---\nnur ein Strich") == ("Text\n---\nnur ein Strich", None)
    after = "Text" + footer("u-1") + "\n\nDarunter ergänzt"
    assert split_footer(after) == ("Text\n\nDarunter ergänzt", "u-1")
    assert split_footer("") == ("", None)


def test_created_card_carries_the_footer_and_reads_back_without_it(
    adapter: DeckTarget, collection: Collection, site: Site
) -> None:
    adapter.open(collection)
    record = adapter.create(collection, "mim-10-app-1", _sample(1))
    stored = site.card(site.board_id(BOARD), int(record.remote_id))["description"]
    assert stored == _sample(1)["description"] + "\n\n---\ncohort-connector: `mim-10-app-1`"
    assert record.fields["description"] == _sample(1)["description"]
    assert record.marker == "mim-10-app-1"


# -- council workflows ----------------------------------------------------------------------


def test_council_moves_a_card_and_changes_reports_the_new_stack(
    adapter: DeckTarget, collection: Collection, site: Site, person: Person
) -> None:
    adapter.open(collection)
    card = adapter.create(collection, "app-1", _sample(1))
    other = adapter.create(collection, "app-2", _sample(2))
    cursor = adapter.changes(collection, None).cursor
    site.tick()
    person.move(site.board_id(BOARD), int(card.remote_id), site.stack_id(BOARD, "Ausgewählt"))
    site.tick()
    after = adapter.changes(collection, cursor)
    moved = {r.remote_id: r for r in after.records}[card.remote_id]
    assert moved.fields["stack"] == "Ausgewählt"
    assert {k: v for k, v in moved.fields.items() if k != "stack"} == {
        k: v for k, v in card.fields.items() if k != "stack"
    }
    assert not is_gone(after, other.remote_id)


def test_edits_by_hand_come_back_field_by_field(
    adapter: DeckTarget, collection: Collection, site: Site, person: Person
) -> None:
    adapter.open(collection)
    card = adapter.create(collection, "app-1", _sample(1))
    cursor = adapter.changes(collection, None).cursor
    site.tick()
    board, cid = site.board_id(BOARD), int(card.remote_id)
    # Deck 1.13 drops the offset of a due date (stores the wall time as UTC).
    person.edit(board, cid, title="Anna Beispiel", duedate="2026-04-01T12:00:00+02:00")
    base = f"/boards/{board}/stacks/0/cards/{cid}"
    person("PUT", base + "/assignLabel", {"labelId": site.label_id(BOARD, "Rheine")})
    person("PUT", base + "/removeLabel", {"labelId": site.label_id(BOARD, "Greven")})
    person("PUT", base + "/assignUser", {"userId": "carol"})
    site.tick()
    fields = adapter.changes(collection, cursor).records[0].fields
    assert fields["title"] == "Anna Beispiel"
    assert fields["due"] == "2026-04-01T12:00:00+00:00"
    assert (fields["labels"], fields["assignees"]) == (["Rheine"], ["carol"])
    assert fields["description"] == _sample(1)["description"]
    assert adapter.get(collection, card.remote_id).marker == "app-1"


def test_a_card_added_by_hand_has_no_marker(
    adapter: DeckTarget, collection: Collection, site: Site, person: Person
) -> None:
    adapter.open(collection)
    path = f"/boards/{site.board_id(BOARD)}/stacks/{site.stack_id(BOARD, 'Bewerbungen')}/cards"
    made = person("POST", path, {"title": "Clara (Emsdetten)", "description": "von Hand"})
    record = {r.remote_id: r for r in adapter.changes(collection, None).records}[str(made["id"])]
    assert record.marker is None
    assert record.fields["description"] == "von Hand"
    assert record.fields["stack"] == "Bewerbungen"


def test_archived_cards_come_back_archived_and_deleted_ones_are_gone(
    adapter: DeckTarget, collection: Collection, site: Site, person: Person
) -> None:
    adapter.open(collection)
    kept = adapter.create(collection, "app-1", {**_sample(1), "assignees": ["bob"]})
    gone = adapter.create(collection, "app-2", _sample(2))
    cursor = adapter.changes(collection, None).cursor
    site.tick()
    person.edit(site.board_id(BOARD), int(kept.remote_id), archived=True)
    person("DELETE", f"/boards/{site.board_id(BOARD)}/stacks/0/cards/{gone.remote_id}")
    site.tick()
    after = adapter.changes(collection, cursor)
    archived = {r.remote_id: r for r in after.records}[kept.remote_id]
    assert archived.fields == {**kept.fields, "archived": True}
    assert after.complete and is_gone(after, gone.remote_id)
    assert adapter.get(collection, kept.remote_id).fields["archived"] is True
    with pytest.raises(NotFound):
        adapter.get(collection, gone.remote_id)
    # Deck's archived listing leaves assignees out: the next listing takes them from the
    # cursor instead of reading the card again.
    site.tick()
    adapter.create(collection, "app-3", _sample(3))
    site.tick()
    site.reset_requests()
    again = adapter.changes(collection, after.cursor)
    assert {r.remote_id: r for r in again.records}[kept.remote_id].fields["assignees"] == ["bob"]
    assert not [p for m, p in site.requests() if p.endswith(f"/cards/{kept.remote_id}")]


def test_unarchiving_and_archiving_with_other_changes(
    adapter: DeckTarget, collection: Collection, site: Site
) -> None:
    adapter.open(collection)
    card = adapter.create(collection, "app-1", {**_sample(1), "archived": True})
    assert card.fields["archived"] is True and card.fields["labels"] == ["Greven"]
    moved = adapter.update(
        collection, card.remote_id, {"stack": "Abgelehnt", "labels": ["Rheine"]}, card.etag
    )
    assert (moved.fields["stack"], moved.fields["labels"], moved.fields["archived"]) == (
        "Abgelehnt", ["Rheine"], True,
    )  # fmt: skip
    back = adapter.update(collection, card.remote_id, {"archived": False}, moved.etag)
    assert back.fields["archived"] is False
    assert site.card(site.board_id(BOARD), int(card.remote_id))["archived"] is False


def test_open_is_idempotent_and_leaves_foreign_things_alone(
    adapter: DeckTarget, collection: Collection, site: Site
) -> None:
    admin = Person(site, site.writer)
    other = admin("POST", "/boards", {"title": "Andere AG", "color": "ff0000"})
    adapter.open(collection)
    board = site.board_id(BOARD)
    admin("POST", f"/boards/{board}/stacks", {"title": "Notizen", "order": 9})
    admin("POST", f"/boards/{board}/labels", {"title": "Privat", "color": "000000"})
    adapter.reset_stats()
    site.reset_requests()
    adapter.open(collection)
    assert [m for m, _ in site.requests()] == ["GET", "GET"] and adapter.requests == 2
    assert site.stack_titles(BOARD) == [*STACKS, "Notizen"]
    labels = {lb["title"] for lb in site.board(BOARD)["labels"]}
    assert {"Greven", "Rheine", "Privat", "Finished"} <= labels
    assert site.acl(BOARD) == [(1, "beirat")]
    again = site.call("GET", f"/boards/{other['id']}")
    assert again["title"] == "Andere AG" and again["stacks"] == []


def test_a_deleted_board_is_reported_and_open_starts_a_new_one(
    adapter: DeckTarget, collection: Collection, site: Site
) -> None:
    adapter.open(collection)
    site.tick()
    cursor = adapter.changes(collection, None).cursor
    old = site.board_id(BOARD)
    Person(site, site.writer)("DELETE", f"/boards/{old}")
    site.tick()
    with pytest.raises(NotFound, match="was deleted; restore it in Deck"):
        adapter.changes(collection, cursor)
    adapter.open(collection)
    assert site.board_id(BOARD) != old
    assert next(b for b in site.call("GET", "/boards") if b["id"] == old)["deletedAt"]


def test_long_titles_are_cut_with_an_ellipsis(
    adapter: DeckTarget, collection: Collection, site: Site
) -> None:
    adapter.open(collection)
    record = adapter.create(collection, "app-1", {**_sample(1), "title": "A" * 300})
    stored = site.card(site.board_id(BOARD), int(record.remote_id))["title"]
    assert len(stored) == 255 and stored.endswith("…") and stored.startswith("A" * 254)
    assert record.fields["title"] == stored
    same = adapter.update(collection, record.remote_id, {"title": "A" * 300}, record.etag)
    assert same == record, "an equally cut title is no change"


def test_dates_are_sent_in_utc(adapter: DeckTarget, collection: Collection, site: Site) -> None:
    adapter.open(collection)
    record = adapter.create(collection, "app-1", {**_sample(1), "due": "2026-03-05T09:00:00+01:00"})
    stored = site.card(site.board_id(BOARD), int(record.remote_id))["duedate"]
    assert stored == "2026-03-05T08:00:00+00:00", "Deck would drop an offset: sent in UTC"
    assert record.fields["due"] == DUE
    updated = adapter.update(collection, record.remote_id, {"due": "2026-07-01T00:00:00Z"}, None)
    assert updated.fields["due"] == "2026-07-01T00:00:00+00:00"
    with pytest.raises(RecordRejected, match="not an ISO 8601"):
        adapter.update(collection, record.remote_id, {"due": "nächsten Dienstag"}, None)


def test_put_keeps_the_footer_owner_and_untouched_fields(
    adapter: DeckTarget, collection: Collection, site: Site, person: Person
) -> None:
    adapter.open(collection)
    fields = {**_sample(1), "due": DUE, "assignees": ["carol"], "labels": ["Greven", "Rheine"]}
    record = adapter.create(collection, "app-1", fields)
    board, cid = site.board_id(BOARD), int(record.remote_id)
    person.edit(board, cid, done="2026-01-01T00:00:00+00:00")
    record = adapter.get(collection, record.remote_id)
    renamed = adapter.update(collection, record.remote_id, {"title": "Neu"}, record.etag)
    assert renamed.fields == {**fields, "title": "Neu"}
    card = site.card(board, cid)
    assert card["description"].endswith(footer("app-1")) and card["done"] is not None
    described = adapter.update(collection, record.remote_id, {"description": "Kurz"}, None)
    assert site.card(board, cid)["description"] == "Kurz" + footer("app-1")
    assert described.marker == "app-1"
    assert described.fields == {**fields, "title": "Neu", "description": "Kurz"}
    path = f"/boards/{board}/stacks/{site.stack_id(BOARD, 'Bewerbungen')}/cards"
    by_bob = person("POST", path, {"title": "Von Bob"})
    adapter.update(collection, str(by_bob["id"]), {"title": "Von Bob (geprüft)"}, None)
    assert site.card(board, by_bob["id"])["owner"]["uid"] == "bob"


def test_same_second_edits_are_detected_by_content_hash(
    target: DeckTarget, collection: Collection, srv: DeckServer, bob: Person, clock: Clock
) -> None:
    target.open(collection)
    record = target.create(collection, "app-1", _sample(1))
    listing = target.changes(collection, None)
    etag_before = srv.state.cards[int(record.remote_id)].last_modified
    bob.edit(board_id(srv), int(record.remote_id), description="Von Bob, in derselben Sekunde")
    assert srv.state.cards[int(record.remote_id)].last_modified == etag_before
    after = target.changes(collection, listing.cursor)
    assert after.records[0].fields["description"] == "Von Bob, in derselben Sekunde"
    with pytest.raises(PreconditionFailed):
        target.update(collection, record.remote_id, {"title": "Neu"}, record.etag)
    clock.tick()
    settled = target.changes(collection, after.cursor)
    assert settled.complete, "listed again: the last listing ran in the board's second"
    clock.tick()
    srv.reset_requests()
    quiet = target.changes(collection, settled.cursor)
    assert (quiet.records, quiet.complete) == ([], False)


def test_if_modified_since_500_is_detected_once_and_remembered(
    adapter: DeckTarget, collection: Collection, site: Site
) -> None:
    adapter.open(collection)
    adapter.create(collection, "app-1", _sample(1))
    site.tick()
    cursor = adapter.changes(collection, None).cursor
    assert cursor_of(cursor)["ims"] is None
    site.reset_requests()
    first = adapter.changes(collection, cursor)
    assert site.requests() == [("GET", API + "/boards")] * 2, "one probe (500, not retried) + ETag"
    assert cursor_of(first.cursor)["ims"] is False and first.records == []
    site.reset_requests()
    second = adapter.changes(collection, first.cursor)
    assert site.requests() == [("GET", API + "/boards")] and second.records == []


class TestDeck117:
    """Deck 1.17 filters the board list by If-Modified-Since; the adapter uses that."""

    version = "1.17"

    def test_if_modified_since_polls_and_still_sees_changes(
        self, target: DeckTarget, collection: Collection, srv: DeckServer, clock: Clock
    ) -> None:
        target.open(collection)
        card = target.create(collection, "app-1", _sample(1))
        clock.tick()
        cursor = target.changes(collection, None).cursor
        srv.reset_requests()
        quiet = target.changes(collection, cursor)
        assert (len(srv.requests), quiet.records, cursor_of(quiet.cursor)["ims"]) == (1, [], True)
        Person(srv).edit(board_id(srv), int(card.remote_id), title="Geändert")
        clock.tick()
        changed = target.changes(collection, quiet.cursor)
        assert changed.complete and changed.records[0].fields["title"] == "Geändert"
        target.delete(collection, card.remote_id, None)
        clock.tick()
        assert is_gone(target.changes(collection, changed.cursor), card.remote_id)


def test_noop_changes_make_at_most_two_requests_per_board(
    adapter: DeckTarget, collection: Collection, site: Site
) -> None:
    second = collection_for("Mentoring 10 – Aufgaben", stacks=["Offen", "Erledigt"])
    cursors = {}
    for coll in (collection, second):
        adapter.open(coll)
        for i in range(5):
            adapter.create(
                coll, f"{coll.name}-{i}", {**_sample(i), "stack": coll.options["stacks"][0]}
            )
    site.tick()  # a listing in the second of the last write would be listed again
    for coll in (collection, second):
        cursors[coll.name] = adapter.changes(coll, None).cursor
    counts = []
    for _ in range(3):
        for coll in (collection, second):
            site.reset_requests()
            adapter.reset_stats()
            quiet = adapter.changes(coll, cursors[coll.name])
            cursors[coll.name] = quiet.cursor
            assert quiet.records == [] and not quiet.complete
            counts.append((coll.name, len(site.requests()), adapter.requests))
        Person(site, site.writer)(
            "POST", "/boards", {"title": f"Fremd {site.now()}", "color": "ff0000"}
        )
        site.tick()
    print(f"\\nno-op changes() on the {'real server' if site.real else 'double'}: "
          "(board, requests seen by the server, counted by the adapter)")  # fmt: skip
    for row in counts:
        print("  ", row)
    assert all(seen == counted <= 2 for _, seen, counted in counts)


# -- errors ---------------------------------------------------------------------------------


def test_wrong_app_password_says_what_to_check(site: Site, collection: Collection) -> None:
    adapter = DeckTarget(site.url, site.writer, "wrong")
    try:
        with pytest.raises(CredentialsError, match="check the Deck app password for user admin"):
            adapter.open(collection)
    finally:
        if isinstance(site, RealSite):
            site.nc.reset_bruteforce()


def test_a_board_the_user_lost_access_to(site: Site) -> None:
    admin = Person(site, site.writer)
    board = admin("POST", "/boards", {"title": BOARD, "color": "0082c9"})["id"]
    stack = admin("POST", f"/boards/{board}/stacks", {"title": "Bewerbungen", "order": 0})["id"]
    card = admin("POST", f"/boards/{board}/stacks/{stack}/cards", {"title": "Anna"})["id"]
    share = {"type": 0, "participant": "bob", "permissionEdit": True,
             "permissionShare": False, "permissionManage": False}  # fmt: skip
    acl = admin("POST", f"/boards/{board}/acl", share)["id"]
    as_bob = DeckTarget(site.url, "bob", site.password("bob"), sleep=site.sleep)
    coll = Collection(BOARD, {"stacks": ["Bewerbungen"]})
    cursor = as_bob.changes(coll, None).cursor
    assert as_bob.get(coll, str(card)).fields["title"] == "Anna"
    admin("DELETE", f"/boards/{board}/acl/{acl}")
    site.tick()
    with pytest.raises(NotFound, match="user bob has no access to board 'Mentoring 10"):
        as_bob.changes(coll, cursor)
    with pytest.raises(NotFound, match="user bob has no access"):
        as_bob.get(coll, str(card))


def test_a_500_on_one_card_rejects_that_card_only(
    target: DeckTarget, collection: Collection, srv: DeckServer
) -> None:
    target.open(collection)
    bad = target.create(collection, "app-1", _sample(1))
    good = target.create(collection, "app-2", _sample(2))
    srv.fail_next("PUT", rf"/cards/{bad.remote_id}$", 500, times=4)
    with pytest.raises(RecordRejected, match=rf"card {bad.remote_id} 'Karte 1'.*500"):
        target.update(collection, bad.remote_id, {"title": "Neu"}, bad.etag)
    assert (
        target.update(collection, good.remote_id, {"title": "Neu"}, good.etag).fields["title"]
        == "Neu"
    )
    srv.fail_next("POST", r"/cards$", 500)
    with pytest.raises(RecordRejected, match="creating card 'Karte 3'"):
        target.create(collection, "app-3", _sample(3))


def test_429_with_retry_after_is_retried(
    target: DeckTarget, collection: Collection, srv: DeckServer, sleeps: list[float]
) -> None:
    target.open(collection)
    srv.fail_next("GET", r"/boards$", 429, headers={"Retry-After": "3"})
    assert target.changes(collection, None).records == []
    # 3 s as the server asked; then at most one 1 s wait, because the board was created in
    # the listing's very second (see DeckTarget._settled).
    assert sleeps in ([3.0], [3.0, 1.0])


def test_a_persisting_503_means_retry_later(
    target: DeckTarget, collection: Collection, srv: DeckServer
) -> None:
    target.open(collection)
    srv.fail_next("GET", r"/stacks$", 503, times=10)
    with pytest.raises(RetryLater):
        target.changes(collection, None)


def test_incremental_listing_reports_a_card_created_after_it(
    adapter: DeckTarget, collection: Collection, site: Site
) -> None:
    adapter.open(collection)
    cursor = adapter.changes(collection, None).cursor
    site.tick()
    made = adapter.create(collection, "app-1", _sample(1))
    site.tick()
    after = adapter.changes(collection, cursor)
    assert changed_ids(after) == {made.remote_id}


def test_a_card_missing_from_a_listing_is_checked_before_it_counts_as_gone(
    target: DeckTarget, collection: Collection, srv: DeckServer, clock: Clock
) -> None:
    target.open(collection)
    kept = target.create(collection, "app-1", _sample(1))
    clock.tick()
    cursor = target.changes(collection, None).cursor
    made = target.create(collection, "app-2", _sample(2))
    clock.tick()
    # A listing that raced a move between stacks: every card is missing from it.
    stacks = Person(srv, "admin")("GET", f"/boards/{board_id(srv)}/stacks")
    srv.fail_next("GET", r"/stacks$", 200, body=[{**s, "cards": []} for s in stacks])
    after = target.changes(collection, cursor)
    assert changed_ids(after) == {kept.remote_id, made.remote_id}
    assert {r.remote_id: r for r in after.records}[kept.remote_id].fields == kept.fields


# -- shares with users and groups that must exist ----------------------------------------------


def test_a_share_with_an_unknown_group_or_user_stops_open_before_any_write(
    adapter: DeckTarget, site: Site
) -> None:
    acl = [{"group": "beirat"}, {"group": "gibt-es-nicht"}, {"user": "niemand"}, {"user": "bob"}]
    coll = collection_for(acl=acl)
    site.reset_requests()
    with pytest.raises(ConfigError) as raised:
        adapter.open(coll)
    message = str(raised.value)
    assert "group 'gibt-es-nicht', user 'niemand'" in message and "deck.acl" in message
    assert "beirat" not in message and "'bob'" not in message
    assert [m for m, _ in site.requests() if m != "GET"] == [], "nothing written"
    assert adapter.missing_participants(acl) == ["group 'gibt-es-nicht'", "user 'niemand'"]
    assert adapter.missing_participants([{"group": "beirat"}, {"user": "carol"}]) == []


def test_a_non_admin_writer_checks_shares_through_the_sharing_search(site: Site) -> None:
    bob = DeckTarget(site.url, "bob", site.password("bob"), sleep=site.sleep)
    assert bob.missing_participants([{"group": "beirat"}, {"user": "carol"}]) == []
    assert bob.missing_participants([{"group": "nein"}, {"user": "nie"}]) == [
        "group 'nein'", "user 'nie'",
    ]  # fmt: skip
    bob.close()


def test_a_stored_share_with_an_unknown_group_is_reported(
    adapter: DeckTarget, collection: Collection, site: Site
) -> None:
    """Deck 1.13 stored such a share silently; every assignment on the board then fails."""
    coll = collection_for(acl=[{"group": "beirat"}, {"group": "alt"}])
    admin = Person(site, site.writer)
    board = admin("POST", "/boards", {"title": BOARD, "color": "0082c9"})["id"]
    share = {"type": 1, "participant": "alt", "permissionEdit": True,
             "permissionShare": False, "permissionManage": False}  # fmt: skip
    admin("POST", f"/boards/{board}/acl", share)
    with pytest.raises(ConfigError, match="shared with group 'alt'"):
        adapter.open(coll)


def test_each_share_is_posted_once_even_if_the_mapping_repeats_it(
    adapter: DeckTarget, site: Site
) -> None:
    coll = collection_for(acl=[{"group": "beirat"}, {"group": "beirat", "edit": False}])
    site.reset_requests()
    adapter.open(coll)
    adapter.open(coll)
    assert [p for m, p in site.requests() if m == "POST" and p.endswith("/acl")] == [
        f"{API}/boards/{site.board_id(BOARD)}/acl"
    ]
    assert site.acl(BOARD) == [(1, "beirat")]
