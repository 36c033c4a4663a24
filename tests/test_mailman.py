"""The Mailman adapter against a real GNU Mailman 3.3 core (REST runner only, one per module)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from connector import mailman_api
from connector.base import Collection, Target
from connector.errors import CredentialsError, Fatal, NotFound, RecordRejected
from connector.mailman import MailmanTarget
from connector.testing.mailman_server import MailmanHarnessError, MailmanInstance, mailman_server
from tests.contract import Samples as SampleFn
from tests.contract import TargetContract

DOMAIN = "mentoring.example.org"


class SampleSet:
    """Distinct members; ``edit`` renames one."""

    def __call__(self, i: int) -> dict[str, Any]:
        return {"email": f"person{i}@example.org", "display_name": f"Person {i}"}

    def edit(self, fields: dict[str, Any]) -> dict[str, Any]:
        return {"display_name": f"{fields['display_name']} (edited)"}


class Admin:
    """Raw REST calls, playing a list member or the list owner behind the adapter's back."""

    def __init__(self, instance: MailmanInstance) -> None:
        self.base = f"{instance.url}/3.1"
        self.session = requests.Session()
        self.session.auth = (instance.user, instance.password)

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self.session.request(method, f"{self.base}{path}", timeout=30, **kwargs)
        assert response.status_code < 300, (method, path, response.status_code, response.text)
        return response

    def json(self, path: str) -> dict[str, Any]:
        body: dict[str, Any] = self("GET", path).json()
        return body

    def queued(self, queue: str) -> list[str]:
        return list(self.json(f"/queues/{queue}")["files"])


@pytest.fixture(scope="module")
def mailman(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailmanInstance]:
    with mailman_server(tmp_path_factory.mktemp("mailman")) as instance:
        yield instance


@pytest.fixture
def admin(mailman: MailmanInstance) -> Admin:
    return Admin(mailman)


@pytest.fixture
def target(mailman: MailmanInstance) -> Iterator[MailmanTarget]:
    adapter = MailmanTarget(mailman.url, mailman.user, mailman.password)
    yield adapter
    adapter.close()


@pytest.fixture
def collection() -> Collection:
    return Collection(f"list-{uuid.uuid4().hex[:10]}@{DOMAIN}", {"display_name": "Test list"})


@pytest.fixture
def samples() -> SampleSet:
    return SampleSet()


def list_id(collection: Collection) -> str:
    return collection.name.replace("@", ".")


class TestMailmanContract(TargetContract):
    conditional_writes = False
    has_markers = False

    def test_stale_etag_is_refused(
        self, target: Target, collection: Collection, samples: SampleFn
    ) -> None:
        """Mailman has no conditional writes: the last writer wins whatever etag it sends,
        but an update of a member who left raises NotFound instead of re-subscribing."""
        target.open(collection)
        created = target.create(collection, "contract-1", samples(1))
        target.update(collection, created.remote_id, {"display_name": "P1"}, created.etag)
        later = target.update(collection, created.remote_id, {"display_name": "P2"}, created.etag)
        assert later.fields["display_name"] == "P2"
        target.delete(collection, created.remote_id, later.etag)
        with pytest.raises(NotFound):
            target.update(collection, created.remote_id, {"display_name": "P3"}, later.etag)
        assert target.changes(collection, None).records == []


POLICIES = {
    "subscription_policy": "moderate",
    "archive_policy": "private",
    "default_member_action": "hold",
    "advertised": False,
}


def test_open_creates_the_list_with_its_settings_once(
    target: MailmanTarget, admin: Admin, samples: SampleSet
) -> None:
    options = {
        "display_name": "Mentees 10",
        "description": "Mentees of cohort 10",
        "subject_prefix": "[Mentees 10] ",
        "policies": POLICIES,
    }
    collection = Collection(f"mentees-{uuid.uuid4().hex[:6]}@{DOMAIN}", options)
    target.open(collection)
    config = admin.json(f"/lists/{list_id(collection)}/config")
    assert {k: config[k] for k in ("display_name", "description", "subject_prefix")} == {
        k: options[k] for k in ("display_name", "description", "subject_prefix")
    }
    assert {k: config[k] for k in POLICIES} == POLICIES
    member = target.create(collection, "u1", samples(1))
    changed = Collection(collection.name, {"display_name": "Other", "policies": {}})
    target.open(changed)
    target.open(changed)
    again = admin.json(f"/lists/{list_id(collection)}/config")
    assert again["display_name"] == "Mentees 10" and again["subscription_policy"] == "moderate"
    assert [r.remote_id for r in target.changes(collection, None).records] == [member.remote_id]


def test_open_with_refused_settings_leaves_no_list(target: MailmanTarget, admin: Admin) -> None:
    bad = Collection(f"bad-{uuid.uuid4().hex[:6]}@{DOMAIN}", {"policies": {"archive_policy": "x"}})
    with pytest.raises(Fatal, match="archive_policy"):
        target.open(bad)
    assert admin.session.get(f"{admin.base}/lists/{bad.name}").status_code == 404
    with pytest.raises(Fatal, match="not a mailing list address"):
        target.open(Collection("no-at-sign"))


def test_subscribing_a_member_again_adopts_it(
    target: MailmanTarget, admin: Admin, collection: Collection
) -> None:
    target.open(collection)
    admin(
        "POST", "/members",
        data={"list_id": list_id(collection), "subscriber": "anna@example.org",
              "display_name": "Anna by hand", "pre_verified": "true",
              "pre_confirmed": "true", "pre_approved": "true"},
    )  # fmt: skip
    [by_hand] = target.changes(collection, None).records
    adopted = target.create(collection, "uid-anna", {"email": "Anna@Example.org"})
    again = target.create(collection, "uid-anna", {"email": "anna@example.org"})
    assert adopted.remote_id == again.remote_id == by_hand.remote_id
    assert adopted.fields["display_name"] == "Anna by hand"
    assert len(target.changes(collection, None).records) == 1


def test_address_change_keeps_the_membership_and_its_preferences(
    target: MailmanTarget, admin: Admin, collection: Collection
) -> None:
    target.open(collection)
    created = target.create(collection, "u", {"email": "berta@example.org", "display_name": "B"})
    admin("PATCH", f"/members/{created.remote_id}", data={"delivery_mode": "plaintext_digests"})
    moved = target.update(collection, created.remote_id, {"email": "berta@new.example.org"}, None)
    assert moved.remote_id == created.remote_id
    assert moved.fields == {**created.fields, "email": "berta@new.example.org"}
    prefs = admin.json(f"/members/{created.remote_id}/all/preferences")
    assert prefs["delivery_mode"] == "plaintext_digests"
    [listed] = target.changes(collection, None).records
    assert listed.remote_id == created.remote_id and listed.fields["email"] == moved.fields["email"]
    back = target.update(
        collection, created.remote_id, {"email": "berta@example.org", "display_name": "Berta"}, None
    )
    assert back.fields["email"] == "berta@example.org" and back.fields["display_name"] == "Berta"


def test_address_change_onto_another_member_is_rejected(
    target: MailmanTarget, collection: Collection, samples: SampleSet
) -> None:
    target.open(collection)
    one = target.create(collection, "u1", samples(1))
    target.create(collection, "u2", samples(2))
    with pytest.raises(RecordRejected, match=r"person2@example\.org"):
        target.update(collection, one.remote_id, {"email": "person2@example.org"}, None)
    with pytest.raises(RecordRejected, match="delivery_status"):
        target.update(collection, one.remote_id, {"delivery_status": "enabled"}, None)


@pytest.mark.parametrize("lookups", [25, 0], ids=["per-member", "status-queries"])
def test_members_with_delivery_off_are_reported_not_removed(
    target: MailmanTarget,
    admin: Admin,
    collection: Collection,
    samples: SampleSet,
    monkeypatch: pytest.MonkeyPatch,
    lookups: int,
) -> None:
    monkeypatch.setattr(mailman_api, "PER_MEMBER_LOOKUPS", lookups)
    target.open(collection)
    bouncing, disabled, enabled = (target.create(collection, f"u{i}", samples(i)) for i in range(3))
    assert bouncing.fields["delivery_status"] == "enabled"
    for member, status in ((bouncing, "by_bounces"), (disabled, "by_moderator")):
        path = f"/members/{member.remote_id}/preferences"
        admin("PATCH", path, data={"delivery_status": status})
    listed = {r.remote_id: r for r in target.changes(collection, None).records}
    assert {k: r.fields["delivery_status"] for k, r in listed.items()} == {
        bouncing.remote_id: "by_bounces",
        disabled.remote_id: "by_moderator",
        enabled.remote_id: "enabled",
    }
    assert listed[bouncing.remote_id].hash != bouncing.hash
    assert target.get(collection, bouncing.remote_id).fields["delivery_status"] == "by_bounces"


def test_a_long_list_is_listed_completely_across_pages(
    mailman: MailmanInstance, collection: Collection
) -> None:
    small = MailmanTarget(mailman.url, mailman.user, mailman.password, page_size=2)
    small.open(collection)
    ids = {
        small.create(collection, f"u{i}", {"email": f"page{i}@example.org"}).remote_id
        for i in range(7)
    }
    small.reset_stats()
    listing = small.changes(collection, None)
    assert listing.complete and {r.remote_id for r in listing.records} == ids
    assert small.requests >= 4  # four roster pages, plus the disabled-delivery queries
    small.close()


def test_a_banned_address_is_rejected_by_name(
    target: MailmanTarget, admin: Admin, collection: Collection
) -> None:
    target.open(collection)
    admin("POST", f"/lists/{list_id(collection)}/bans", data={"email": "banned@example.org"})
    with pytest.raises(RecordRejected, match=r"banned@example\.org.*banned"):
        target.create(collection, "u", {"email": "banned@example.org", "display_name": "X"})
    with pytest.raises(RecordRejected, match="not an e-mail address"):
        target.create(collection, "u", {"email": "nobody"})


def test_announce_previews_by_default_and_posts_only_when_asked(
    target: MailmanTarget, admin: Admin, collection: Collection, samples: SampleSet, tmp_path: Path
) -> None:
    target.open(collection)
    for i in range(3):
        target.create(collection, f"u{i}", samples(i))
    before = admin.queued("in")
    subject = f"Start workshop {uuid.uuid4().hex[:8]}"
    preview = target.announce(
        collection, subject, "Dear all,\nsee you.", sender="office@example.org"
    )
    assert (preview.dry_run, preview.recipients, preview.subject) == (True, 3, subject)
    assert preview.queue_file is None and admin.queued("in") == before
    sent = target.announce(
        collection, subject, "Dear all,\nsee you.", sender="office@example.org", dry_run=False
    )
    assert sent.queue_file is not None and admin.queued("in") == [*before, sent.queue_file]
    queue_dir = Path(admin.json("/queues/in")["directory"])
    assert subject.encode() in (queue_dir / f"{sent.queue_file}.pck").read_bytes()


def test_a_member_who_unsubscribes_disappears(
    target: MailmanTarget, admin: Admin, collection: Collection, samples: SampleSet
) -> None:
    target.open(collection)
    leaving = target.create(collection, "u1", samples(1))
    staying = target.create(collection, "u2", samples(2))
    cursor = target.changes(collection, None).cursor
    admin("DELETE", f"/members/{leaving.remote_id}", data={"pre_confirmed": "true"})
    after = target.changes(collection, cursor)
    assert [r.remote_id for r in after.records] == [staying.remote_id]
    assert after.deleted == {leaving.remote_id}


def test_subscribe_and_unsubscribe_send_no_mail(
    target: MailmanTarget, admin: Admin, collection: Collection, samples: SampleSet
) -> None:
    target.open(collection)
    before = admin.queued("virgin")
    member = target.create(collection, "u1", samples(1))
    target.delete(collection, member.remote_id, member.etag)
    assert admin.queued("virgin") == before


def test_odd_addresses_are_normalised_and_escaped(
    target: MailmanTarget, collection: Collection
) -> None:
    target.open(collection)
    member = target.create(collection, "u", {"email": "Mixed.Case+tag@Example.ORG"})
    assert member.fields["email"] == "mixed.case+tag@example.org"
    renamed = target.update(collection, member.remote_id, {"display_name": "Ünal Öz"}, None)
    assert target.get(collection, member.remote_id).fields == renamed.fields


def test_platform_errors_are_mapped(mailman: MailmanInstance, target: MailmanTarget) -> None:
    with pytest.raises(NotFound):
        target.changes(Collection(f"missing@{DOMAIN}"), None)
    wrong = MailmanTarget(mailman.url, mailman.user, "wrong-password")
    with pytest.raises(CredentialsError):
        wrong.changes(Collection(f"missing@{DOMAIN}"), None)


def test_the_harness_fails_loudly_on_an_impossible_port(tmp_path: Path) -> None:
    with (
        pytest.raises(MailmanHarnessError, match=r"127\.0\.0\.1:70000") as failure,
        mailman_server(tmp_path / "mailman", port=70000, timeout=30),
    ):
        pass
    assert "port must be 0-65535" in str(failure.value)
