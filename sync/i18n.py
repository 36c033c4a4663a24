"""The user's language for the sync, mapping and CLI layers: gettext plus the domain's labels.

The gettext mechanics (``_``, ``ngettext``, ``N_``, the catalog) are
:mod:`connector.i18n`'s, shared with the adapters; this module adds how the entity kinds are
named. Wrap a message a person reads in ``_("...")`` (``ngettext`` for counts) and add its
German text to ``sync/locale/de/LC_MESSAGES/connector.po``; ``scripts/i18n.py`` extracts and
compiles the catalog. ``--json`` output is for scripts and stays English: never translate keys.
This module is a leaf of the layering: it imports nothing of the project but ``connector``.
"""

from __future__ import annotations

from connector.i18n import DOMAIN, LOCALE_DIR, N_, _, install, is_german, ngettext, translation

__all__ = [
    "DOMAIN",
    "KIND_LABELS",
    "LOCALE_DIR",
    "N_",
    "_",
    "install",
    "is_german",
    "kind_label",
    "ngettext",
    "translation",
]

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
