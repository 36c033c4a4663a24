"""Every message a person reads is looked up in the catalog: no English text left in code.

``tests/test_german.py`` runs commands under a German locale and catches the English it sees;
this test reads the code, so a message on a path no scenario takes is caught as well. It
finds the places where a message is made (an exception raised with a text, a rule's
:class:`~sync.integrity.Problem`, a text added to a list of problems) and fails on each whose
text has words but is not a ``_()`` lookup.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["cli.py", "connector", "sync", "mappings", "nextcloud_app"]
#: Exceptions that never reach a person as a message: programming errors and simulations.
INTERNAL = {
    "AssertionError",
    "NotImplementedError",
    "TypeError",
    "KeyError",
    "SimulatedCrash",
    "StopIteration",
}
#: What makes a problem of a message: the rules', the mapping loader's and the import's.
MAKERS = {"Problem", "CellProblem", "problem", "Notice"}
#: Lists a message is collected in, by the name of the variable or attribute.
COLLECTORS = re.compile(r"problems|flags|refused|reasons|warnings|notes|lines", re.IGNORECASE)
#: Words of three letters or more outside the placeholders: a text, not a separator.
_WORD = re.compile(r"[A-Za-zÄÖÜäöüß]{3,}")
#: Command-line options are the same in every language.
_OPTION = re.compile(r"--[a-z][a-z-]*")
#: Modules of test platforms (no person reads them): the in-memory platform of the tests.
NOT_READ = {"connector/memory.py"}


def _files() -> list[Path]:
    files: list[Path] = []
    for name in SOURCES:
        path = ROOT / name
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return [
        f
        for f in files
        if "testing" not in f.parts and f.relative_to(ROOT).as_posix() not in NOT_READ
    ]


def _text(node: ast.expr) -> str | None:
    """The literal text of a message expression, or None if it is looked up or computed."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left), _text(node.right)
        return None if left is None and right is None else (left or "") + (right or "")
    return None


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _messages(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, text) of every message made from literal text."""
    found: list[tuple[int, str]] = []

    def add(node: ast.expr) -> None:
        text = _text(node)
        if text is not None and _WORD.search(_OPTION.sub("", text)):
            found.append((node.lineno, text))

    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            if _name(node.exc.func) not in INTERNAL and node.exc.args:
                add(node.exc.args[0])
        elif isinstance(node, ast.Call) and _name(node.func) in MAKERS and node.args:
            add(node.args[-1])  # the message; the arguments before name the line and field
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "append"
            and COLLECTORS.search(_name(node.func.value))
            and node.args
        ):
            arg = node.args[0]
            for part in arg.elts if isinstance(arg, ast.Tuple) else [arg]:
                add(part)
    return sorted(found)


def test_every_message_is_looked_up_in_the_catalog() -> None:
    english = _unwrapped()
    assert not english, "messages not wrapped in _():\n" + "\n".join(english)


def _unwrapped() -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line}: {text!r}"
        for path in _files()
        for line, text in _messages(ast.parse(path.read_text(encoding="utf-8")))
    ]


def test_the_check_finds_an_unwrapped_message() -> None:
    code = (
        "def f(x):\n"
        "    problems.append(f'{x} is not known')\n"
        "    problems.append(f'{x}: {y}')\n"
        "    raise InputError(_('{x} is not known').format(x=x))\n"
        "    raise Fatal('cannot ' + x)\n"
        "    raise AssertionError('unreachable code')\n"
        "    self.problem(2, 'uid', f'the store has {x}')\n"
        "    return Problem('field', 'a rule is broken')\n"
    )
    assert [line for line, _text in _messages(ast.parse(code))] == [2, 5, 7, 8]


if __name__ == "__main__":
    print("\n".join(_unwrapped()))


def _lookups(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, msgid) of every ``_()``, ``N_()`` and ``ngettext()`` of a literal, f-strings'
    expressions included (the extractor does not look inside f-strings)."""
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and _name(node.func) in ("_", "N_", "ngettext")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def test_every_lookup_has_german_in_the_catalog() -> None:
    from tests.test_german import _catalog

    german = {ids[0] for ids, strings in _catalog() if all(strings)}
    missing = [
        f"{path.relative_to(ROOT)}:{line}: {msgid!r}"
        for path in _files()
        for line, msgid in _lookups(ast.parse(path.read_text(encoding="utf-8")))
        if msgid not in german
    ]
    assert not missing, "looked up but not in the German catalog:\n" + "\n".join(missing)
