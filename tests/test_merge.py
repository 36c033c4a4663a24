"""The three-way field merge, case by case."""

from __future__ import annotations

from datetime import UTC, datetime

from sync.merge import MISSING, merge_field, merge_sets, newer


def test_only_remote_changed_copies_to_canonical() -> None:
    outcome = merge_field("both", "ask", "a", "a", "b")
    assert outcome.to_canonical == "b" and outcome.to_remote is MISSING and outcome.agreed == "b"


def test_only_canonical_changed_copies_to_remote() -> None:
    outcome = merge_field("both", "ask", "a", "c", "a")
    assert outcome.to_remote == "c" and outcome.to_canonical is MISSING


def test_same_change_on_both_sides_agrees_without_writes() -> None:
    outcome = merge_field("both", "ask", "a", "x", "x")
    assert not outcome.changes_anything and outcome.agreed == "x"


def test_ask_parks_a_conflict_and_writes_nothing() -> None:
    outcome = merge_field("both", "ask", "a", "c", "r")
    assert outcome.conflict == ("a", "c", "r")
    assert outcome.to_remote is MISSING and outcome.to_canonical is MISSING


def test_policies_decide_scalar_conflicts() -> None:
    assert merge_field("both", "canonical", "a", "c", "r").to_remote == "c"
    assert merge_field("both", "remote", "a", "c", "r").to_canonical == "r"


def test_newest_uses_timestamps_and_asks_without_them() -> None:
    early = datetime(2026, 1, 1, tzinfo=UTC)
    late_remote = "2026-02-01T00:00:00+00:00"
    assert (
        merge_field(
            "both", "newest", "a", "c", "r", canonical_at=early, remote_at=late_remote
        ).to_canonical
        == "r"
    )
    assert (
        merge_field(
            "both",
            "newest",
            "a",
            "c",
            "r",
            canonical_at=datetime(2026, 3, 1, tzinfo=UTC),
            remote_at=late_remote,
        ).to_remote
        == "c"
    )
    assert merge_field("both", "newest", "a", "c", "r", canonical_at=early).conflict is not None
    assert newer(early, "not a date") is None


def test_sets_merge_per_element() -> None:
    assert merge_sets(["a", "b"], ["a", "b", "c"], ["b", "d"]) == ["b", "c", "d"]
    outcome = merge_field("both", "ask", ["a"], ["a", "x"], ["a", "y"], is_set=True)
    assert outcome.agreed == ["a", "x", "y"]
    assert outcome.to_remote == ["a", "x", "y"] and outcome.to_canonical == ["a", "x", "y"]


def test_out_and_in_directions_are_one_way() -> None:
    out = merge_field("out", "ask", "a", "c", "r")
    assert out.to_remote == "c" and out.to_canonical is MISSING
    inward = merge_field("in", "ask", "a", "c", "r")
    assert inward.to_canonical == "r" and inward.to_remote is MISSING


def test_unknown_base_lets_the_canonical_side_lead() -> None:
    outcome = merge_field("both", "ask", MISSING, "c", "r")
    assert outcome.to_remote == "c" and outcome.conflict is None
