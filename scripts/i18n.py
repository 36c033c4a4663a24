"""Keep the German catalog in step with the code (needs Babel: pip install babel).

    .venv/bin/python scripts/i18n.py          # extract, merge into the .po, compile the .mo
    .venv/bin/python scripts/i18n.py --check  # exit 1 listing every message without German

Messages come from ``_()``, ``ngettext()`` and ``N_()`` in the project's code, from every help
text of the ``connector`` command tree (typer shows docstrings and ``help=``), and from typer's
own texts (panel titles, "[required]"). A new message needs only ``_("...")`` in the code and
its German ``msgstr`` in ``sync/locale/de/LC_MESSAGES/connector.po``.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PO = ROOT / "sync" / "locale" / "de" / "LC_MESSAGES" / "connector.po"
MO = PO.with_suffix(".mo")
SOURCES = ["cli.py", "connector", "sync", "mappings", "nextcloud_app"]
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def _source_files() -> list[Path]:
    files: list[Path] = []
    for name in SOURCES:
        path = ROOT / name
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return [f for f in files if "testing" not in f.parts]


def _typer_files() -> list[Path]:
    import typer

    here = Path(typer.__file__).parent
    return [here / "rich_utils.py", here / "core.py"]


def template() -> Catalog:
    """Every message a person can read, as an empty catalog."""
    catalog = Catalog(project="cohort-connector", domain="connector")
    for path in [*_source_files(), *_typer_files()]:
        where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else Path(path.name)
        for lineno, message, _comments, _context in extract_from_file(
            "python", str(path), keywords=KEYWORDS
        ):
            catalog.add(message, locations=[(str(where), lineno)])
    import typer.main

    import cli
    from sync import helptext

    build = helptext.build_command or typer.main.get_command
    for text in helptext.help_texts(build(cli.app)):
        catalog.add(text, locations=[("cli.py (help)", 0)])
    return catalog


def german() -> Catalog:
    """The German catalog as it is in the repository."""
    with PO.open("rb") as handle:
        return read_po(handle, locale="de", domain="connector")


def untranslated(catalog: Catalog, wanted: Catalog) -> list[str]:
    """Messages of ``wanted`` that ``catalog`` has no German text for."""
    missing = []
    for message in wanted:
        if not message.id:
            continue
        found = catalog.get(message.id)
        strings = found.string if found is not None else None
        ok = all(strings) if isinstance(strings, tuple | list) else bool(strings)
        if not ok or (found is not None and found.fuzzy):
            missing.append(str(message.id if isinstance(message.id, str) else message.id[0]))
    return missing


def compiled(catalog: Catalog) -> bytes:
    """The .mo bytes of ``catalog``."""
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def update() -> list[str]:
    """Merge new messages into the .po (translations kept), compile the .mo; the missing ones."""
    wanted = template()
    catalog = german() if PO.exists() else Catalog(locale="de", domain="connector")
    catalog.update(wanted, no_fuzzy_matching=True)
    PO.parent.mkdir(parents=True, exist_ok=True)
    with PO.open("wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False, ignore_obsolete=True)
    MO.write_bytes(compiled(german()))
    return untranslated(german(), wanted)


def check() -> list[str]:
    """Problems: messages without German, a .mo that does not match the .po."""
    problems = [f"no German for: {msgid!r}" for msgid in untranslated(german(), template())]
    if not MO.exists() or MO.read_bytes() != compiled(german()):
        problems.append(f"{MO.relative_to(ROOT)} is not compiled from the .po: run scripts/i18n.py")
    return problems


def main() -> int:
    """Update (default) or check (``--check``) the catalog."""
    if "--check" in sys.argv[1:]:
        problems = check()
        print("\n".join(problems) or "catalog complete")
        return 1 if problems else 0
    missing = update()
    print(f"{PO.relative_to(ROOT)}: {len(missing)} message(s) without German")
    for msgid in missing:
        print(f"  {msgid!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
