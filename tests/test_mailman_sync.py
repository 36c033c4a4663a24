"""The engine syncing a cohort's mentee list onto a REAL GNU Mailman 3 core (one per module).

The rule under test is the shipped ``liste-mentees`` rule of
``mappings/muensterland-mentoring.toml`` (filter roles/consent_lists, ``key = "email"``,
``on_remote_delete = "opt_out"``, email and display-name template out), pointed at the
harness and at a list address of its own per test. Members are changed behind the
connector's back through Mailman's REST API, as a member or the list owner would.
"""

from __future__ import annotations

import copy
import json
import tomllib
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from connector.base import Collection, Target
from connector.mailman import MailmanTarget
from connector.testing.mailman_server import MailmanInstance, mailman_server
from mappings.load import load_mapping
from mappings.schema import MappingFile, options_of
from sync import integrity
from sync.engine import Options, RuleResult
from sync.errors import GuardTripped
from sync.factory import build_engine
from sync.model import Application, ApplicationStatus, Person, Role
from sync.store import Store
from sync.targets import build_targets
from tests.conftest import ROOT, run_connector, write_csv
from tests.factories import cohort_10
from tests.test_mailman import Admin

DOMAIN = "mentoring.example.org"
RULE = "liste-mentees"
KEY = f"mim-10:{RULE}"
TODAY = date(2025, 10, 1)
PASSWORD_ENV = "MAILMAN_TEST_PASSWORD"
NAMES = [
    ("Anna", "Beispiel"),
    ("Bernd", "Muster"),
    ("Carla", "Probe"),
    ("Dirk", "Demo"),
    ("Emma", "Exempel"),
    ("Felix", "Fiktiv"),
]


# -- the real Mailman and raw access to it ------------------------------------------------


@pytest.fixture(scope="module")
def mailman(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailmanInstance]:
    with mailman_server(tmp_path_factory.mktemp("mailman")) as instance:
        yield instance


class ListAdmin(Admin):
    """The shared raw-REST helper, plus the list views these tests need."""

    def members(self, address: str) -> dict[str, dict[str, Any]]:
        """{email: member entry} of the list's regular members (failing on duplicates)."""
        list_id = address.replace("@", ".")
        entries = self.json(f"/lists/{list_id}/roster/member").get("entries", [])
        emails = [str(e["email"]).lower() for e in entries]
        assert len(emails) == len(set(emails)), f"duplicate members on {address}: {emails}"
        return {str(e["email"]).lower(): e for e in entries}

    def unsubscribe_as_member(self, member_id: str) -> None:
        """What the member's own "leave the list" does: DELETE of their membership."""
        self("DELETE", f"/members/{member_id}", data={"pre_confirmed": "true"})

    def queued(self, queue: str) -> list[str]:
        return list(self.json(f"/queues/{queue}")["files"])


@pytest.fixture
def admin(mailman: MailmanInstance) -> Iterator[ListAdmin]:
    raw = ListAdmin(mailman)
    yield raw
    raw.session.close()


# -- the cohort and the mapping -----------------------------------------------------------


def shipped_rule(address: str) -> dict[str, Any]:
    """The shipped ``liste-mentees`` rule, moved to ``address``."""
    with (ROOT / "mappings" / "muensterland-mentoring.toml").open("rb") as shipped:
        data = tomllib.load(shipped)
    [rule] = [dict(copy.deepcopy(r)) for r in data["rules"] if r["name"] == RULE]
    assert rule["key"] == "email" and rule["on_remote_delete"] == "opt_out"
    rule["list"]["address"] = address
    return rule


def list_mapping(instance: MailmanInstance, address: str) -> MappingFile:
    return MappingFile.model_validate(
        {
            "name": "Mentoring 10 (Mailman test)",
            "programme": "mim",
            "cohort": "mim-10",
            "targets": {
                "listen": {
                    "kind": "mailman",
                    "url": instance.url,
                    "user": instance.user,
                    "secret": {"env": PASSWORD_ENV},
                    "audience": "participants",
                }
            },
            "rules": [shipped_rule(address)],
        }
    )


class World:
    """A store with cohort 10 and its mentees, and an engine for the list ``address``."""

    def __init__(self, store: Store, instance: MailmanInstance, address: str, tag: str) -> None:
        self.store, self.address, self.tag = store, address, tag
        self.mapping = list_mapping(instance, address)
        # The password reaches the adapter the way `prepare` does it: a secret callable.
        self.targets: dict[str, Target] = build_targets(
            self.mapping, lambda spec: instance.password
        )
        store.put(cohort_10(reveal_on=date(2026, 3, 10)))
        self.mentees = [self.person(f"p-{i}", given, family) for i, (given, family) in
                        enumerate(NAMES)]  # fmt: skip

    def person(self, uid: str, given: str, family: str, **extra: Any) -> Person:
        fields: dict[str, Any] = {
            "given_name": given,
            "family_name": family,
            "email": f"{given.lower()}.{family.lower()}-{self.tag}@greven.example",
            "roles": {Role.MENTEE},
            "cohorts": {"mim-10"},
            "consent_lists": True,
        }
        fields.update(extra)
        person = Person(uid=uid, **fields)
        self.store.put(person)
        return person

    @property
    def target(self) -> MailmanTarget:
        target = self.targets["listen"]
        assert isinstance(target, MailmanTarget)
        return target

    @property
    def collection(self) -> Collection:
        return Collection(self.address, options_of(self.mapping.rules[0]))

    def sync(self, **options: Any) -> RuleResult:
        engine = build_engine(
            self.store,
            self.mapping,
            self.targets,
            Options(today=TODAY, **options),
        )
        [result] = engine.sync()
        return result

    def get_person(self, uid: str) -> Person:
        person = self.store.get(uid)
        assert isinstance(person, Person)
        return person

    def close(self) -> None:
        for target in self.targets.values():
            target.close()


@pytest.fixture
def world(store: Store, mailman: MailmanInstance) -> Iterator[World]:
    tag = uuid.uuid4().hex[:8]
    built = World(store, mailman, f"mentees-{tag}@{DOMAIN}", tag)
    yield built
    built.close()


def emails(people: list[Person]) -> set[str]:
    return {p.email for p in people}


# -- 1. opt-out ---------------------------------------------------------------------------


def test_a_member_who_leaves_stays_off_and_the_person_records_the_opt_out(
    world: World, admin: ListAdmin
) -> None:
    world.person("p-mentor", "Otto", "Mentor", roles={Role.MENTOR})
    world.person("p-noconsent", "Nora", "Ohne", consent_lists=False)

    first = world.sync()
    assert first.error is None and first.problems == []
    assert first.counts == {"create": 6}
    members = admin.members(world.address)
    assert set(members) == emails(world.mentees)
    assert {m["display_name"] for m in members.values()} == {
        f"{p.given_name} {p.family_name}" for p in world.mentees
    }

    leaving = world.mentees[2]
    others = {e: (m["member_id"], m["http_etag"]) for e, m in members.items() if e != leaving.email}
    admin.unsubscribe_as_member(str(members[leaving.email]["member_id"]))

    passes = [world.sync(), world.sync()]
    assert [r.error for r in passes] == [None, None]
    assert [r.counts for r in passes] == [{"opt_out": 1}, {}]
    after = admin.members(world.address)
    assert leaving.email not in after
    assert world.address in world.get_person(leaving.uid).opt_outs
    assert leaving.uid not in world.store.links(KEY)

    third = world.sync()
    assert third.error is None and third.counts == {}
    final = admin.members(world.address)
    assert leaving.email not in final
    assert {e: (m["member_id"], m["http_etag"]) for e, m in final.items()} == others
    for person in world.mentees:
        if person.uid != leaving.uid:
            assert world.get_person(person.uid).opt_outs == set()


def test_a_reimport_with_an_empty_abgemeldet_cell_does_not_resubscribe(
    world: World, admin: ListAdmin, tmp_path: Path
) -> None:
    assert world.sync().counts == {"create": 6}
    leaving = world.mentees[3]
    admin.unsubscribe_as_member(str(admin.members(world.address)[leaving.email]["member_id"]))
    assert world.sync().counts == {"opt_out": 1}
    assert world.address in world.get_person(leaving.uid).opt_outs

    # The office sends its list again; nobody filled in the Abgemeldet column.
    header = ["Vorname", "Nachname", "E-Mail", "Rollen", "Durchgang", "Einwilligung Verteiler",
              "Abgemeldet"]  # fmt: skip
    rows = [[p.given_name, p.family_name, p.email, "Mentee", "mim-10", "ja", ""]
            for p in world.mentees]  # fmt: skip
    path = write_csv(tmp_path / "people.csv", header, rows, encoding="cp1252", delimiter=";")
    imported = run_connector("--store", str(world.store.path), "import", "people", str(path))
    assert imported.returncode == 0, imported.stderr
    assert "person: 0 created, 0 updated, 6 unchanged" in imported.stdout
    assert world.address in world.get_person(leaving.uid).opt_outs

    result = world.sync()
    assert result.error is None and result.counts == {}, result.summary()
    assert leaving.email not in admin.members(world.address)
    assert len(admin.members(world.address)) == 5

    # The person asks to be on the list again: only the explicit command brings them back.
    store = str(world.store.path)
    lifted = run_connector("--store", store, "person", "opt-in", leaving.email, world.address)
    assert lifted.returncode == 0, lifted.stderr
    assert world.sync().counts == {"create": 1}
    assert set(admin.members(world.address)) == emails(world.mentees)


# -- 2. address change --------------------------------------------------------------------


def test_an_address_change_moves_the_membership_with_its_preferences(
    world: World, admin: ListAdmin
) -> None:
    assert world.sync().counts == {"create": 6}
    anna = world.mentees[0]
    member = admin.members(world.address)[anna.email]
    member_id = str(member["member_id"])
    admin("PATCH", f"/members/{member_id}", data={"delivery_mode": "plaintext_digests"})
    virgin = admin.queued("virgin")

    new = f"anna.beispiel-{world.tag}@rheine.example"
    world.store.put(world.get_person(anna.uid).touched(email=new))
    result = world.sync()

    assert result.error is None and result.problems == []
    assert result.counts == {"update": 1}, result.summary()
    members = admin.members(world.address)
    assert anna.email not in members and len(members) == 6
    assert str(members[new]["member_id"]) == member_id
    assert members[new]["display_name"] == "Anna Beispiel"
    assert world.store.links(KEY)[anna.uid].remote_id == member_id
    prefs = admin.json(f"/members/{member_id}/all/preferences")
    assert prefs["delivery_mode"] == "plaintext_digests"
    assert admin.queued("virgin") == virgin  # no goodbye, no welcome: nobody left or joined
    assert world.sync().counts == {}


# -- 3. display names ---------------------------------------------------------------------


def test_a_new_given_name_reaches_the_display_name(world: World, admin: ListAdmin) -> None:
    world.sync()
    bernd = world.mentees[1]
    member_id = str(admin.members(world.address)[bernd.email]["member_id"])

    world.store.put(world.get_person(bernd.uid).touched(given_name="Bernhard"))
    result = world.sync()

    assert result.error is None and result.counts == {"update": 1}, result.summary()
    member = admin.members(world.address)[bernd.email]
    assert str(member["member_id"]) == member_id
    assert member["display_name"] == "Bernhard Muster"
    assert admin.json(f"/addresses/{bernd.email}")["display_name"] == "Bernhard Muster"
    assert world.sync().counts == {}


# -- 4. withdrawn participants ------------------------------------------------------------


def test_a_withdrawn_mentee_is_removed_but_not_opted_out(world: World, admin: ListAdmin) -> None:
    for person in world.mentees:
        world.store.put(
            Application(
                uid=f"app-{person.uid}",
                cohort="mim-10",
                applicant=person.uid,
                status=ApplicationStatus.SELECTED,
            )
        )
    assert world.sync().counts == {"create": 6}
    carla = world.mentees[2]

    def decide(status: ApplicationStatus) -> None:
        application = world.store.get(f"app-{carla.uid}")
        assert isinstance(application, Application)
        decided = application.touched(status=status)
        world.store.put(decided)
        for follow_up in integrity.consequences(decided, world.store):
            world.store.put(follow_up)

    decide(ApplicationStatus.WITHDRAWN)
    assert Role.MENTEE not in world.get_person(carla.uid).roles
    result = world.sync()

    assert result.error is None and result.counts == {"delete": 1}, result.summary()
    assert set(admin.members(world.address)) == emails(world.mentees) - {carla.email}
    assert world.get_person(carla.uid).opt_outs == set()
    assert carla.uid not in world.store.links(KEY)
    assert world.sync().counts == {}

    # Removed by us, not by her choice: selected again, she is subscribed again.
    decide(ApplicationStatus.SELECTED)
    assert world.sync().counts == {"create": 1}
    assert set(admin.members(world.address)) == emails(world.mentees)


# -- 5. bounces ---------------------------------------------------------------------------


def test_a_bouncing_member_is_reported_not_removed(world: World, admin: ListAdmin) -> None:
    world.sync()
    emma = world.mentees[4]
    member_id = str(admin.members(world.address)[emma.email]["member_id"])
    admin("PATCH", f"/members/{member_id}/preferences", data={"delivery_status": "by_bounces"})

    for _ in range(2):
        result = world.sync()
        assert result.error is None and result.problems == []
        assert result.counts == {}, result.summary()
        assert [n for n in result.notes if emma.email in n and "by_bounces" in n], result.notes
        assert all(emma.email in n for n in result.notes), result.notes
        members = admin.members(world.address)
        assert set(members) == emails(world.mentees)
        assert str(members[emma.email]["member_id"]) == member_id
    assert world.get_person(emma.uid).opt_outs == set()
    assert world.store.links(KEY)[emma.uid].remote_id == member_id
    [recorded] = world.store.last_passes()
    [summary] = recorded["summary"]["rules"]
    assert any(emma.email in n for n in summary["notes"])


# -- 6. mass deletion ---------------------------------------------------------------------


def test_a_list_emptied_at_once_trips_the_guard_until_allowed(
    world: World, admin: ListAdmin
) -> None:
    assert world.sync().counts == {"create": 6}
    for member in admin.members(world.address).values():
        admin.unsubscribe_as_member(str(member["member_id"]))
    assert admin.members(world.address) == {}

    for _ in range(2):
        tripped = world.sync()
        assert isinstance(tripped.error, GuardTripped), tripped.summary()
        assert "6 of 6" in str(tripped.error)
        assert tripped.counts == {}
        assert admin.members(world.address) == {}
        assert len(world.store.links(KEY)) == 6
        for person in world.mentees:
            assert not world.store.is_deleted(person.uid)
            assert world.get_person(person.uid).opt_outs == set()

    allowed = world.sync(allow_mass_delete=frozenset({RULE}))
    assert allowed.error is None and allowed.counts == {"opt_out": 6}, allowed.summary()
    for person in world.mentees:
        assert world.get_person(person.uid).opt_outs == {world.address}
        assert not world.store.is_deleted(person.uid)
    assert world.store.links(KEY) == {}
    assert world.sync().counts == {}
    assert admin.members(world.address) == {}


# -- 7. crash between subscribe and link --------------------------------------------------


def crash_after_subscribe(world: World) -> tuple[Person, str]:
    """A seventh mentee whose subscription reached Mailman but whose link was never saved:
    what the applier leaves behind when the process dies between the write and the commit
    (journal entry begun, member subscribed, no link). Returns her and her member_id."""
    assert world.sync().counts == {"create": 6}
    gina = world.person("p-gina", "Gina", "Gast")
    fields = {"email": gina.email, "display_name": gina.name}
    world.store.journal_begin(KEY, gina.uid, "create", None, {"base": fields})
    written = world.target.create(world.collection, gina.uid, fields)
    assert gina.uid not in world.store.links(KEY)
    return gina, written.remote_id


def test_a_subscription_whose_link_was_lost_is_adopted_not_duplicated(
    world: World, admin: ListAdmin
) -> None:
    gina, member_id = crash_after_subscribe(world)

    result = world.sync()

    assert result.error is None and result.problems == [], result.summary()  # no 409
    assert "create" not in result.counts, result.summary()
    members = admin.members(world.address)  # fails on a duplicate
    assert set(members) == emails(world.mentees) | {gina.email}
    assert str(members[gina.email]["member_id"]) == member_id
    assert world.store.links(KEY)[gina.uid].remote_id == member_id
    assert world.sync().counts == {}
    assert len(admin.members(world.address)) == 7


def test_adopting_the_crashed_subscription_closes_its_journal_entry(world: World) -> None:
    gina, member_id = crash_after_subscribe(world)
    world.sync()
    assert world.store.links(KEY)[gina.uid].remote_id == member_id
    # Once the member is linked, the create is no longer a write in flight.
    assert [e for e in world.store.journal(KEY) if e.uid == gina.uid] == []


# -- 8. announce through the CLI ----------------------------------------------------------


def test_announce_previews_then_sends_through_the_real_cli(
    world: World, admin: ListAdmin, mailman: MailmanInstance, tmp_path: Path
) -> None:
    mapping_file = tmp_path / "mapping.toml"
    mapping_file.write_text(
        f"""\
name = "Mentoring 10 (CLI test)"
programme = "mim"
cohort = "mim-10"

[targets.listen]
kind = "mailman"
url = "{mailman.url}"
user = "{mailman.user}"
secret = {{ env = "{PASSWORD_ENV}" }}
verify_tls = false
audience = "participants"

[[rules]]
name = "{RULE}"
entity = "person"
target = "listen"
audience = "mentees"
filter = {{ roles = ["mentee"], consent_lists = true }}
key = "email"
on_remote_delete = "opt_out"

[rules.list]
address = "{world.address}"
display_name = "Mentees Durchgang 10"
description = "Verteiler für alle Mentees im Mentoring im Münsterland, Durchgang 10"
subject_prefix = "[Mentees 10] "
policies = {{ subscription_policy = "moderate", archive_policy = "private", advertised = false }}

[[rules.fields]]
remote = "email"
canonical = "email"
direction = "out"

[[rules.fields]]
remote = "display_name"
template = "{{given_name}} {{family_name}}"
direction = "out"
""",
        encoding="utf-8",
    )
    config = tmp_path / "connector.toml"
    config.write_text(f'store = "{world.store.path}"\nmappings = ["mapping.toml"]\n')
    assert load_mapping(mapping_file).rules[0].model_dump() == world.mapping.rules[0].model_dump()
    assert world.sync().counts == {"create": 6}
    bouncing = admin.members(world.address)[world.mentees[5].email]
    admin(
        "PATCH",
        f"/members/{bouncing['member_id']}/preferences",
        data={"delivery_status": "by_bounces"},
    )
    body = tmp_path / "body.txt"
    body.write_text("Liebe Mentees,\n\nder Startworkshop beginnt um 9 Uhr.\n", encoding="utf-8")
    subject = f"Startworkshop {uuid.uuid4().hex[:8]}"
    sender = world.mentees[0].email  # a member: the list accepts the post
    args = ["--config", str(config), "announce", world.address, "--subject", subject,
            "--body-file", str(body), "--sender", sender]  # fmt: skip
    env = {PASSWORD_ENV: mailman.password}
    before = admin.queued("in")

    preview = run_connector(*args, cwd=tmp_path, env=env)
    assert preview.returncode == 0, preview.stderr
    assert "PREVIEW" in preview.stdout and "SENT" not in preview.stdout
    assert f"To: {world.address} (5 members with delivery on)" in preview.stdout
    assert subject in preview.stdout and "Startworkshop beginnt" in preview.stdout
    assert admin.queued("in") == before

    as_json = run_connector(*args, "--json", cwd=tmp_path, env=env)
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert (data["dry_run"], data["recipients"], data["queue_file"]) == (True, 5, None)
    assert admin.queued("in") == before

    sent = run_connector(*args, "--send", cwd=tmp_path, env=env)
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.startswith("SENT") and "PREVIEW" not in sent.stdout
    queued = admin.queued("in")
    [new] = [name for name in queued if name not in before]
    assert queued == [*before, new]
    assert f"Queued by Mailman as {new}" in sent.stdout
    queue_dir = Path(admin.json("/queues/in")["directory"])
    message = (queue_dir / f"{new}.pck").read_bytes()
    assert subject.encode() in message and sender.encode() in message


# -- 9. addresses as offices write them ---------------------------------------------------


def test_a_mixed_case_address_settles_after_one_pass(world: World, admin: ListAdmin) -> None:
    """Municipal addresses are often written ``Vorname.Nachname@stadt.de``; Mailman keeps
    them lower-cased. The pass that subscribes them must be the last one to write."""
    hanna = world.person(
        "p-hanna", "Hanna", "Gross", email=f"Hanna.Gross-{world.tag}@Ahlen.example"
    )
    first = world.sync()
    assert first.error is None and first.problems == [], first.summary()
    assert first.counts.get("create") == 7
    assert hanna.email.lower() in admin.members(world.address)

    again = world.sync()
    assert again.error is None and again.counts == {}, again.summary()
    assert len(admin.members(world.address)) == 7
    assert first.counts == {"create": 7}
