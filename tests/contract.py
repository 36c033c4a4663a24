"""Contract tests every target adapter passes.

An adapter's test module subclasses :class:`TargetContract` as ``TestXxxContract`` and
provides three fixtures: ``target`` (a connected Target), ``collection`` (a fresh, empty
Collection on it) and ``samples`` (a callable ``samples(i) -> dict`` returning valid, distinct
writable field values for record ``i``, plus ``edit(fields) -> dict`` as ``samples.edit``).
Set ``conditional_writes = False`` on the subclass for platforms without any form of
If-Match, and ``has_markers = False`` for platforms that cannot carry the canonical uid in a
record (Mailman: the engine adopts members by address instead).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from connector.base import Changes, Collection, RemoteRecord, Target
from connector.errors import NotFound, PreconditionFailed


def changed_ids(changes: Changes) -> set[str]:
    """Ids of records reported as present in ``changes``."""
    return {record.remote_id for record in changes.records}


def is_gone(changes: Changes, remote_id: str) -> bool:
    """Whether ``changes`` says ``remote_id`` no longer exists."""
    if remote_id in changes.deleted:
        return True
    return changes.complete and remote_id not in changed_ids(changes)


def subset(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Fields of ``expected`` whose value differs in ``actual``: {name: (expected, actual)}."""
    return {k: (v, actual.get(k)) for k, v in expected.items() if actual.get(k) != v}


Samples = Callable[[int], dict[str, Any]]


class TargetContract:
    """The behaviour the engine relies on, identical for every platform."""

    conditional_writes = True
    has_markers = True

    def _marker(self, i: int) -> str | None:
        return f"contract-{i}" if self.has_markers else None

    def _create(
        self, target: Target, collection: Collection, samples: Samples, i: int
    ) -> RemoteRecord:
        return target.create(collection, f"contract-{i}", samples(i))

    def test_open_is_idempotent_and_starts_empty(
        self, target: Target, collection: Collection
    ) -> None:
        target.open(collection)
        target.open(collection)
        assert target.changes(collection, None).records == []

    def test_create_then_get_returns_the_fields_and_marker(
        self, target: Target, collection: Collection, samples: Samples
    ) -> None:
        target.open(collection)
        created = self._create(target, collection, samples, 1)
        assert created.marker == self._marker(1)
        assert subset(samples(1), created.fields) == {}
        fetched = target.get(collection, created.remote_id)
        assert fetched.marker == self._marker(1)
        assert subset(samples(1), fetched.fields) == {}

    def test_unchanged_record_reads_identically(
        self, target: Target, collection: Collection, samples: Samples
    ) -> None:
        target.open(collection)
        created = self._create(target, collection, samples, 1)
        first = target.get(collection, created.remote_id)
        second = target.get(collection, created.remote_id)
        assert first.fields == second.fields
        assert first.hash == second.hash
        listed = {r.remote_id: r for r in target.changes(collection, None).records}
        assert listed[created.remote_id].hash == first.hash

    def test_full_listing_is_complete_and_carries_markers(
        self, target: Target, collection: Collection, samples: Samples
    ) -> None:
        target.open(collection)
        ids = {self._create(target, collection, samples, i).remote_id for i in range(3)}
        listing = target.changes(collection, None)
        assert listing.complete
        assert changed_ids(listing) == ids
        assert {r.marker for r in listing.records} == {self._marker(i) for i in range(3)}

    def test_update_changes_only_the_given_fields(
        self, target: Target, collection: Collection, samples: Samples
    ) -> None:
        target.open(collection)
        created = self._create(target, collection, samples, 1)
        edit: dict[str, Any] = samples.edit(samples(1))  # type: ignore[attr-defined]
        updated = target.update(collection, created.remote_id, edit, created.etag)
        assert subset(edit, updated.fields) == {}
        fetched = target.get(collection, created.remote_id)
        assert subset(edit, fetched.fields) == {}
        untouched = {k: v for k, v in samples(1).items() if k not in edit}
        assert subset(untouched, fetched.fields) == {}
        assert fetched.marker == self._marker(1)

    def test_stale_etag_is_refused(
        self, target: Target, collection: Collection, samples: Samples
    ) -> None:
        if not self.conditional_writes:
            pytest.fail("platform without conditional writes must override this test")
        target.open(collection)
        created = self._create(target, collection, samples, 1)
        edit: dict[str, Any] = samples.edit(samples(1))  # type: ignore[attr-defined]
        target.update(collection, created.remote_id, edit, created.etag)
        with pytest.raises(PreconditionFailed):
            target.update(collection, created.remote_id, samples(2), created.etag)

    def test_incremental_changes_report_updates_and_deletions(
        self, target: Target, collection: Collection, samples: Samples
    ) -> None:
        target.open(collection)
        a = self._create(target, collection, samples, 1)
        b = self._create(target, collection, samples, 2)
        cursor = target.changes(collection, None).cursor
        quiet = target.changes(collection, cursor)
        assert not is_gone(quiet, a.remote_id) and not is_gone(quiet, b.remote_id)
        quiet_hashes = {r.remote_id: r.hash for r in quiet.records}
        assert quiet_hashes.get(a.remote_id, a.hash) == target.get(collection, a.remote_id).hash

        edit: dict[str, Any] = samples.edit(samples(1))  # type: ignore[attr-defined]
        target.update(collection, a.remote_id, edit, a.etag)
        target.delete(collection, b.remote_id, b.etag)
        after = target.changes(collection, quiet.cursor)
        assert a.remote_id in changed_ids(after)
        reported = {r.remote_id: r for r in after.records}[a.remote_id]
        assert subset(edit, reported.fields) == {}
        assert is_gone(after, b.remote_id)

    def test_delete_is_final_and_repeatable(
        self, target: Target, collection: Collection, samples: Samples
    ) -> None:
        target.open(collection)
        created = self._create(target, collection, samples, 1)
        target.delete(collection, created.remote_id, created.etag)
        target.delete(collection, created.remote_id, None)
        with pytest.raises(NotFound):
            target.get(collection, created.remote_id)
        assert is_gone(target.changes(collection, None), created.remote_id)

    def test_find_marker_heals_a_lost_link(
        self, target: Target, collection: Collection, samples: Samples
    ) -> None:
        target.open(collection)
        created = self._create(target, collection, samples, 7)
        found = target.find_marker(collection, "contract-7")
        if self.has_markers:
            assert found is not None and found.remote_id == created.remote_id
        else:
            assert found is None
        assert target.find_marker(collection, "contract-404") is None

    def test_requests_are_counted(
        self, target: Target, collection: Collection, samples: Samples
    ) -> None:
        target.open(collection)
        target.reset_stats()
        target.changes(collection, None)
        assert target.requests >= 1
