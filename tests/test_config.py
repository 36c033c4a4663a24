"""connector.toml: defaults, paths relative to the file, overrides, errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.errors import ConfigError
from sync.config import load_config, render_config, resolve_config
from tests.conftest import run_connector


def test_without_a_file_the_defaults_apply(tmp_path: Path) -> None:
    config = resolve_config(cwd=tmp_path)
    assert config.path is None
    assert config.store == tmp_path / "cohort.db"
    assert config.mappings == []
    assert (config.sync.interval, config.sync.max_delete_share, config.sync.min_delete_count) == (
        300,
        0.2,
        5,
    )


def test_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    folder = tmp_path / "beirat"
    folder.mkdir()
    (folder / "connector.toml").write_text(
        'store = "data/mim.db"\nmappings = ["mapping.toml"]\n[sync]\ninterval = 60\n'
    )
    config = load_config(folder / "connector.toml")
    assert config.store == folder / "data" / "mim.db"
    assert config.mappings == [folder / "mapping.toml"]
    assert config.sync.interval == 60 and config.sync.min_delete_count == 5


def test_connector_toml_in_the_working_folder_is_found(tmp_path: Path) -> None:
    (tmp_path / "connector.toml").write_text('store = "x.db"\n')
    assert resolve_config(cwd=tmp_path).store == tmp_path / "x.db"


def test_the_store_option_wins(tmp_path: Path) -> None:
    (tmp_path / "connector.toml").write_text('store = "x.db"\n')
    assert resolve_config(store="/srv/other.db", cwd=tmp_path).store == Path("/srv/other.db")


def test_a_wrong_value_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "connector.toml"
    path.write_text("[sync]\ninterval = 'oft'\nmax_delete_share = 3\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems == [
        f"{path}: sync.interval: Input should be a valid integer, unable to parse string as an "
        "integer",
        f"{path}: sync.max_delete_share: Input should be less than or equal to 1",
    ]


def test_an_unknown_key_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "connector.toml"
    path.write_text('stor = "x.db"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems == [f"{path}: stor: Extra inputs are not permitted"]


def test_broken_toml_and_missing_files_are_config_errors(tmp_path: Path) -> None:
    path = tmp_path / "connector.toml"
    path.write_text("store = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)
    with pytest.raises(ConfigError, match="no such config file"):
        resolve_config(tmp_path / "missing.toml")


def test_the_scaffolded_config_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "connector.toml"
    path.write_text(render_config(["mapping.toml"]))
    config = load_config(path)
    assert config.mappings == [tmp_path / "mapping.toml"]
    assert config.sync.max_delete_share == 0.2


@pytest.mark.parametrize(
    "body",
    [
        "mappings = " + "[" * 600 + "]" * 600 + "\n",
        "[sync]\nx = " + "{ a = " * 1200 + "1" + " }" * 1200 + "\n",
        "[sync]\n" + ".".join(["a"] * 3000) + " = 1\n",
    ],
    ids=["arrays", "inline-tables", "dotted-keys"],
)
def test_deeply_nested_config_is_a_clear_error(tmp_path: Path, body: str) -> None:
    path = tmp_path / "connector.toml"
    path.write_text('store = "x.db"\n' + body)
    result = run_connector("--config", str(path), "status")
    assert result.returncode == 3, result.stderr
    assert f"{path}:{2 if 'sync' not in body else 3}: nested more than 32 levels deep" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr
