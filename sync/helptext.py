"""Help texts without Python's types: ``--stats`` instead of ``--stats <bool>``.

Typer shows each parameter's annotation (``<bool>``, ``<list[str]>``, ``<path>``) in the help
panels. :func:`install` replaces that column: nothing for flags, a metavar if one is given,
and otherwise a word a person reads (``TEXT``, ``N``, ``PATH``; choices as ``a|b|c``).
"""

from __future__ import annotations

import re
from typing import Any

from typer import core

from sync.i18n import N_, _

_WORDS = {"str": "TEXT", "int": "N", "float": "N", "path": "PATH", "datetime": "DATE"}


def _word(type_name: str) -> str:
    words = {"TEXT": _("TEXT"), "N": _("N"), "PATH": _("PATH"), "DATE": _("DATE")}
    return words.get(_WORDS.get(type_name, ""), type_name)


def readable_type(param: Any, ctx: Any, original: Any) -> str | None:
    """What the help shows after a parameter's name."""
    if getattr(param, "metavar", None):
        return str(param.metavar)
    if getattr(param, "is_flag", False):
        return None
    shown = original(param, ctx)
    if shown is None:
        return None
    text = str(shown).strip("<>").removesuffix("...")
    many = re.fullmatch(r"list\[(.*)\]", text)
    inner = many.group(1) if many else text
    if "|" in inner:
        return inner
    return _word(inner) + (" …" if many or str(shown).endswith("...") else "")


def install() -> None:
    """Show readable types in every help panel of this process, and typer's own texts (the
    usage line, the help option) and every command's help in the user's language."""
    _usage_prefix()
    _translated_commands()
    for cls in (core.TyperOption, core.TyperArgument):
        original = cls.display_type_rich
        if getattr(original, "_readable", False):
            continue

        def patched(self: Any, ctx: Any, _original: Any = original) -> str | None:
            return readable_type(self, ctx, _original)

        patched._readable = True  # type: ignore[attr-defined]
        cls.display_type_rich = patched  # type: ignore[method-assign]


def _usage_prefix() -> None:
    from typer._click import formatting

    original = formatting.HelpFormatter.write_usage
    if getattr(original, "_readable", False):
        return

    def write_usage(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
        original(self, prog, args, _("Usage: ") if prefix is None else prefix)

    write_usage._readable = True  # type: ignore[attr-defined]
    formatting.HelpFormatter.write_usage = write_usage  # type: ignore[method-assign]

    from typer._click import core as click_core

    get_help_option = click_core.Command.get_help_option
    if getattr(get_help_option, "_readable", False):
        return

    def help_option(self: Any, ctx: Any) -> Any:
        option = get_help_option(self, ctx)
        if option is not None:
            option.help = _("Show this message and exit.")
        return option

    help_option._readable = True  # type: ignore[attr-defined]
    click_core.Command.get_help_option = help_option  # type: ignore[method-assign]


#: typer's command-line errors (exit code 2), as (English pattern, message in the catalog).
_USAGE = [
    (
        r"No such option: (?P<option>\S+)(?: Did you mean (?P<guess>\S+)\?"
        r"| \(Possible options: (?P<possible>.+)\))?",
        N_("unknown option {option}"),
    ),
    (
        r"Invalid value for (?P<param>.+?): (?:Value error, )?(?P<value>'.*?') is not one of "
        r"(?P<choices>.+)\.",
        N_("invalid value for {param}: {value} is not one of {choices}"),
    ),
    (
        r"Invalid value for (?P<param>.+?): (?P<message>.*)",
        N_("invalid value for {param}: {message}"),
    ),
    (r"Missing argument (?P<param>\S+)\..*", N_("the argument {param} is missing")),
    (r"Missing option (?P<param>\S+)\..*", N_("the option {param} is missing")),
    (r"Missing command\.", N_("a command is missing")),
    (r"No such command (?P<name>'.*')\.", N_("there is no command {name}")),
    (r"Got unexpected extra arguments? \((?P<args>.*)\)", N_("unexpected extra argument: {args}")),
    (r"Option (?P<option>'.*') requires an argument\.", N_("the option {option} needs a value")),
]


def usage_message(english: str) -> str:
    """A command-line error of typer in the user's language (unknown ones as they are)."""
    for pattern, message in _USAGE:
        found = re.fullmatch(pattern, english.strip(), flags=re.DOTALL)
        if found:
            values = {k: v for k, v in found.groupdict().items() if v is not None}
            text = _(message).format(**values)
            if values.get("guess"):
                text += " " + _("(did you mean {guess}?)").format(guess=values["guess"])
            if values.get("possible"):
                text += " " + _("(possible: {options})").format(options=values["possible"])
            return text
    return english


def commands(root: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(name, click command) of ``root`` and every command below it."""
    found = [(prefix.strip() or "connector", root)]
    for name, command in getattr(root, "commands", {}).items():
        found += commands(command, f"{prefix}{name} ")
    return found


def help_texts(root: Any) -> list[str]:
    """Every help text of the command tree ``root`` (commands and their parameters)."""
    texts: list[str] = []
    for _name, command in commands(root):
        texts += [t for t in (command.help, command.short_help) if t]
        texts += [p.help for p in command.params if getattr(p, "help", None)]
    return list(dict.fromkeys(texts))


def translate_tree(root: Any) -> None:
    """Put the help texts of ``root``'s command tree into the user's language."""
    for _name, command in commands(root):
        if command.help:
            command.help = _(command.help)
        if command.short_help:
            command.short_help = _(command.short_help)
        for param in command.params:
            if getattr(param, "help", None):
                param.help = _(param.help)


#: typer's own way of building the command tree, before :func:`install` wraps it.
build_command: Any = None


def _translated_commands() -> None:
    global build_command
    import typer.main

    if build_command is not None:
        return
    build_command = typer.main.get_command

    def get_command(typer_instance: Any) -> Any:
        root = build_command(typer_instance)
        translate_tree(root)
        return root

    typer.main.get_command = get_command
