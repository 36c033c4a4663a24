"""The error a checking command ends with when it found problems (exit 3), or None.

Each names how many problems it found in how many files (or tandems) and carries them, one
per line, so the CLI prints them under the message.
"""

from __future__ import annotations

from pathlib import Path

from connector.errors import ConfigError, InputError
from mappings.fahrplan import inspect_template
from sync.i18n import ngettext
from sync.matching import CohortCheck


def mapping_files(files: list[Path], ok: list[str], problems: list[str]) -> ConfigError | None:
    """``connector mappings check``: ``ok`` are its ``ok: FILE`` lines (and notes)."""
    if not problems:
        return None
    failed = len(files) - sum(line.startswith("ok: ") for line in ok)
    count = ngettext("{n} problem", "{n} problems", len(problems)).format(n=len(problems))
    return ConfigError(
        ngettext("{count} in {n} mapping file", "{count} in {n} mapping files", failed).format(
            count=count, n=failed
        ),
        problems=problems,
    )


def fahrplan_templates(files: list[Path]) -> ConfigError | None:
    """``connector cohort check``: every problem of every template file."""
    problems = [str(p) for f in files for p in inspect_template(f)[1]]
    if not problems:
        return None
    return ConfigError(
        ngettext("{n} problem", "{n} problems", len(problems)).format(n=len(problems))
        + " "
        + ngettext("in {n} Fahrplan template", "in {n} Fahrplan templates", len(files)).format(
            n=len(files)
        ),
        problems=problems,
    )


def tandems(result: CohortCheck, *, listed: bool) -> InputError | None:
    """``connector match check``; the problems ride along unless ``listed`` elsewhere (JSON)."""
    if not result.problems:
        return None
    count = len(result.problems)
    return InputError(
        ngettext(
            "{cohort}: {n} problem in the tandems",
            "{cohort}: {n} problems in the tandems",
            count,
        ).format(cohort=result.cohort, n=count),
        problems=[] if listed else [str(p) for p in result.problems],
    )
