"""Logs carry no personal data, at any level and from any library.

Records are redacted as they are made (a log-record factory), so every handler — the
terminal, a file, a test's capture — sees the same safe text: e-mail addresses (also
URL-encoded, as in Mailman's ``/3.1/addresses/…`` paths an HTTP library logs) become
``<address>`` and query strings (``?subscriber=…``, ``?search=…``) become ``?<query>``.
The project's own log lines name records by uid, never by a person's name.
"""

from __future__ import annotations

import logging
import re
from typing import Any

_ADDRESS = re.compile(r"[^\s/?&=\"'<>(),;:]+(?:@|%40)[^\s/?&=\"'<>(),;:]+", re.IGNORECASE)
_QUERY = re.compile(r"(?<=[\w/.])\?[^\s\"'?]+")
_installed = False
#: Addresses that are no one's personal data (the mapped mailing lists): logs keep them.
_PUBLIC: set[str] = set()


def publish(addresses: set[str] | list[str]) -> None:
    """Let ``addresses`` (mailing lists named in a mapping) appear in logs as they are."""
    _PUBLIC.update(address.lower() for address in addresses)


def _address(match: re.Match[str]) -> str:
    text = match.group(0)
    return text if text.lower().replace("%40", "@") in _PUBLIC else "<address>"


def redact(text: str) -> str:
    """``text`` without e-mail addresses (except published list addresses) and query strings."""
    return _ADDRESS.sub(_address, _QUERY.sub("?<query>", text))


def install() -> None:
    """Redact every log record from now on (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    make = logging.getLogRecordFactory()

    def safe_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        return record

    logging.setLogRecordFactory(safe_record)


def configure(verbose: bool) -> None:
    """The CLI's logging: warnings (or everything with ``--verbose``) on stderr, redacted."""
    install()
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
