"""Checking the format after a placeholder's colon against the type of the value it formats.

Dates take ``strftime`` directives (with glibc's ``-``/``_``/``0``/``^``/``#`` flags, but no
widths); text, whole numbers and amounts take Python's format spec. Every width and precision
is bounded, because ``{name:>2000000000}`` would otherwise build gigabytes during a pass.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

#: The largest width or precision a format may ask for (a card title holds 255 characters).
MAX_WIDTH = 1000

_SPEC = re.compile(
    r"(?:(?P<fill>.)?(?P<align>[<>=^]))?(?P<sign>[-+ ])?z?#?0?"
    r"(?P<width>\d+)?[_,]?(?:\.(?P<precision>\d+))?(?P<type>[a-zA-Z%])?",
    re.DOTALL,
)
_DIRECTIVE = re.compile(r"%([-_0^#]*)(\d*)(.?)", re.DOTALL)
_DATE_LETTERS = set("aAwdbBmyYHIpMSfzZjUWcxXGuVeFTRDhkl%")
_SAMPLES: dict[str, Any] = {"text": "Süß", "whole number": 7, "amount": Decimal("12.50")}


def _kind(annotation: Any) -> str:
    """``date``, ``text``, ``whole number``, ``amount``, or what else the value is."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, UnionType):
            rest = [arg for arg in get_args(annotation) if arg is not type(None)]
            annotation = rest[0] if len(rest) == 1 else str
        else:
            break
    if origin is Literal:
        return "text"
    if isinstance(annotation, type):
        if issubclass(annotation, date | datetime):
            return "date"
        if issubclass(annotation, bool):
            return "yes/no value"
        if issubclass(annotation, str | Enum):
            return "text"
        if issubclass(annotation, int):
            return "whole number"
        if issubclass(annotation, Decimal | float):
            return "amount"
    return "list"


def _bounded(what: str, digits: str | None) -> str | None:
    if digits and (len(digits) > 6 or int(digits) > MAX_WIDTH):
        shown = digits if len(digits) <= 12 else digits[:9] + "..."
        return f"{what} {shown} is too large (at most {MAX_WIDTH})"
    return None


def _check_date(fmt: str) -> str | None:
    for match in _DIRECTIVE.finditer(fmt):
        flags, width, letter = match.groups()
        if width:
            return f"a width in a date format is not supported (%{flags}{width}{letter})"
        if letter not in _DATE_LETTERS:
            shown = f"%{flags}{letter}" if letter else "a lone %"
            return f"unknown date directive {shown}; write %% for a percent sign"
    return None


def check_format(annotation: Any, fmt: str) -> str | None:
    """The problem with formatting a value of ``annotation`` by ``fmt``, or None."""
    kind = _kind(annotation)
    if kind == "date":
        return _check_date(fmt)
    if kind not in _SAMPLES:
        return f"a format applies only to text, numbers and dates, not to a {kind}"
    spec = _SPEC.fullmatch(fmt)
    if spec is not None:
        problem = _bounded("width", spec.group("width")) or _bounded(
            "precision", spec.group("precision")
        )
        if problem:
            return problem
    try:
        format(_SAMPLES[kind], fmt)
    except ValueError:
        return f"format {fmt!r} does not apply to {kind}"
    return None
