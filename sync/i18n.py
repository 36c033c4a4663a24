"""The user's language for the sync, mapping and CLI layers: gettext plus the domain's labels.

The gettext mechanics (``_``, ``ngettext``, ``N_``, the catalog) are
:mod:`connector.i18n`'s, shared with the adapters; this module adds how the entity kinds are
named. Wrap a message a person reads in ``_("...")`` (``ngettext`` for counts) and add its
German text to ``sync/locale/de/LC_MESSAGES/connector.po``; ``scripts/i18n.py`` extracts and
compiles the catalog. ``--json`` output is for scripts and stays English: never translate keys.
This module is a leaf of the layering: it imports nothing of the project but ``connector``.
"""

from __future__ import annotations

from collections.abc import Iterable

from connector.i18n import DOMAIN, LOCALE_DIR, N_, _, install, is_german, ngettext, translation

__all__ = [
    "DOMAIN",
    "KIND_LABELS",
    "LOCALE_DIR",
    "N_",
    "ROLE_LABELS",
    "_",
    "a_kind",
    "install",
    "is_german",
    "kind_label",
    "ngettext",
    "role_label",
    "roles_label",
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


def a_kind(kind: str) -> str:
    """The kind with its indefinite article: "an event" (German: "vom Typ Termin")."""
    article = _("an {kind}") if kind[:1] in tuple("aeiou") else _("a {kind}")
    return article.format(kind=kind_label(kind))


#: How each role is named in messages (English: the role's own value).
ROLE_LABELS = {
    "mentee": N_("mentee"),
    "mentor": N_("mentor"),
    "council": N_("council"),
    "trainer": N_("trainer"),
    "staff": N_("staff"),
    "participant": N_("participant"),
}


def role_label(role: str) -> str:
    """The role ``role`` as a person reads it, in the user's language."""
    return _(ROLE_LABELS.get(role, role))


def roles_label(roles: Iterable[str]) -> str:
    """Roles as a sorted, comma-separated list in the user's language ("none" if empty)."""
    return ", ".join(role_label(r) for r in sorted(roles)) or _("none")
