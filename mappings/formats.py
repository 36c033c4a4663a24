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

from sync.i18n import N_, _

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
#: How each kind of value is named in a message.
_KIND_NAMES = {
    "date": N_("date"),
    "text": N_("text"),
    "whole number": N_("whole number"),
    "amount": N_("amount"),
    "yes/no value": N_("yes/no value"),
    "list": N_("list"),
}


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
        return _("{what} {value} is too large (at most {limit})").format(
            what=what, value=shown, limit=MAX_WIDTH
        )
    return None


def _check_date(fmt: str) -> str | None:
    for match in _DIRECTIVE.finditer(fmt):
        flags, width, letter = match.groups()
        if width:
            return _("a width in a date format is not supported ({directive})").format(
                directive=f"%{flags}{width}{letter}"
            )
        if letter not in _DATE_LETTERS:
            shown = f"%{flags}{letter}" if letter else _("a lone %")
            return _("unknown date directive {directive}; write %% for a percent sign").format(
                directive=shown
            )
    return None


def check_format(annotation: Any, fmt: str) -> str | None:
    """The problem with formatting a value of ``annotation`` by ``fmt``, or None."""
    kind = _kind(annotation)
    if kind == "date":
        return _check_date(fmt)
    if kind not in _SAMPLES:
        return _("a format applies only to text, numbers and dates, not to a {kind}").format(
            kind=_(_KIND_NAMES[kind])
        )
    spec = _SPEC.fullmatch(fmt)
    if spec is not None:
        problem = _bounded(_("width"), spec.group("width")) or _bounded(
            _("precision"), spec.group("precision")
        )
        if problem:
            return problem
    try:
        format(_SAMPLES[kind], fmt)
    except ValueError:
        return _("format {format} does not apply to {kind}").format(
            format=repr(fmt), kind=_(_KIND_NAMES[kind])
        )
    return None
