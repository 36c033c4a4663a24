"""The store tables of the programme features, kept apart from the core schema.

``fahrplan_items``: per cohort and template item key, the uid the item got and the values
the template last produced for it, so a second run can tell the council's edits from its
own. ``erasures``: erasures in progress (a plan and the steps done), so a crashed
``connector forget`` finishes on the next run. Both are created on first use with
``CREATE TABLE IF NOT EXISTS``; they need no schema version of their own.
"""

from __future__ import annotations

from sync.store import Store

_TABLES = (
    """CREATE TABLE IF NOT EXISTS fahrplan_items (
        cohort TEXT NOT NULL,
        key TEXT NOT NULL,
        uid TEXT NOT NULL,
        produced TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (cohort, key)
    )""",
    """CREATE TABLE IF NOT EXISTS erasures (
        person TEXT PRIMARY KEY,
        started_at TEXT NOT NULL,
        plan TEXT NOT NULL,
        done TEXT NOT NULL DEFAULT '[]'
    )""",
)


def ensure_tables(store: Store) -> None:
    """Create the programme tables if this store does not have them yet."""
    for statement in _TABLES:
        store.db.execute(statement)
