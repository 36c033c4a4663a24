"""``connector init``: a working folder with a config, a mapping and an empty store."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from connector.errors import InputError
from sync.config import CONFIG_NAME, render_config, resolve_config
from sync.i18n import _
from sync.store import Store

#: The mapping copied into a new folder, if this installation ships it.
SHIPPED_MAPPING = "muensterland-mentoring.toml"


@dataclass(frozen=True)
class WorkFolder:
    """The files :func:`create` wrote; ``mapping`` is None when no mapping ships."""

    config: Path
    mapping: Path | None
    store: Path


def create(directory: Path) -> WorkFolder:
    """Write connector.toml, mapping.toml (a copy of the shipped one) and an empty store.

    Existing files are never overwritten: InputError before anything is written.
    """
    shipped = resources.files("mappings") / SHIPPED_MAPPING
    has_mapping = shipped.is_file()
    config, mapping = directory / CONFIG_NAME, directory / "mapping.toml"
    for path in (config, mapping) if has_mapping else (config,):
        if path.exists():
            error = InputError(_("{path} already exists; not overwriting it").format(path=path))
            error.hint = _("Choose a new folder, or edit the existing files.")
            raise error
    directory.mkdir(parents=True, exist_ok=True)
    if has_mapping:
        mapping.write_text(shipped.read_text(encoding="utf-8"), encoding="utf-8")
    config.write_text(render_config(["mapping.toml"] if has_mapping else []), encoding="utf-8")
    store_path = resolve_config(config).store
    Store.open(store_path).close()
    return WorkFolder(config, mapping if has_mapping else None, store_path)
