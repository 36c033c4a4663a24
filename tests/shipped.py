"""The shipped mapping (Mentoring im Münsterland 10) with its targets on memory spaces.

Every rule, field, value map, lookup, template and policy is the shipped one; only the three
targets are memory targets (``memory://nextcloud``, ``memory://kalender``, ``memory://listen``)
with the shipped audiences, so tests can play the people on the platforms in-process.
"""

from __future__ import annotations

import re
from pathlib import Path

from sync.importer import import_file
from sync.store import Store
from tests.factories import IMPORT_ORDER

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "mappings" / "muensterland-mentoring.toml"
EXAMPLE = ROOT / "examples" / "muensterland-10"


def shipped_text(*, cohort: str = "mim-10") -> str:
    """The shipped mapping's TOML with memory targets (and the cohort line as given)."""
    text = SHIPPED.read_text(encoding="utf-8")
    text = re.sub(r'kind = "(deck|caldav|mailman)"', 'kind = "memory"', text)
    text = re.sub(r'url = "http://127\.0\.0\.1:\d+/?"', "URL", text)
    for name in ("nextcloud", "kalender", "listen"):
        text = text.replace(f"[targets.{name}]\nkind", f"[targets.{name}]\nURL\nkind", 1)
        text = text.replace(f"[targets.{name}]\nURL", f'[targets.{name}]\nurl = "memory://{name}"')
    text = text.replace("\nURL\n", "\n")
    text = re.sub(r"^(user|secret) = .*\n", "", text, flags=re.M)
    return text.replace('cohort = "mim-10"\nlanguage', f'cohort = "{cohort}"\nlanguage', 1)


def write_shipped(path: Path, *, cohort: str = "mim-10") -> Path:
    """Write :func:`shipped_text` to ``path``; returns it."""
    path.write_text(shipped_text(cohort=cohort), encoding="utf-8")
    return path


def import_example(store: Store) -> None:
    """The bundled example cohort, imported in the README's order with the real importer."""
    for kind in IMPORT_ORDER:
        import_file(store, kind, EXAMPLE / f"{kind}.csv")
