"""Help texts without Python's types: ``--stats`` instead of ``--stats <bool>``.

Typer shows each parameter's annotation (``<bool>``, ``<list[str]>``, ``<path>``) in the help
panels. :func:`install` replaces that column: nothing for flags, a metavar if one is given,
and otherwise a word a person reads (``TEXT``, ``N``, ``PATH``; choices as ``a|b|c``).
"""

from __future__ import annotations

import re
from typing import Any

from typer import core

from sync.i18n import _

_WORDS = {"str": "TEXT", "int": "N", "float": "N", "path": "PATH", "datetime": "DATE"}


def _word(type_name: str) -> str:
    words = {"TEXT": _("TEXT"), "N": _("N"), "PATH": _("PATH"), "DATE": _("DATE")}
    return words.get(_WORDS.get(type_name, ""), type_name)


def readable_type(param: Any, ctx: Any, original: Any) -> str | None:
    """What the help shows after a parameter's name."""
    if getattr(param, "metavar", None):
        return str(param.metavar)
    if getattr(param, "is_flag", False):
        return None
    shown = original(param, ctx)
    if shown is None:
        return None
    text = str(shown).strip("<>").removesuffix("...")
    many = re.fullmatch(r"list\[(.*)\]", text)
    inner = many.group(1) if many else text
    if "|" in inner:
        return inner
    return _word(inner) + (" …" if many or str(shown).endswith("...") else "")


def install() -> None:
    """Show readable types in every help panel of this process."""
    for cls in (core.TyperOption, core.TyperArgument):
        original = cls.display_type_rich
        if getattr(original, "_readable", False):
            continue

        def patched(self: Any, ctx: Any, _original: Any = original) -> str | None:
            return readable_type(self, ctx, _original)

        patched._readable = True  # type: ignore[attr-defined]
        cls.display_type_rich = patched  # type: ignore[method-assign]
