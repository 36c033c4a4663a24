"""A platform's length limit is no edit: over-long titles are rendered as the platform cuts."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from types import MappingProxyType

from connector.base import RemoteField, cut
from connector.memory import MemoryTarget
from mappings.schema import MappingFile
from sync.engine import Options
from sync.factory import build_engine
from sync.model import Cohort, Task
from sync.store import Store


class ShortTitles(MemoryTarget):
    """A memory target that keeps at most 20 characters of a title, as Deck keeps 255."""

    FIELDS = MappingProxyType(
        {**MemoryTarget.FIELDS, "title": RemoteField("title", "text", max_length=20)}
    )

    def create(self, collection, uid, fields):  # type: ignore[no-untyped-def]
        return super().create(collection, uid, {**fields, "title": cut(fields["title"], 20)})

    def update(self, collection, remote_id, changes, etag):  # type: ignore[no-untyped-def]
        if "title" in changes:
            changes = {**changes, "title": cut(changes["title"], 20)}
        return super().update(collection, remote_id, changes, etag)


def test_a_cut_title_is_not_taken_for_an_edit(tmp_path: Path) -> None:
    MemoryTarget.reset()
    mapping = MappingFile.model_validate(
        {
            "name": "t",
            "programme": "p",
            "cohort": "c-1",
            "targets": {
                "board": {"kind": "memory", "url": "memory://short", "audience": "council"}
            },
            "rules": [
                {
                    "name": "aufgaben",
                    "entity": "task",
                    "target": "board",
                    "deck": {"board": "Aufgaben", "stacks": ["Offen"]},
                    "fields": [{"remote": "title", "canonical": "title", "policy": "ask"}],
                }
            ],
        }
    )
    long_title = "Catering für den Startworkshop mit allen Kommunen abstimmen"
    with Store.open(tmp_path / "s.db") as store:
        store.put(
            Cohort(
                uid="c-1",
                programme="p",
                number=1,
                title="C",
                period_start=date(2025, 1, 1),
                period_end=date(2027, 1, 1),
            )
        )
        store.put(Task(uid="task-1", cohort="c-1", title=long_title))
        target = ShortTitles("memory://short")
        first = build_engine(store, mapping, {"board": target}, Options()).sync()
        assert first[0].counts == {"create": 1}
        (record,) = target.records("Aufgaben").values()
        assert record.fields["title"] == long_title[:19] + "…"
        again = build_engine(store, mapping, {"board": target}, Options()).sync()
        assert again[0].counts == {}
        assert store.get("task-1").title == long_title
