"""The user's language: German when the locale says so, English otherwise (gettext).

Wrap a message a person reads in ``_("...")`` (``ngettext`` for counts) and add its German
text to ``sync/locale/de/LC_MESSAGES/connector.po``; ``scripts/i18n.sh`` extracts and compiles
the catalog. The language comes from ``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES`` and ``LANG``, in
gettext's order. ``--json`` output is for scripts and stays English: never translate keys.
"""

from __future__ import annotations

import gettext
import os
from functools import cache
from pathlib import Path

DOMAIN = "connector"
LOCALE_DIR = Path(__file__).with_name("locale")
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


#: How each entity kind is named in tables and summaries.
KIND_LABELS = {
    "programme": N_("programme"),
    "organisation": N_("organisation"),
    "cohort": N_("cohort"),
    "person": N_("person"),
    "application": N_("application"),
    "tandem": N_("tandem"),
    "event": N_("event"),
    "task": N_("task"),
}


def kind_label(kind: str) -> str:
    """The entity kind ``kind`` as a person reads it, in the user's language."""
    return _(KIND_LABELS.get(kind, kind))


def is_german() -> bool:
    """Whether messages are shown in German."""
    return _("en") == "de"


def install() -> None:
    """Make this catalog the process's gettext domain, so that typer's own texts (panel
    titles, "[required]", …) are looked up in it too. Call before any help is shown."""
    gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
    gettext.textdomain(DOMAIN)
