"""The user's language: German when the locale says so, English otherwise (gettext).

This is the gettext mechanics every layer shares; it lives in ``connector`` because adapters
speak to people too (a refused login, a Deck title that is too long) and ``connector``
imports nothing of the project. ``sync.i18n`` offers the same functions plus the domain's
labels; the rest of the code imports from there.

Wrap a message a person reads in ``_("...")`` (``ngettext`` for counts) and add its German
text to ``sync/locale/de/LC_MESSAGES/connector.po``; ``scripts/i18n.py`` extracts and compiles
the catalog. The language comes from ``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES`` and ``LANG``, in
gettext's order. ``--json`` output is for scripts and stays English: never translate keys.
"""

from __future__ import annotations

import gettext
import os
from functools import cache
from pathlib import Path

DOMAIN = "connector"
#: The project's one catalog. It ships as package data of ``sync`` (pyproject.toml); this is a
#: path to read, not an import, so ``connector`` stays free of the other layers.
LOCALE_DIR = Path(__file__).resolve().parent.parent / "sync" / "locale"
_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


@cache
def _translation(_environment: tuple[str, ...]) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, LOCALE_DIR, fallback=True)


def translation() -> gettext.NullTranslations:
    """The catalog for the current environment (English: no catalog)."""
    return _translation(tuple(os.environ.get(name, "") for name in _VARIABLES))


def _(message: str) -> str:
    """``message`` in the user's language."""
    return translation().gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural form for ``count``, in the user's language."""
    return translation().ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Mark ``message`` for the catalog; translate it later with ``_(message)``."""
    return message


def is_german() -> bool:
    """Whether messages are shown in German."""
    return _("en") == "de"


def install() -> None:
    """Make this catalog the process's gettext domain, so that typer's own texts (panel
    titles, "[required]", …) are looked up in it too. Call before any help is shown."""
    gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
    gettext.textdomain(DOMAIN)
