"""`connector forget` end to end: the example cohort synced to the Deck double, a real
Radicale and a real Mailman; one person present on all of them is erased; every target, the
store file and the receipt are searched for their name and addresses. Also: a crash half-way
is finished by running `connector forget` again, and the retention rule of `--due`."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from connector.testing.calendar_servers import radicale_server
from connector.testing.deck_server import DeckServer
from connector.testing.mailman_server import mailman_server
from sync.config import resolve_config
from sync.erasure import erase, receipts
from sync.erasure_plan import begin, pending
from sync.erasure_retention import due
from sync.model import Application, ApplicationStatus, Cohort, Person, Task
from sync.runner import prepare
from sync.store import Store
from tests.factories import IMPORT_ORDER
from tests.test_example_sync import EXAMPLE, council_accounts, run

NAME = "Mareike Böckenholt"
OLD = "mareike.boeckenholt@buende.example"
NEW = "m.boeckenholt@buende.example"


#: The shipped mapping puts nobody's address on a calendar; these rules do (tandem meetings
#: after the reveal, and the start workshop with its attendees), so the person is on all
#: three kinds of target.
EXTRA_RULES = """

[[rules]]
name = "tandem-termine"
entity = "event"
target = "kalender"
audience = "mentees"
filter = { event_kind = "tandem_meeting" }

[rules.calendar]
calendar = "mim-10-tandems"
display_name = "Tandemtreffen"

[[rules.fields]]
remote = "summary"
template = "{title}: {tandem.mentee.name} und {tandem.mentor.name}"
direction = "out"

[[rules.fields]]
remote = "start"
canonical = "start"

[[rules.fields]]
remote = "end"
canonical = "end"

[[rules.fields]]
remote = "attendees"
canonical = "attendee_emails"
direction = "out"

[[rules]]
name = "startworkshop"
entity = "event"
target = "kalender"
audience = "mentees"
filter = { event_kind = "start_workshop" }

[rules.calendar]
calendar = "mim-10-start"
display_name = "Startworkshop"

[[rules.fields]]
remote = "summary"
canonical = "title"
direction = "out"

[[rules.fields]]
remote = "start"
canonical = "start"

[[rules.fields]]
remote = "end"
canonical = "end"

[[rules.fields]]
remote = "attendees"
canonical = "attendee_emails"
direction = "out"
"""


@dataclass
class World:
    env: dict[str, str]
    store: Path
    deck: DeckServer
    radicale_dir: Path
    mailman_url: str
    mailman_auth: tuple[str, str]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("forget")
    deck_password, mailman_password = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    env = {
        **os.environ,
        "DECK_APP_PASSWORD": deck_password,
        "CALDAV_PASSWORD": "x",
        "MAILMAN_REST_PASSWORD": mailman_password,
        "CONNECTOR_CONFIG": str(tmp / "work" / "connector.toml"),
    }
    run(env, "init", str(tmp / "work"))
    for kind in IMPORT_ORDER:
        run(env, "import", kind, str(EXAMPLE / f"{kind}.csv"))
    store = tmp / "work" / "cohort.db"
    council = council_accounts(store)
    users = {"admin": deck_password, **{user: "x" for user in council}}
    with (
        DeckServer(users, {"beirat": council}) as deck,
        radicale_server(tmp / "radicale") as radicale,
        mailman_server(tmp / "mailman", user="restadmin", password=mailman_password) as mailman,
    ):
        mapping = tmp / "work" / "mapping.toml"
        text = mapping.read_text(encoding="utf-8")
        text = text.replace("http://127.0.0.1:8081", deck.url)
        text = text.replace("http://127.0.0.1:5232/", radicale.url)
        text = text.replace("http://127.0.0.1:8001", mailman.url)
        mapping.write_text(text + EXTRA_RULES, encoding="utf-8")
        run(env, "sync")
        yield World(
            env, store, deck, tmp / "radicale", mailman.url, ("restadmin", mailman_password)
        )


def _terms(*emails: str, name: str = NAME) -> list[str]:
    terms = [name, *emails]
    return terms + [t.encode("unicode_escape").decode() for t in terms if not t.isascii()]


def deck_findings(world: World, terms: list[str]) -> list[str]:
    """Every place in the Deck double's state (deleted cards too) that holds a term."""
    state = world.deck.state
    found = []
    for card in state.cards.values():
        for attr in ("title", "description", "description_prev"):
            value = getattr(card, attr) or ""
            if any(t.lower() in value.lower() for t in terms):
                found.append(f"card {card.id}.{attr}")
    for comment in state.comments.values():
        if any(t.lower() in comment.message.lower() for t in terms):
            found.append(f"comment {comment.id}")
    return found


def radicale_findings(world: World, terms: list[str]) -> list[str]:
    found = []
    for path in world.radicale_dir.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", "replace").replace("\r\n ", "")
            if any(t.lower() in text.lower() for t in terms):
                found.append(str(path.relative_to(world.radicale_dir)))
    return found


def mailman_findings(world: World, terms: list[str]) -> list[str]:
    found = []
    for resource in ("addresses", "users", "members"):
        response = requests.get(
            f"{world.mailman_url}/3.1/{resource}", auth=world.mailman_auth, timeout=30
        )
        response.raise_for_status()
        text = response.text
        found += [f"{resource}: {t}" for t in terms if t.lower() in text.lower()]
    return found


def store_findings(world: World, terms: list[str]) -> list[str]:
    found = []
    for path in world.store.parent.glob(world.store.name + "*"):
        data = path.read_bytes()
        for term in terms:
            if term.encode("utf-8").lower() in data.lower():
                found.append(f"{path.name}: {term}")
    return found


def test_forget_removes_a_person_from_every_target(world: World) -> None:
    terms = _terms(OLD, NEW)
    # She is on every target before: her application card, the tandem card, calendars
    # (attendee, tandem meetings) and lists.
    assert deck_findings(world, terms) and radicale_findings(world, terms)
    assert mailman_findings(world, terms)
    # A changed address: Mailman moves her memberships and keeps the old address on her user.
    with Store.open(world.store) as store:
        person = next(
            p for p in store.entities("person") if isinstance(p, Person) and p.email == OLD
        )
        store.put(person.touched(email=NEW))
    run(world.env, "sync")
    assert any(OLD in f for f in mailman_findings(world, [OLD]))

    preview = run(world.env, "forget", NEW, "--dry-run")
    assert preview.startswith(f"would erase {NAME}")
    assert mailman_findings(world, terms)  # a dry run deletes nothing

    done = run(world.env, "forget", NEW, "--json")
    [receipt] = json.loads(done)["receipts"]
    assert receipt["records"] == {"person": 1, "application": 1, "tandem": 1, "event": 2}
    deck_target = receipt["targets"]["mim-10/nextcloud"]
    assert deck_target["cards overwritten"] == deck_target["cards deleted"] == 2
    assert receipt["targets"]["mim-10/kalender"] == {"events deleted": 2}
    assert receipt["targets"]["mim-10/listen"]["memberships deleted"] == 3
    assert receipt["targets"]["mim-10/listen"]["addresses deleted"] == 2  # old and new

    assert mailman_findings(world, terms) == []
    assert radicale_findings(world, terms) == []
    assert store_findings(world, terms) == []
    # Deck keeps deleted cards: their title and description were overwritten first. What
    # remains is Deck's own "description before the first edit" (descriptionPrev), which no
    # API call can clear for the connector's user (see the README).
    leftovers = deck_findings(world, terms)
    assert all(f.endswith(".description_prev") for f in leftovers), leftovers
    deleted = [c for c in world.deck.state.cards.values() if c.title == "Gelöscht"]
    assert len(deleted) == 2 and all(c.deleted_at for c in deleted)
    # Only the connector's marker (the record's uid, no personal data) is left in them.
    assert all(c.description.strip().startswith("---") or not c.description for c in deleted), [
        c.description for c in deleted
    ]
    assert {f.split(".")[0] for f in leftovers} <= {f"card {c.id}" for c in deleted}

    with Store.open(world.store) as store:
        stored = receipts(store)
        assert pending(store) == []
    text = json.dumps(stored, ensure_ascii=False)
    assert stored and not any(t.lower() in text.lower() for t in [*terms, "boeckenholt"])
    assert person.uid not in text
    # Nothing is left to sync afterwards: the platforms agree with the store.
    quiet = run(world.env, "sync")
    assert "problem" not in quiet and "ERROR" not in quiet, quiet


def test_reimporting_the_old_files_does_not_bring_her_back(world: World) -> None:
    """After the test above: the example's files still hold her under her old address (only
    Mailman still knew it); she is left out, and the store still names her nowhere."""
    for kind in ("people", "applications", "tandems"):
        out = run(world.env, "import", kind, str(EXAMPLE / f"{kind}.csv"))
        assert "was erased on" in out and " created" in out, out
        assert f"{kind}.csv:" in out
    assert "person: 0 created" in run(world.env, "import", "people", str(EXAMPLE / "people.csv"))
    with Store.open(world.store) as store:
        assert not any(
            p.email in (OLD, NEW) for p in store.entities("person") if isinstance(p, Person)
        )
        [(kept,)] = store.db.execute("SELECT count(*) FROM erased_addresses").fetchall()
    assert kept == 2  # her new address and the old one from her Mailman user
    assert store_findings(world, _terms(OLD, NEW)) == []
    quiet = run(world.env, "sync")
    assert "problem" not in quiet and "ERROR" not in quiet, quiet
    assert mailman_findings(world, _terms(OLD, NEW)) == []


def test_a_crash_half_way_is_finished_by_running_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    email = "cem.tueshaus@duelmen.example"
    for key in ("DECK_APP_PASSWORD", "CALDAV_PASSWORD", "MAILMAN_REST_PASSWORD"):
        monkeypatch.setenv(key, world.env[key])
    config = resolve_config(Path(world.env["CONNECTOR_CONFIG"]), None)
    with Store.open(world.store) as store:
        engines = prepare(config, store).engines
        plan = begin(store, email)

        def crash() -> list[str]:
            raise KeyboardInterrupt  # the process dies after the targets and the store

        with pytest.raises(KeyboardInterrupt):
            erase(store, plan, engines, crash)
        [left] = pending(store)
        assert left.done == ["targets", "store"]
    assert mailman_findings(world, [email])  # the Mailman user is not gone yet
    finished = run(world.env, "forget")
    assert "finishing the erasure started earlier (targets, store done)" in finished
    assert mailman_findings(world, [email]) == []
    assert radicale_findings(world, _terms(email, name="Cem Tüshaus")) == []
    with Store.open(world.store) as store:
        assert pending(store) == []
    again = run(world.env, "forget", "--json") if False else None
    assert again is None


def test_retention_lists_and_erases_applicants_not_selected(world: World) -> None:
    with Store.open(world.store) as store:
        gone = [
            a
            for a in store.entities("application")
            if isinstance(a, Application)
            and a.status in (ApplicationStatus.DECLINED, ApplicationStatus.WITHDRAWN)
        ]
        assert gone
        first_day = max(a.updated_at.date() for a in gone) + timedelta(days=181)
        # mim keeps the data of applicants not selected for 180 days (programmes.csv).
        assert due(store, first_day - timedelta(days=2)) == []
        listed = due(store, first_day)
        assert {d.person for d in listed} == {a.applicant for a in gone}
    today = first_day.isoformat()
    shown = run(world.env, "forget", "--due", "--today", today)
    assert shown.splitlines()[0] == (
        f"{len(listed)} applicants not selected are past their retention period:"
    )
    assert shown.splitlines()[-1] == "add --yes to erase them"
    with Store.open(world.store) as store:
        assert all(store.get(d.person) is not None for d in listed)  # listing only
    erased = json.loads(run(world.env, "forget", "--due", "--yes", "--today", today, "--json"))
    assert len(erased["receipts"]) == len(listed)
    # Their application cards are many of the board: the guard would stop a sync here.
    [mass] = erased["past_the_guard"]
    assert mass["rule"] == "mim-10:bewerbungen" and mass["lost"] == len(listed)
    with Store.open(world.store) as store:
        assert all(store.get(d.person) is None for d in listed)
        assert due(store, first_day) == []
    for d in listed:
        assert mailman_findings(world, [d.email]) == []


def test_forget_unknown_person_is_input_error(world: World) -> None:
    from tests.conftest import run_connector

    done = run_connector("forget", "niemand@example.org", env=world.env)
    assert done.returncode == 3
    assert done.stderr.startswith("error: there is no person with uid or e-mail")


def test_a_council_member_leaves_tasks_unassigned_and_the_council(world: World) -> None:
    email = "pia.hessing@greven.example"
    state = world.deck.state
    card = next(
        c
        for c in state.cards.values()
        if c.title == "Profilbögen der eigenen Kommune sichten" and not c.deleted_at
    )

    def assigned() -> set[str]:
        return {a.participant for a in state.assignments.values() if a.card_id == card.id}

    assert "beirat-greven" in assigned()
    done = json.loads(run(world.env, "forget", email, "--json"))
    assert done["receipts"][0]["records"]["task (unassigned)"] == 1
    assert not card.deleted_at and "beirat-greven" not in assigned()  # the task stays
    with Store.open(world.store) as store:
        cohort = store.get("mim-10")
        assert isinstance(cohort, Cohort) and len(cohort.council) == 20  # one seat fewer
        assert all(store.get(uid) is not None for uid in cohort.council)
        [task] = [
            t for t in store.entities("task") if isinstance(t, Task) and t.title == card.title
        ]
        assert task.assignee is None
    assert mailman_findings(world, [email, "Pia Hessing"]) == []
