"""No module of the product is over 400 lines, except ``cli.py`` (the single entry file):
a module that grows past it holds more than one responsibility and is split."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The product's packages (``connector/testing`` is part of ``connector``) and its entry file.
PACKAGES = ("connector", "sync", "mappings")
LIMIT = 400
#: The entry file may hold many commands (but only parsing, calls and printing).
EXEMPT = {ROOT / "cli.py"}


def _modules() -> list[Path]:
    found = [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]
    return [*found, ROOT / "cli.py"]


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_the_product_has_modules_to_measure() -> None:
    modules = _modules()
    assert len(modules) > 50 and all(p.is_file() for p in modules)
    assert ROOT / "connector" / "testing" / "deck_server.py" in modules


def test_no_module_of_the_product_is_over_the_limit() -> None:
    over = {
        str(p.relative_to(ROOT)): n
        for p in _modules()
        if p not in EXEMPT and (n := _lines(p)) > LIMIT
    }
    assert not over, f"modules over {LIMIT} lines (split them by responsibility): {over}"
