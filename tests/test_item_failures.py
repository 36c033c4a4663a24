"""One failed item never stops its target: the others go on, the failure is reported, a
create whose answer was lost is adopted (its marker found), and only an outage stops the
target for the rest of the pass."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import date
from typing import Any

import pytest

from connector.base import Collection, RemoteRecord
from connector.errors import RetryLater
from connector.memory import MemoryTarget
from mappings.schema import MappingFile
from sync.engine import OUTAGE_STREAK, SETTLE_ROUNDS, Options
from sync.factory import build_engine
from sync.model import Task
from sync.outcome import Outcome
from sync.store import Store
from tests.factories import cohort_10

TODAY = date(2026, 3, 10)
BOARD, ARCHIVE = "Aufgaben", "Archiv"


@pytest.fixture(autouse=True)
def fresh_memory() -> Iterator[None]:
    MemoryTarget.reset()
    yield
    MemoryTarget.reset()


def mapping() -> MappingFile:
    """Two rules on the same target: tasks on two boards."""
    fields = [{"remote": "title", "canonical": "title"}]
    rules = [
        {"name": name, "entity": "task", "target": "board",
         "deck": {"board": board, "stacks": ["Offen"]}, "fields": fields}
        for name, board in (("aufgaben", BOARD), ("archiv", ARCHIVE))
    ]  # fmt: skip
    return MappingFile.model_validate(
        {
            "name": "t",
            "programme": "mim",
            "cohort": "mim-10",
            "targets": {
                "board": {"kind": "memory", "url": "memory://board", "audience": "council"}
            },
            "rules": rules,
        }
    )


class Flaky(MemoryTarget):
    """A memory board whose creates fail as ``fail(uid, collection)`` says: "before" (never
    arrives), "after" (lands, the answer is lost), or None."""

    def __init__(self, fail: Callable[[str, str], str | None], retry_after: float | None = None):
        super().__init__("memory://board")
        self.fail, self.retry_after = fail, retry_after
        self.attempts: list[str] = []

    def create(self, collection: Collection, uid: str, fields: Mapping[str, Any]) -> RemoteRecord:
        self.attempts.append(uid if collection.name == BOARD else f"{collection.name}:{uid}")
        how = self.fail(uid, collection.name)
        if how == "before":
            raise RetryLater(f"POST for {uid} answered 503", self.retry_after)
        record = super().create(collection, uid, fields)
        if how == "after":
            raise RetryLater("connection reset by peer")
        return record


def sync(store: Store, target: MemoryTarget) -> list[Any]:
    return build_engine(store, mapping(), {"board": target}, Options(today=TODAY)).sync()


def put_tasks(store: Store, count: int) -> None:
    store.put(cohort_10())
    for i in range(count):
        store.put(Task(uid=f"task-{i}", cohort="mim-10", title=f"Aufgabe {i}"))


def markers(collection: str) -> list[str]:
    return sorted(
        str(r.marker) for r in MemoryTarget("memory://board").records(collection).values()
    )


def test_one_create_the_platform_refuses_does_not_stop_the_others(store: Store) -> None:
    put_tasks(store, 5)
    target = Flaky(lambda uid, board: "before" if (uid, board) == ("task-1", BOARD) else None)
    aufgaben, archiv = sync(store, target)
    assert aufgaben.error is None and archiv.error is None
    assert markers(BOARD) == ["task-0", "task-2", "task-3", "task-4"]
    assert markers(ARCHIVE) == [f"task-{i}" for i in range(5)]  # the target was not stopped
    assert list(aufgaben.failures) == ["task-1"]
    assert aufgaben.problems == ["mim-10:aufgaben: task-1: POST for task-1 answered 503"]
    # Tried again within the pass (the platform was only unavailable), then given up.
    assert target.attempts.count("task-1") == SETTLE_ROUNDS
    outcome = Outcome.of([aufgaben, archiv])
    assert outcome.exit_code() == 9 and len(outcome.failures) == 1
    # Its journal entry stays (a create may have landed); the next pass creates it once.
    assert [e.uid for e in store.journal()] == ["task-1"]
    aufgaben, _ = sync(store, MemoryTarget("memory://board"))
    assert aufgaben.counts == {"create": 1} and not aufgaben.failures
    assert markers(BOARD) == [f"task-{i}" for i in range(5)] and store.journal() == []


def test_a_create_whose_answer_was_lost_is_adopted_within_the_pass(store: Store) -> None:
    put_tasks(store, 3)
    lost = {"task-1"}

    def fail(uid: str, board: str) -> str | None:
        if board == BOARD and uid in lost:
            lost.discard(uid)
            return "after"
        return None

    aufgaben, _ = sync(store, Flaky(fail))
    assert aufgaben.error is None and not aufgaben.failures, aufgaben.summary()
    assert markers(BOARD) == ["task-0", "task-1", "task-2"]  # no duplicate
    assert len(store.links("mim-10:aufgaben")) == 3 and store.journal() == []


def test_an_outage_stops_the_target_after_several_items_in_a_row(store: Store) -> None:
    put_tasks(store, OUTAGE_STREAK + 3)
    target = Flaky(lambda uid, board: "before")
    aufgaben, archiv = sync(store, target)
    assert isinstance(aufgaben.error, RetryLater)
    assert archiv.error is aufgaben.error  # the rest of the target waits for the next pass
    assert len(target.attempts) == OUTAGE_STREAK
    assert len(aufgaben.failures) == OUTAGE_STREAK


def test_a_server_asking_for_a_long_pause_stops_the_target_at_once(store: Store) -> None:
    put_tasks(store, 4)
    target = Flaky(lambda uid, board: "before", retry_after=600.0)
    aufgaben, archiv = sync(store, target)
    assert isinstance(aufgaben.error, RetryLater) and aufgaben.error.retry_after == 600.0
    assert target.attempts == ["task-0"] and archiv.error is aufgaben.error
