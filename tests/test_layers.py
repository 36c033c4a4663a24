"""The layers and their arrows (pyproject.toml ``[tool.importlinter]``) hold.

``cli.py`` and ``nextcloud_app`` -> ``sync`` -> ``mappings`` -> the domain kernel ->
``connector``; ``connector`` imports nothing of the project. A wrong arrow fails this test,
and with it CI.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = ("connector", "sync", "mappings", "nextcloud_app")
#: The part of sync/ that mappings may read (see pyproject.toml).
KERNEL = frozenset(
    {"sync.model", "sync.vocabulary", "sync.i18n", "sync.integrity", "sync.roster", "sync.matching"}
)


def test_import_contracts_are_kept() -> None:
    done = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_the_kernel_imports_only_itself_and_connector() -> None:
    # import-linter cannot say "no module of sync/ but these"; the graph can.
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    wrong = {
        (module, imported)
        for module in KERNEL
        for imported in graph.find_modules_directly_imported_by(module)
        if imported not in KERNEL and not imported.startswith("connector.")
    }
    assert not wrong, f"kernel modules import beyond the kernel and connector: {sorted(wrong)}"


def test_the_kernel_modules_exist() -> None:
    # A renamed kernel module would silently drop out of the contracts above.
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    assert graph.modules >= KERNEL
