"""The root of the exception hierarchy and the errors the adapters raise.

Every error the tool raises on purpose derives from :class:`ConnectorError` and carries its
own exit code, so the single handler at the CLI edge can print a message and exit without a
traceback. Adapters raise the :class:`TargetError` family; the engine decides per item.
Adapters also reject bad input themselves (:class:`InputError`, :class:`ConfigError`: a
collection the platform cannot hold), so those two categories live here with the root.
Each layer keeps its own errors next to it: ``mappings.errors`` (a mapping file is wrong),
``sync.errors`` (store, lock, safety rails, pending conflicts). This module imports nothing
of the project.
"""

from __future__ import annotations

from typing import TypeVar

_E = TypeVar("_E", bound="ConnectorError")


class ConnectorError(Exception):
    """Root of every deliberate error. ``exit_code`` is what the CLI exits with."""

    exit_code = 1
    #: One line telling the operator what to do next; printed after the message.
    hint = ""
    #: Whether the message itself says what to do (``connector doctor`` then adds no fix).
    advises = False


def advising(error: _E) -> _E:
    """``error``, marked as one whose message says what to do (in any language)."""
    error.advises = True
    return error


class InputError(ConnectorError):
    """Bad input from a file or the command line: fix the file and run again."""

    exit_code = 3

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class ConfigError(InputError):
    """A configuration or mapping file is wrong: fix it and run again."""


class CredentialsError(ConnectorError):
    """A target refused our credentials: fix the secret and run again."""

    exit_code = 5


class TargetError(ConnectorError):
    """A platform call failed. Subclasses say what the engine does next."""

    exit_code = 8


class PreconditionFailed(TargetError):
    """The remote record changed since the version we last saw (If-Match failed)."""


class NotFound(TargetError):
    """The remote record or collection does not exist (or was deleted)."""


class RetryLater(TargetError):
    """The platform is unavailable or throttling; try the same call again later."""

    exit_code = 9

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RecordRejected(TargetError):
    """The platform rejected this one record (bad data); other records can proceed."""


class Fatal(TargetError):
    """The platform cannot be used at all with this configuration."""
