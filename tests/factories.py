"""Canonical entities the tests build again and again."""

from __future__ import annotations

from datetime import date
from typing import Any

from sync.model import Cohort

#: The order the README gives for importing an example: each file refers only to what came
#: before.
IMPORT_ORDER = (
    "organisations",
    "programmes",
    "people",
    "cohorts",
    "applications",
    "tandems",
    "events",
    "tasks",
)


def cohort_10(**changes: Any) -> Cohort:
    """Cohort 10 of Mentoring im Münsterland (2025/26); ``changes`` override fields."""
    data: dict[str, Any] = {
        "uid": "mim-10",
        "programme": "mim",
        "number": 10,
        "title": "Mentoring 10",
        "period_start": date(2025, 3, 1),
        "period_end": date(2026, 12, 31),
    }
    return Cohort.model_validate({**data, **changes})
