"""A working folder for the real console script: a store of three events and a mapping that
puts them into one CalDAV calendar (for tests that run ``connector`` as a user does)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from connector.testing.calendar_servers import CalendarServer
from sync.model import BERLIN, Event
from sync.store import Store
from tests.factories import cohort_10

MAPPING = """\
name = "Kalender"
programme = "mim"
cohort = "mim-10"

[targets.kalender]
kind = "caldav"
url = "{url}"
user = "{user}"
audience = "participants"
secret = {secret}

[[rules]]
name = "fahrplan"
entity = "event"
target = "kalender"

[rules.calendar]
calendar = "{calendar}"
display_name = "Fahrplan"

[[rules.fields]]
remote = "summary"
canonical = "title"
policy = "newest"

[[rules.fields]]
remote = "start"
canonical = "start"
policy = "newest"

[[rules.fields]]
remote = "end"
canonical = "end"
policy = "newest"
"""


def write_folder(root: Path, server: CalendarServer, *, secret: str, calendar: str) -> None:
    """``connector.toml``, ``mapping.toml`` (``secret`` as written in TOML) and ``cohort.db``
    with three module events of cohort mim-10 in ``root``."""
    (root / "connector.toml").write_text(
        'store = "cohort.db"\nmappings = ["mapping.toml"]\n', encoding="utf-8"
    )
    (root / "mapping.toml").write_text(
        MAPPING.format(url=server.url, user=server.user, secret=secret, calendar=calendar),
        encoding="utf-8",
    )
    with Store.open(root / "cohort.db") as store:
        store.put(cohort_10())
        start = datetime(2026, 3, 2, 9, tzinfo=BERLIN)
        for n in range(3):
            day = start + timedelta(days=n)
            store.put(
                Event(
                    uid=f"ev-{n}",
                    cohort="mim-10",
                    event_kind="module",
                    title=f"Modul {n}",
                    start=day,
                    end=day + timedelta(hours=2),
                    audience={"mentees", "mentors"},
                )
            )
