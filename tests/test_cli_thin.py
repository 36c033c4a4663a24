"""``cli.py`` holds only parsing, calls and printing (issue 13): no counting, no file writing,
no error rebuilding. Such logic lives in ``sync/`` modules the commands call.

Read from the source with :mod:`ast`, so a command that starts tallying, writing a file or
re-creating an error fails here and names the line.
"""

from __future__ import annotations

import ast
from pathlib import Path

CLI = Path(__file__).resolve().parent.parent / "cli.py"

#: Methods that write or remove files.
FILE_WRITES = {"write_text", "write_bytes", "mkdir", "unlink", "rename", "replace", "touch"}
#: Builtins that count or open files.
BUILTINS = {"sum", "open", "Counter"}


def offences(source: str) -> list[str]:
    """Each line of ``source`` that counts, writes a file or rebuilds an error, described."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.AugAssign):
            found.append(f"{node.lineno}: a tally (augmented assignment)")
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in FILE_WRITES:
            found.append(f"{node.lineno}: writes a file (.{func.attr})")
        if isinstance(func, ast.Name) and func.id in BUILTINS:
            found.append(f"{node.lineno}: {func.id}()")
        rebuilt = isinstance(func, ast.Call) and isinstance(func.func, ast.Name)
        if rebuilt and func.func.id == "type":  # type: ignore[union-attr]
            found.append(f"{node.lineno}: rebuilds an error from its type (type(x)(...))")
    return sorted(found, key=lambda line: int(line.split(":")[0]))


def test_cli_only_parses_calls_and_prints() -> None:
    assert offences(CLI.read_text(encoding="utf-8")) == []


def test_the_check_sees_counting_writing_and_rebuilding() -> None:
    source = (
        "n = sum(1 for x in xs)\n"
        "n += 1\n"
        "path.write_text(text)\n"
        "raise type(first)(message)\n"
        "with open(name, 'w') as f: pass\n"
    )
    assert [line.split(":")[0] for line in offences(source)] == ["1", "2", "3", "4", "5"]
