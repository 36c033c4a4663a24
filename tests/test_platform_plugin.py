"""A platform declared by a plugin works like a built-in one, with nothing changed under
``mappings/`` or ``sync/``.

The fake platform ``notebook`` lives only in this file: a target that keeps each collection
as a JSON file in a folder (``file:///FOLDER``), its ``[rules.notebook]`` table with its own
options model. The real ``connector`` program loads it as a plugin author would ship it (the
``CONNECTOR_PLATFORMS`` variable naming ``module:attribute``), checks a mapping using it and
syncs a rule to it; in-process, :func:`connector.registry.register_platform` does the same
for the engine the CLI builds (:func:`sync.factory.build_engine`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest
from pydantic import Field

from connector import registry
from connector.base import Changes, Collection, RemoteField, RemoteRecord, Target
from connector.errors import NotFound, PreconditionFailed
from connector.memory import MemoryTarget, MemoryWorld
from connector.platform import Options, Platform

# Only ``connector`` is imported at the top: the program imports this module as a plugin
# while it builds the mapping schema, so mappings and sync are imported where used.

ROOT = Path(__file__).resolve().parent.parent


class NotebookOptions(Options):
    """``[rules.notebook]``: which notebook, and its heading."""

    notebook: str = Field(pattern=r"^[a-z0-9-]+$")
    heading: str = ""


class NotebookTarget(Target):
    """Notes in JSON files, one per notebook, in the folder the URL names."""

    kind = "notebook"
    FIELDS: ClassVar[Mapping[str, RemoteField]] = {
        "title": RemoteField("title"),
        "text": RemoteField("text"),
    }

    def __init__(self, url: str, user: str = "", password: str = "", **options: Any) -> None:
        super().__init__()
        self.folder = Path(urlsplit(url).path)
        self.options = options

    def _file(self, collection: Collection) -> Path:
        return self.folder / f"{collection.name}.json"

    def _load(self, collection: Collection) -> dict[str, Any]:
        if not self._file(collection).exists():
            raise NotFound(f"no notebook {collection.name}")
        data: dict[str, Any] = json.loads(self._file(collection).read_text(encoding="utf-8"))
        return data

    def _save(self, collection: Collection, data: dict[str, Any]) -> None:
        self._file(collection).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    @staticmethod
    def _out(remote_id: str, note: dict[str, Any]) -> RemoteRecord:
        return RemoteRecord(remote_id, dict(note["fields"]), str(note["version"]), note["marker"])

    def open(self, collection: Collection) -> None:
        self.requests += 1
        if not self._file(collection).exists():
            self._save(collection, {"heading": collection.options.get("heading"), "notes": {}})

    def changes(self, collection: Collection, cursor: str | None) -> Changes:
        self.requests += 1
        notes = self._load(collection)["notes"]
        return Changes([self._out(i, n) for i, n in notes.items()])

    def get(self, collection: Collection, remote_id: str) -> RemoteRecord:
        notes = self._load(collection)["notes"]
        if remote_id not in notes:
            raise NotFound(remote_id)
        return self._out(remote_id, notes[remote_id])

    def create(self, collection: Collection, uid: str, fields: Mapping[str, Any]) -> RemoteRecord:
        self.requests += 1
        data = self._load(collection)
        remote_id = f"n{len(data['notes']) + 1}"
        data["notes"][remote_id] = {"fields": dict(fields), "marker": uid, "version": 1}
        self._save(collection, data)
        return self._out(remote_id, data["notes"][remote_id])

    def update(
        self, collection: Collection, remote_id: str, changes: Mapping[str, Any], etag: str | None
    ) -> RemoteRecord:
        self.requests += 1
        data = self._load(collection)
        note = data["notes"].get(remote_id)
        if note is None:
            raise NotFound(remote_id)
        if etag is not None and etag != str(note["version"]):
            raise PreconditionFailed(remote_id)
        note["fields"].update(changes)
        note["version"] += 1
        self._save(collection, data)
        return self._out(remote_id, note)

    def delete(self, collection: Collection, remote_id: str, etag: str | None) -> None:
        self.requests += 1
        data = self._load(collection)
        data["notes"].pop(remote_id, None)
        self._save(collection, data)


PLATFORM = Platform(
    kind="notebook",
    target=NotebookTarget,
    table="notebook",
    options=NotebookOptions,
    name_field="notebook",
    noun="notebook",
    settings={"verify": "verify_tls"},
    schemes=("file",),
)

CONFIG = """\
store = "cohort.db"
mappings = ["mapping.toml"]
"""

MAPPING = """\
name = "Plugin"
programme = "mim"
cohort = "mim-10"

[targets.notes]
kind = "notebook"
url = "file://localhost{folder}"
audience = "council"

[[rules]]
name = "aufgaben"
entity = "task"
target = "notes"

[rules.notebook]
notebook = "aufgaben"
{heading_key} = "Aufgaben des Beirats"

[[rules.fields]]
remote = "title"
canonical = "title"
direction = "out"
"""
#: The line of the heading key in MAPPING (1-based).
HEADING_LINE = MAPPING.splitlines().index('{heading_key} = "Aufgaben des Beirats"') + 1


def work(folder: Path, heading_key: str = "heading") -> Path:
    """connector.toml, a mapping using the notebook platform, and a store with two tasks."""
    from sync.model import Task
    from sync.store import Store
    from tests.factories import cohort_10

    (folder / "notes").mkdir()
    (folder / "connector.toml").write_text(CONFIG, encoding="utf-8")
    mapping = MAPPING.format(folder=folder / "notes", heading_key=heading_key)
    (folder / "mapping.toml").write_text(mapping, encoding="utf-8")
    with Store.open(folder / "cohort.db") as store:
        store.put(cohort_10())
        for i in range(2):
            store.put(Task(uid=f"task-{i}", cohort="mim-10", title=f"Aufgabe {i}"))
    return folder


def connector(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed ``connector`` program with the notebook plugin named in its environment."""
    env = {
        **os.environ,
        "CONNECTOR_PLATFORMS": "tests.test_platform_plugin:PLATFORM",
        "PYTHONPATH": str(ROOT),
        "CONNECTOR_LANG": "en",
    }
    program = Path(sys.executable).parent / "connector"
    return subprocess.run(
        [str(program), "--config", str(folder / "connector.toml"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder,
        timeout=120,
        check=False,
    )


def notes(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "notes" / "aufgaben.json").read_text("utf-8"))
    return data


def test_the_connector_program_syncs_a_rule_to_a_plugin_platform(tmp_path: Path) -> None:
    folder = work(tmp_path)
    checked = connector(folder, "mappings", "check", str(folder / "mapping.toml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    synced = connector(folder, "sync")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    written = notes(folder)
    assert written["heading"] == "Aufgaben des Beirats"
    titles = sorted(note["fields"]["title"] for note in written["notes"].values())
    assert titles == ["Aufgabe 0", "Aufgabe 1"]
    assert {note["marker"] for note in written["notes"].values()} == {"task-0", "task-1"}
    again = connector(folder, "sync")
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(notes(folder)["notes"]) == 2  # a second pass adds nothing


def test_mappings_check_names_file_line_and_field_of_a_typo_in_the_plugins_table(
    tmp_path: Path,
) -> None:
    folder = work(tmp_path, heading_key="headng")
    checked = connector(folder, "mappings", "check", str(folder / "mapping.toml"))
    assert checked.returncode == 3, checked.stdout + checked.stderr
    expected = (
        f"{folder / 'mapping.toml'}:{HEADING_LINE}: rules[0].notebook.headng: unknown key "
        "'headng'; did you mean 'heading'?"
    )
    assert expected in checked.stderr


@pytest.fixture
def notebook_registered() -> Iterator[None]:
    registry.register_platform(PLATFORM)
    yield
    registry.unregister_platform("notebook")


@pytest.mark.usefixtures("notebook_registered")
def test_a_registered_platform_syncs_through_the_shipped_factory(tmp_path: Path) -> None:
    from mappings.load import load_mapping
    from sync.factory import build_engine
    from sync.store import Store
    from sync.targets import build_targets

    folder = work(tmp_path)
    mapping = load_mapping(folder / "mapping.toml")
    targets = build_targets(mapping, lambda spec: "")
    assert isinstance(targets["notes"], NotebookTarget)
    assert targets["notes"].options == {"verify": True}  # the declared settings, read
    with Store.open(folder / "cohort.db") as store:
        results = build_engine(store, mapping, targets).sync()
    assert [r.error for r in results] == [None]
    assert len(notes(folder)["notes"]) == 2


@pytest.mark.usefixtures("notebook_registered")
def test_a_registered_platforms_options_are_checked_with_lines(tmp_path: Path) -> None:
    from mappings.load import check_mapping

    folder = work(tmp_path)
    text = (folder / "mapping.toml").read_text(encoding="utf-8")
    (folder / "mapping.toml").write_text(
        text.replace('notebook = "aufgaben"', 'notebook = "Auf Gaben"')
    )
    problems = check_mapping(folder / "mapping.toml")
    assert len(problems) == 1
    assert problems[0].startswith(f"{folder / 'mapping.toml'}:{HEADING_LINE - 1}: ")
    assert "rules[0].notebook.notebook:" in problems[0]


def test_without_the_plugin_its_table_is_an_unknown_key(tmp_path: Path) -> None:
    from mappings.load import check_mapping

    problems = check_mapping(work(tmp_path) / "mapping.toml")
    assert any("kind: expected one of" in p for p in problems)
    assert any("rules[0].notebook: unknown key 'notebook'" in p for p in problems)


def test_memory_targets_share_records_within_one_world_only() -> None:
    world, other = MemoryWorld(), MemoryWorld()
    first = MemoryTarget("memory://board", world=world)
    first.add("Aufgaben", {"title": "Eins"})
    assert len(MemoryTarget("memory://board", world=world).records("Aufgaben")) == 1
    assert MemoryTarget("memory://board", world=other).records("Aufgaben") == {}
    assert MemoryTarget("memory://board").records("Aufgaben") == {}  # the shared WORLD
