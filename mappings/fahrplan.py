"""Fahrplan templates: a programme's timeline as a TOML file an admin edits without code.

A template names the programme, the cohort's title, and its **events** (days counted from
the cohort's start, all-day spans or a time of day) and the council's **tasks** (due a number
of days before or after one event, the *milestone*). Every item has a ``key`` that stays
stable, so running ``connector cohort new`` again updates the items instead of adding new
ones. Items marked ``per_group`` repeat for each regional group. Loading reports every
problem as ``FILE:LINE: field: message`` like a mapping file (see :mod:`mappings.load`).

Shipped templates live in ``mappings/fahrplan/``; the README's Fahrplan section lists the keys.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from decimal import Decimal
from difflib import get_close_matches
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError

from mappings.errors import MappingError
from mappings.lines import LineIndex, Loc, dotted
from mappings.load import Problem, _read, _syntax_problem, _validation_problems
from mappings.schema import _matching
from sync.i18n import N_, _, ngettext
from sync.model import Audience, EventKind, Uid

SHIPPED = Path(__file__).parent / "fahrplan"

Key = Annotated[
    str,
    _matching(
        r"^[a-z0-9][a-z0-9-]{0,47}$",
        N_("a valid key: lower-case letters, digits or '-', at most 48 (e.g. start-workshop)"),
    ),
]
TimeSpan = Annotated[
    str,
    _matching(
        r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$",
        N_('a time span "HH:MM-HH:MM" (e.g. "09:30-15:00")'),
    ),
]
#: Placeholders a cohort title may use (item titles: {number}, and {group} if per_group).
TITLE_FIELDS = ("number", "start_year", "end_year")


class Strict(BaseModel):
    """Unknown keys are errors; no type coercion surprises."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PlanItem(Strict):
    """What events and tasks have in common: a stable key, a title, per regional group."""

    key: Key
    title: str = Field(min_length=1)
    per_group: StrictBool = Field(default=False, description="once per regional group")


class EventItem(PlanItem):
    """One event of the timeline."""

    kind: EventKind
    day: StrictInt = Field(description="days after the cohort's start (negative: before)")
    days: StrictInt = Field(default=1, ge=1, description="length in days, for all-day events")
    time: TimeSpan | None = Field(default=None, description="time of day; all-day if missing")
    location: str = ""
    description: str = ""
    audience: list[Audience] = Field(default=[Audience.COUNCIL], min_length=1)
    stagger_days: StrictInt = Field(default=0, ge=0, description="days between the groups")


class TaskItem(PlanItem):
    """One task of the council, due relative to an event."""

    milestone: Key = Field(description="the event key the due date counts from")
    offset: StrictInt = Field(default=0, description="days after the milestone (negative: before)")
    counted_from: Literal["start", "end"] = Field(default="start", alias="from")
    tags: list[str] = []
    notes: str = ""


class FahrplanTemplate(Strict):
    """A programme's Fahrplan."""

    programme: Uid
    name: str = Field(min_length=1)
    title: str = Field(min_length=1, description="cohort title; {number}, {start_year}, {end_year}")
    period_days: StrictInt | None = Field(
        default=None, ge=1, description="length of the cohort; else up to its last item"
    )
    reveal: Key | None = Field(default=None, description="event key whose day reveals tandems")
    fee_per_mentee: Decimal | None = None
    total_cost: Decimal | None = None
    regional_groups: list[str] = []
    events: list[EventItem] = Field(min_length=1)
    tasks: list[TaskItem] = []


def _cross_checks(template: FahrplanTemplate) -> list[tuple[Loc, str]]:
    """What pydantic cannot see: unique keys, milestones that exist, title placeholders."""
    found: list[tuple[Loc, str]] = []
    seen: dict[str, str] = {}
    events = {e.key for e in template.events}
    tables: tuple[tuple[str, Sequence[PlanItem]], ...] = (
        ("events", template.events),
        ("tasks", template.tasks),
    )
    for table, items in tables:
        for index, item in enumerate(items):
            if item.key in seen:
                message = _("duplicate key {key} (first used by {first})")
                found.append(
                    (
                        (table, index, "key"),
                        message.format(key=repr(item.key), first=seen[item.key]),
                    )
                )
            seen.setdefault(item.key, f"{table}[{index}]")
            if item.per_group and not template.regional_groups:
                found.append(
                    ((table, index, "per_group"), _("per_group needs regional_groups at the top"))
                )
    for table, items in tables:
        for index, item in enumerate(items):
            allowed = ("number", "group") if item.per_group else ("number",)
            for name in re.findall(r"\{([^{}]*)\}", item.title):
                if name not in allowed:
                    message = _("unknown placeholder {placeholder}; use {names}").format(
                        placeholder=f"{{{name}}}", names=", ".join(allowed)
                    )
                    if name == "group":
                        message = _("{group} needs per_group = true")
                    found.append(((table, index, "title"), message))
    for index, task in enumerate(template.tasks):
        if task.milestone not in events:
            found.append(((("tasks", index, "milestone")), _unknown_event(task.milestone, events)))
    if template.reveal is not None and template.reveal not in events:
        found.append((("reveal",), _unknown_event(template.reveal, events)))
    for name in re.findall(r"\{([^{}]*)\}", template.title):
        if name not in TITLE_FIELDS:
            message = _("unknown placeholder {placeholder}; use {names}").format(
                placeholder=f"{{{name}}}", names=", ".join(TITLE_FIELDS)
            )
            found.append((("title",), message))
    return found


def _unknown_event(key: str, events: set[str]) -> str:
    guess = get_close_matches(key, sorted(events), n=1)
    if guess:
        return _("no event with key {key}; did you mean {guess}?").format(
            key=repr(key), guess=repr(guess[0])
        )
    return _("no event with key {key}").format(key=repr(key))


def inspect_template(path: str | Path) -> tuple[FahrplanTemplate | None, list[Problem]]:
    """The template in ``path`` (None if it has problems) and every problem found."""
    path = Path(path)
    file = str(path)
    text, problem = _read(path)
    if text is None:
        return None, [problem] if problem else []
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return None, [_syntax_problem(file, text, exc)]
    index = LineIndex(text)
    template: FahrplanTemplate | None = None
    try:
        template = FahrplanTemplate.model_validate(data)
    except ValidationError as exc:
        found = _validation_problems(data, exc, FahrplanTemplate)
    else:
        found = _cross_checks(template)
    problems = [Problem(file, index.line(loc), dotted(loc), msg) for loc, msg in found]
    problems.sort(key=lambda p: p.line)
    return (None, problems) if problems else (template, [])


def load_template(path: str | Path) -> FahrplanTemplate:
    """The checked template at ``path``; raises :class:`MappingError` listing all problems."""
    template, problems = inspect_template(path)
    if template is None:
        count = len(problems)
        raise MappingError(
            ngettext(
                "{path}: {n} problem in the Fahrplan template",
                "{path}: {n} problems in the Fahrplan template",
                count,
            ).format(path=path, n=count),
            problems=[str(problem) for problem in problems],
        )
    return template


def find_template(programme: str, folders: list[Path]) -> Path:
    """The template file for ``programme``: the first in ``folders`` whose ``programme`` fits.

    Files that cannot be parsed are skipped here (``load_template`` reports them when named).
    """
    seen = []
    for folder in folders:
        for path in sorted(folder.glob("*.toml")):
            try:
                declared = tomllib.loads(path.read_text(encoding="utf-8")).get("programme")
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                declared = None
            if declared == programme:
                return path
            shown = declared or _("unreadable")  # outside the f-string: the extractor sees it
            seen.append(f"{path} ({shown})")
    raise MappingError(
        _("no Fahrplan template for programme {programme}").format(programme=repr(programme)),
        problems=[_("looked at {file}").format(file=entry) for entry in seen],
    )
