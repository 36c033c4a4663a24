"""The council's scenario on the real Nextcloud 29 + Deck 1.13, through the `connector` CLI.

The bundled example cohort is imported and synced with the shipped mapping's Deck rules (a
test mapping without the calendar and list rules) onto a real Nextcloud. Then the council
works on its boards through Deck's API, as its members would — carol and bob, both in group
``beirat`` — while the coordinator changes the same application in the store. One pass must
reconcile every change the way the mapping says, park the one conflict, duplicate nothing,
and the next quiet pass must cost one request per board, counted on the server's access log.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from connector.testing.nextcloud_server import NextcloudInstance
from sync.store import Store
from tests.deck_sites import RealSite, clean_site
from tests.factories import IMPORT_ORDER
from tests.test_deck import Person
from tests.test_example_sync import EXAMPLE, requests_per_rule, run

pytestmark = pytest.mark.real_nextcloud

APPLICATIONS = "Mentoring 10 – Beirat"
TASKS = "Mentoring 10 – Aufgaben"
DECK_RULES = ("bewerbungen", "beirat-aufgaben", "tandems")


def deck_only(text: str, url: str) -> str:
    """The shipped mapping with only its Deck target and rules, pointed at ``url``."""
    head, *rules = text.split("\n[[rules]]\n")
    head = re.sub(r"\n\[targets\.(kalender|listen)\]\n.*?(?=\n\[|\n#|\Z)", "\n", head, flags=re.S)
    kept = [r for r in rules if re.search(r'^target = "nextcloud"$', r, re.M)]
    return "\n[[rules]]\n".join([head, *kept]).replace("http://127.0.0.1:8081", url)


@dataclass
class Council:
    """The work folder, the CLI's environment and the real server of the scenario."""

    env: dict[str, str]
    store_path: Path
    site: RealSite
    nc: NextcloudInstance
    first: str

    def sync(self, code: int = 0) -> str:
        """One pass; ``code`` 7 while the parked conflict waits for a person."""
        return run(self.env, "sync", "--stats", code=code)

    def links(self, rule: str) -> dict[str, str]:
        with Store.open(self.store_path) as store:
            return {uid: link.remote_id for uid, link in store.links(f"mim-10:{rule}").items()}

    def entity(self, uid: str) -> Any:
        with Store.open(self.store_path) as store:
            return store.get(uid)

    def cards(self, board: str) -> list[dict[str, Any]]:
        """Every card on a board, live and archived (as the connector's user sees them)."""
        found = []
        board_id = self.site.board_id(board)
        for suffix in ("", "/archived"):
            for stack in self.site.call("GET", f"/boards/{board_id}/stacks{suffix}"):
                found += [{**c, "stack": stack["title"]} for c in stack.get("cards") or []]
        return found


@pytest.fixture(scope="module")
def council(
    tmp_path_factory: pytest.TempPathFactory, nextcloud: NextcloudInstance
) -> Iterator[Council]:
    tmp = tmp_path_factory.mktemp("council")
    work = tmp / "work"
    env = {
        **os.environ,
        "DECK_APP_PASSWORD": nextcloud.app_passwords["admin"],
        "CONNECTOR_CONFIG": str(work / "connector.toml"),
    }
    run(env, "init", str(work))
    for kind in IMPORT_ORDER:
        run(env, "import", kind, str(EXAMPLE / f"{kind}.csv"))
    mapping = work / "mapping.toml"
    mapping.write_text(deck_only(mapping.read_text(encoding="utf-8"), nextcloud.url), "utf-8")

    site = clean_site(nextcloud)
    first = run(env, "sync", "--stats")
    yield Council(env, work / "cohort.db", site, nextcloud, first)


def test_the_example_cohort_lands_on_the_real_deck(council: Council) -> None:
    print("\nfirst sync against the real Nextcloud:\n" + council.first)
    assert "ERROR" not in council.first and "problem" not in council.first, council.first
    assert "bewerbungen → nextcloud / Mentoring 10 – Beirat: 40 create" in council.first
    cards = council.cards(APPLICATIONS)
    assert len(cards) == 40 and all("cohort-connector: `" in c["description"] for c in cards)
    assert council.site.acl(APPLICATIONS) == [(1, "beirat")]
    tasks = council.cards(TASKS)
    assigned = {u["participant"]["uid"] for c in tasks for u in c["assignedUsers"] or []}
    assert assigned and all(u.startswith(("beirat-", "stiwl")) for u in assigned)


def test_the_council_works_on_its_boards_and_one_pass_reconciles_it(council: Council) -> None:
    site = council.site
    carol, bob = Person(site, "carol"), Person(site, "bob")
    apps, tasks = council.links("bewerbungen"), council.links("beirat-aufgaben")
    app_board, task_board = site.board_id(APPLICATIONS), site.board_id(TASKS)
    by_card = {int(card): uid for uid, card in apps.items()}
    app_cards = {c["id"]: c for c in council.cards(APPLICATIONS)}
    received = [i for i, c in app_cards.items() if c["stack"] == "Bewerbungen" and i in by_card]
    moved, contested = received[0], received[1]
    open_tasks = [c for c in council.cards(TASKS) if c["stack"] == "Offen" and not c["archived"]]
    task_uid = {int(card): uid for uid, card in tasks.items()}
    retitled, deleted, archived, by_bob = (c["id"] for c in open_tasks[:4])
    assert {retitled, deleted, archived, by_bob} <= task_uid.keys()

    # the council's edits
    carol.move(app_board, moved, site.stack_id(APPLICATIONS, "Ausgewählt"))
    carol.edit(
        task_board, retitled, title="Raumbuchung klären", duedate="2026-05-05T10:00:00+00:00"
    )
    intake = site.stack_id(APPLICATIONS, "Bewerbungen")
    carol("POST", f"/boards/{app_board}/stacks/{intake}/cards", {"title": "Nachzüglerin (Laer)"})
    offen = site.stack_id(TASKS, "Offen")
    made = carol("POST", f"/boards/{task_board}/stacks/{offen}/cards",
                 {"title": "Catering anfragen", "description": "für 40 Personen"})  # fmt: skip
    carol("DELETE", f"/boards/{task_board}/stacks/0/cards/{deleted}")
    carol.edit(task_board, archived, archived=True)
    bob.edit(task_board, by_bob, description="Bob: erledige ich bis Freitag")
    # the same field on both sides: the council moves the card, the coordinator declines
    carol.move(app_board, contested, site.stack_id(APPLICATIONS, "Vorgestellt"))
    with Store.open(council.store_path) as store:
        store.put(store.get(by_card[contested]).touched(status="declined"))
    site.tick()

    output = council.sync(code=7)
    print("\nthe pass after the council's edits:\n" + output)
    assert council.entity(by_card[moved]).status == "selected"
    assert council.entity(task_uid[retitled]).title == "Raumbuchung klären"
    assert council.entity(task_uid[retitled]).due == date(2026, 5, 5)
    assert council.entity(task_uid[by_bob]).notes.startswith("Bob: erledige ich bis Freitag")
    imported = [
        uid for uid, card in council.links("beirat-aufgaben").items() if card == str(made["id"])
    ]
    assert imported and council.entity(imported[0]).title == "Catering anfragen"
    with Store.open(council.store_path) as store:
        assert store.is_deleted(task_uid[deleted])
        [conflict] = store.conflicts()
    assert (conflict.uid, conflict.field) == (by_card[contested], "stack")
    assert council.entity(by_card[contested]).status == "declined", "parked, not overwritten"
    assert site.card(app_board, contested)["stackId"] == site.stack_id(APPLICATIONS, "Vorgestellt")
    assert council.entity(task_uid[archived]) is not None, "an archived card is no deletion"

    # nothing duplicated: one card per linked record, plus the hand-made intake card
    titles = [c["title"] for c in council.cards(APPLICATIONS)]
    assert len(titles) == 41 and titles.count("Nachzüglerin (Laer)") == 1
    task_cards = council.cards(TASKS)
    markers = [
        m for c in task_cards if (m := re.search(r"cohort-connector: `([^`]+)`", c["description"]))
    ]
    assert len({m[1] for m in markers}) == len(markers), "a task got two cards"
    assert [c["title"] for c in task_cards].count("Catering anfragen") == 1

    # settle (a pass that wrote re-reads what it wrote), then a quiet pass
    for _ in range(3):
        site.tick()
        if all(" create" not in line and " update" not in line
               for line in council.sync(code=7).splitlines() if " → " in line):  # fmt: skip
            break
    site.tick()
    mark = council.nc.mark()
    quiet = council.sync(code=7)
    served = council.nc.requests_since(mark)
    counts = requests_per_rule(quiet)
    print("\nquiet pass:\n" + quiet + f"\nrequests on the access log: {served}")
    # One request for the whole target: the board list, read once per pass (answered 304).
    assert sum(counts[rule] for rule in DECK_RULES) == 1, quiet
    assert len(served) == 1, served
    assert all(m == "GET" and p.endswith("/boards") for _, m, p in served)
