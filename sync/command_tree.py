"""Build only the commands a command line names.

Before typer runs a command it builds the click command of every command and group of the
app (their parameters from the functions' signatures, translated help): ~20 ms of every
``connector`` call, for one command. A command line names the command it runs, so only the
commands and groups whose names are among its words are built. A line that names none (typer
then says "No such command" and suggests one) and every help call build the whole tree, so
what they print stays what it was.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import typer
from typer.main import get_command_name

_HELP = frozenset({"--help", "-h"})


@contextmanager
def named_only(app: typer.Typer, words: Sequence[str]) -> Iterator[None]:
    """While the block runs, ``app`` holds only the commands and groups ``words`` name."""
    named = set(words)
    commands = [c for c in app.registered_commands if _name(c) in named]
    groups = [g for g in app.registered_groups if g.name in named]
    if named & _HELP or not (commands or groups):
        yield
        return
    kept = app.registered_commands, app.registered_groups
    app.registered_commands, app.registered_groups = commands, groups
    try:
        yield
    finally:
        app.registered_commands, app.registered_groups = kept


def _name(command: typer.models.CommandInfo) -> str | None:
    if command.name:
        return command.name
    callback = command.callback
    return get_command_name(callback.__name__) if callback is not None else None
