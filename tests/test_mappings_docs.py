"""docs/mappings.md documents every key of every mapping model, with a TOML example.

The models are found by walking :class:`mappings.schema.MappingFile` recursively; keys are
named as a mapping file writes them (the alias where one is set, e.g. ``list``).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from mappings.load import check_mapping
from mappings.schema import MappingFile

DOCS = Path(__file__).resolve().parent.parent / "docs" / "mappings.md"
HEADING = re.compile(r"^(#+) ")


def models(root: type[BaseModel] = MappingFile) -> list[type[BaseModel]]:
    """``root`` and every model reachable through its field annotations."""
    found: list[type[BaseModel]] = []

    def visit(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in found:
                found.append(annotation)
                for info in annotation.model_fields.values():
                    visit(info.annotation)
        elif get_origin(annotation) in (Annotated, Union, UnionType, list, dict, set):
            for arg in get_args(annotation):
                visit(arg)

    visit(root)
    return found


def keys(model: type[BaseModel]) -> list[str]:
    """The keys of ``model`` as written in a mapping file."""
    return [info.alias or name for name, info in model.model_fields.items()]


def headings(lines: list[str]) -> list[int]:
    """Indices of the Markdown headings among ``lines`` (not ``#`` lines inside code)."""
    found, fenced = [], False
    for index, line in enumerate(lines):
        fenced ^= line.startswith("```")
        if not fenced and HEADING.match(line):
            found.append(index)
    return found


def section(model: type[BaseModel]) -> str:
    """The text under the heading that names ``model``, up to the next heading."""
    lines = DOCS.read_text(encoding="utf-8").splitlines()
    marks = headings(lines)
    starts = [i for i in marks if f"`{model.__name__}`" in lines[i]]
    assert starts, f"docs/mappings.md has no heading naming `{model.__name__}`"
    end = next((i for i in marks if i > starts[0]), len(lines))
    return "\n".join(lines[starts[0] : end])


def toml_blocks(text: str) -> list[str]:
    return re.findall(r"```toml\n(.*?)```", text, flags=re.DOTALL)


MODELS = models()


def test_the_walk_finds_every_model() -> None:
    names = {model.__name__ for model in MODELS}
    assert names >= {
        "MappingFile", "TargetSpec", "Secret", "Rule", "DeckCollection", "AclShare",
        "CalendarCollection", "ListCollection", "FieldSpec",
    }  # fmt: skip


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_every_key_has_a_table_row_and_an_example(model: type[BaseModel]) -> None:
    text = section(model)
    rows = set(re.findall(r"^\| `([\w-]+)` \|", text, flags=re.MULTILINE))
    examples = "\n".join(toml_blocks(text))
    for key in keys(model):
        assert key in rows, f"{model.__name__}.{key} has no row `| \\`{key}\\` |` in its section"
        used = re.search(rf"(^|[\s{{,.])#? ?{key}\s*=|\[\[?(?:[\w-]+\.)*{key}[.\]]", examples)
        assert used, f"{model.__name__}.{key} appears in no TOML example of its section"
    assert rows <= set(keys(model)), f"documented but not in the schema: {rows - set(keys(model))}"


def test_every_toml_example_is_valid_toml() -> None:
    for block in toml_blocks(DOCS.read_text(encoding="utf-8")):
        tomllib.loads(block)


def test_the_worked_example_passes_the_check(tmp_path: Path) -> None:
    text = DOCS.read_text(encoding="utf-8")
    worked = text[text.index("## Worked example") :]
    path = tmp_path / "worked.toml"
    path.write_text(toml_blocks(worked)[0], encoding="utf-8")
    assert check_mapping(path) == []
