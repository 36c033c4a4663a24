"""Cell values as German offices write them: ``31.12.2025``, ``31.12.2025 09:00``, ``ja``,
``500,00 €``, ``a | b``; ISO forms work too. Every parser raises ValueError with a message a
coordinator understands.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sync.i18n import _

_GERMAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{2}|\d{4})$")
_GERMAN_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})(?::(\d{2}))?(?:\s*Uhr)?$", re.IGNORECASE)
_MULTI = re.compile(r"[,|]")
_TRUE = {"ja", "j", "x", "true", "wahr", "yes", "y", "1"}
_FALSE = {"nein", "n", "false", "falsch", "no", "0", "-"}
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def normalise(text: str) -> str:
    """A comparison key: case-folded, umlauts spelled out, only letters and digits kept
    (``E-Mail`` → ``email``, ``Fällig`` → ``faellig``)."""
    folded = text.casefold().translate(_UMLAUTS)
    return "".join(char for char in folded if char.isalnum())


def parse_date(text: str) -> date:
    """``31.12.2025``, ``31.12.25`` or ``2025-12-31``."""
    match = _GERMAN_DATE.match(text)
    try:
        if match:
            day, month, year = (int(part) for part in match.groups())
            return date(year + 2000 if year < 100 else year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(
            _("{text} is not a date (write it as 31.12.2025)").format(text=repr(text))
        ) from None


def parse_datetime(text: str) -> datetime | date:
    """``31.12.2025 09:00`` (Berlin time), ``2025-12-31T09:00[+01:00]``, or a bare date."""
    day_part, _sep, time_part = text.replace("T", " ", 1).partition(" ")
    try:
        day = parse_date(day_part.strip().rstrip(","))
    except ValueError:
        day = None
    if day is not None and not time_part.strip():
        return day
    match = _GERMAN_TIME.match(time_part.strip())
    if day is not None and match:
        hour, minute, second = (int(part or 0) for part in match.groups())
        try:
            return datetime(day.year, day.month, day.day, hour, minute, second)
        except ValueError:
            pass
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            _("{text!r} is not a date and time (write it as 31.12.2025 09:00)").format(text=text)
        ) from None


def parse_bool(text: str) -> bool:
    """ja/nein, x, true/false, 1/0."""
    key = text.casefold()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError(_("{text} is not yes or no (write ja or nein)").format(text=repr(text)))


def parse_int(text: str) -> int:
    """A whole number."""
    try:
        return int(text)
    except ValueError:
        raise ValueError(_("{text} is not a whole number").format(text=repr(text))) from None


def parse_decimal(text: str) -> Decimal:
    """An amount: ``500``, ``500,00``, ``1.234,50 €``, ``500 EUR``."""
    cleaned = text.replace("€", "").replace("EUR", "").replace(" ", "").replace("\u00a0", "")
    if "," in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(
            _("{text} is not an amount (write it as 500,00)").format(text=repr(text))
        ) from None


def split_multi(text: str) -> list[str]:
    """The values of a multi-valued cell, separated by ``,`` or ``|``."""
    return [part.strip() for part in _MULTI.split(text) if part.strip()]
