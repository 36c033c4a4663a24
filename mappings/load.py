"""Loading mapping files: TOML in, a checked :class:`MappingFile` out, or every problem.

Each problem reads ``FILE:LINE: dotted.field: message``. Three sources feed it: pydantic's
errors (translated into what is expected), secrets written inline, and the semantic checks
of :mod:`mappings.checks`. :class:`mappings.lines.LineIndex` turns each location into a line.
Also here: reading a target's secret from the environment or a command.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tomllib
from dataclasses import dataclass
from difflib import get_close_matches
from enum import Enum
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from mappings import checks
from mappings.errors import MappingError
from mappings.inline_secrets import inline_secrets
from mappings.lines import MAX_NESTING, LineIndex, Loc, bracket_overflow, deepest_key, dotted
from mappings.schema import LOADER_CHECKS_REFERENCES, MappingFile, TargetSpec
from sync.i18n import N_, _, ngettext

SECRET_TIMEOUT = 30.0
SECRET_MESSAGE = N_(
    "secrets must not be written in mapping files; "
    'use secret = { env = "NAME" } or secret = { command = "..." }'
)
_PREFIX = re.compile(r"^([a-z_]+(?:\[\d+\])*(?:\.[a-z_]+(?:\[\d+\])*)*): (.+)$", re.DOTALL)


@dataclass(frozen=True)
class Problem:
    """One problem in a mapping file, printed as ``FILE:LINE: field: message``."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        if self.line == 0:  # the file as a whole: no line to name
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


def _read(path: Path) -> tuple[str | None, Problem | None]:
    try:
        return path.read_text(encoding="utf-8"), None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        return None, Problem(str(path), line, "(file)", _("not UTF-8 text; save it as UTF-8"))
    except OSError as exc:
        reason = _("cannot read: {reason}").format(reason=exc.strerror or exc)
        return None, Problem(str(path), 0, "(file)", reason)


def _syntax_problem(file: str, text: str, exc: tomllib.TOMLDecodeError) -> Problem:
    message = str(exc)
    found = re.search(r"\(at line (\d+), column (\d+)\)", message)
    if found is None:
        reason = _toml_reason(message.replace("(at end of document)", "").strip())
        line = max(1, len(text.splitlines()))
        return Problem(
            file,
            line,
            "(syntax)",
            _("invalid TOML: {reason} at the end of the file").format(reason=reason),
        )
    line, column = int(found.group(1)), int(found.group(2))
    source = text.splitlines()[line - 1].strip() if line <= len(text.splitlines()) else ""
    reason = _toml_reason(message[: found.start()].strip())
    shown = _("invalid TOML: {reason} at column {column}: {source}")
    return Problem(
        file, line, "(syntax)", shown.format(reason=reason, column=column, source=source)
    )


#: tomllib's reasons (its messages are English), in the user's language.
_TOML_REASONS = {
    "Expected '=' after a key in a key/value pair": N_(
        "expected '=' after a key in a key/value pair"
    ),
    "Invalid value": N_("invalid value"),
    "Invalid statement": N_("invalid statement"),
    "Invalid initial character for a key part": N_("invalid initial character for a key part"),
    "Cannot overwrite a value": N_("cannot overwrite a value"),
    "Cannot declare": N_("a table is declared twice"),
    "Unclosed array": N_("unclosed array"),
    "Unterminated string": N_("unterminated string"),
    "Illegal character": N_("illegal character"),
    "Expected ']' at the end of a table declaration": N_("expected ']' at the end of a table name"),
    "Expected ']]' at the end of an array declaration": N_(
        "expected ']]' at the end of an array of tables"
    ),
    "Cannot mutate immutable namespace": N_("a table is declared twice"),
    "Cannot redefine namespace": N_("a table is declared twice"),
    "Duplicate inline table key": N_("a key is given twice"),
    "Unclosed inline table": N_("unclosed inline table"),
    "Unescaped": N_("unescaped '\\' in a string"),
    "Escaped character": N_("invalid escape in a string"),
    "Invalid hex value": N_("invalid escape in a string"),
    "Found invalid character": N_("illegal character"),
    "Expected": N_("unexpected text"),
    "Expected newline or end of document after a statement": N_(
        "expected a new line or the end of the file after a statement"
    ),
    "Invalid date or datetime": N_("invalid date or time"),
}


def _toml_reason(reason: str) -> str:
    """tomllib's ``reason`` in the user's language where it is known (else as it is)."""
    for english, ours in sorted(_TOML_REASONS.items(), key=lambda item: -len(item[0])):
        if reason.startswith(english):
            translated = _(ours)
            return reason if translated == ours else translated  # English: tomllib's own words
    return reason


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, UnionType) and type(None) in get_args(annotation):
            rest = [arg for arg in get_args(annotation) if arg is not type(None)]
            annotation = rest[0] if len(rest) == 1 else Union[tuple(rest)]  # noqa: UP007
        else:
            return annotation


def _schema_at(loc: Loc, root: Any = MappingFile) -> Any:
    """The annotation of the schema field at ``loc`` (None where the schema has none)."""
    node: Any = root
    for part in loc:
        node = _unwrap(node)
        if isinstance(node, type) and issubclass(node, BaseModel):
            by_key = {info.alias or name: info for name, info in node.model_fields.items()}
            if part not in by_key:
                return None
            node = by_key[str(part)].annotation
        elif get_origin(node) in (list, dict):
            node = get_args(node)[-1]
        else:
            return None
    return _unwrap(node)


def _describe(annotation: Any) -> str:
    """What a value of ``annotation`` looks like in TOML."""
    annotation = _unwrap(annotation)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return _("one of {values}").format(values=", ".join(f'"{arg}"' for arg in args))
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        values = ", ".join(f'"{member.value}"' for member in annotation)
        return _("one of {values}").format(values=values)
    if origin in (Union, UnionType):
        kinds = [_describe(arg) for arg in args]
        return _("{some} or {last}").format(some=", ".join(kinds[:-1]), last=kinds[-1])
    if _is_tables(annotation):
        return _("an array of tables")
    if origin is list:
        return _("a list of {kind}").format(kind=_describe(_unwrap(args[0])))
    if origin is dict or (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return _("a table")
    names = {
        bool: N_("true or false (no quotes)"),
        int: N_("a whole number"),
        str: N_("text in quotes"),
    }
    anything = N_("a value")  # on its own: the extractor misses a lookup inside a lookup
    return _(names.get(annotation, anything))


def _is_tables(annotation: Any) -> bool:
    """Whether ``annotation`` is a list of tables (``[[rules]]``)."""
    annotation = _unwrap(annotation)
    if get_origin(annotation) is not list:
        return False
    inner = _unwrap(get_args(annotation)[0])
    return isinstance(inner, type) and issubclass(inner, BaseModel)


def _data_loc(loc: tuple[int | str, ...], data: Any, missing: bool) -> Loc:
    """``loc`` without pydantic's union tags (``'str'``, ``'list[str]'``): keys of the data."""
    found: list[str | int] = []
    node = data
    for position, part in enumerate(loc):
        last = position == len(loc) - 1
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if (isinstance(node, dict) and part in node) or in_list:
            node = node[part]
        elif not (part == "[key]" or (missing and last)):
            continue
        found.append(part)
    return tuple(found)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _explain(loc: Loc, items: list[ErrorDetails], root: Any = MappingFile) -> tuple[Loc, str]:
    """One readable message for the pydantic errors at ``loc`` (in a file of model ``root``)."""
    first = items[0]
    kind, message = first["type"], first["msg"].removeprefix("Value error, ")
    if loc and loc[-1] == "[key]":
        return loc[:-1], _("invalid key: {message}").format(message=message)
    schema = _schema_at(loc, root)
    expected = _describe(schema)
    if _is_tables(schema):
        expected += f" [[{'.'.join(p for p in loc if isinstance(p, str))}]]"
    if kind == "missing":
        return loc, _("required key is missing; expected {expected}").format(expected=expected)
    if kind == "extra_forbidden":
        return loc, _unknown_key(loc, root)
    if kind == "value_error" and (prefix := _PREFIX.match(message)):
        return loc + _parse_loc(prefix.group(1)), prefix.group(2)
    if len(items) > 1 or kind.endswith(("_type", "_parsing")) or kind in ("literal_error", "enum"):
        return loc, _("expected {expected}, got {value}").format(
            expected=expected, value=_short(first["input"])
        )
    return loc, message


def _unknown_key(loc: Loc, root: Any = MappingFile) -> str:
    model = _schema_at(loc[:-1], root)
    keys = [info.alias or name for name, info in model.model_fields.items()] if model else []
    guess = get_close_matches(str(loc[-1]), keys, n=1)
    valid = ", ".join(keys)
    if guess:
        return _("unknown key {key}; did you mean {guess}? valid keys here: {valid}").format(
            key=repr(loc[-1]), guess=repr(guess[0]), valid=valid
        )
    return _("unknown key {key}; valid keys here: {valid}").format(key=repr(loc[-1]), valid=valid)


def _parse_loc(text: str) -> Loc:
    loc: list[str | int] = []
    for name, index in re.findall(r"([a-z_]+)|\[(\d+)\]", text):
        loc.append(name or int(index))
    return tuple(loc)


def _validation_problems(
    data: dict[str, Any], error: ValidationError, root: Any = MappingFile
) -> list[tuple[Loc, str]]:
    """(location, message) of each problem pydantic found in ``data`` (a file of ``root``)."""
    grouped: dict[Loc, list[ErrorDetails]] = {}
    for item in error.errors():
        loc = _data_loc(item["loc"], data, item["type"] == "missing")
        grouped.setdefault(loc, []).append(item)
    return [_explain(loc, items, root) for loc, items in grouped.items()]


def _problems(data: dict[str, Any]) -> tuple[MappingFile | None, list[tuple[Loc, str]]]:
    """The validated mapping (if pydantic accepts it) and every problem found in ``data``."""
    secrets = inline_secrets(data)
    found = [(loc, _(SECRET_MESSAGE)) for loc in secrets]
    mapping = None
    try:
        mapping = MappingFile.model_validate(data, context=LOADER_CHECKS_REFERENCES)
    except ValidationError as exc:
        for loc, message in _validation_problems(data, exc):
            if not any(loc[: len(secret)] == secret for secret in secrets):
                found.append((loc, message))
    found += checks.problems(data)
    return mapping, list(dict.fromkeys(found))


def inspect_mapping(path: str | Path) -> tuple[MappingFile | None, list[Problem]]:
    """The mapping in ``path`` (None if it has problems) and every problem found."""
    path = Path(path)
    file = str(path)
    text, problem = _read(path)
    if text is None:
        return None, [problem] if problem else []
    too_deep = _("nested more than {n} levels deep; a mapping needs only a few").format(
        n=MAX_NESTING
    )
    if (line := bracket_overflow(text)) is not None:
        return None, [Problem(file, line, "(syntax)", too_deep)]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return None, [_syntax_problem(file, text, exc)]
    index = LineIndex(text)
    if (deep := deepest_key(data)) is not None:
        return None, [Problem(file, index.line(deep), dotted(deep[:3]) + "...", too_deep)]
    mapping, found = _problems(data)
    problems = [Problem(file, _line(index, loc, msg), dotted(loc), msg) for loc, msg in found]
    problems.sort(key=lambda p: p.line)
    return (None, problems) if problems else (mapping, [])


def _line(index: LineIndex, loc: Loc, message: str) -> int:
    line = index.line(loc)
    placeholder = re.match(r"(\{[^{}:]*)[:}]", message)
    if loc and loc[-1] == "template" and placeholder:
        return index.find(line, placeholder.group(1))
    return line


def check_mapping(path: str | Path) -> list[str]:
    """Every problem of the mapping file at ``path`` as ``FILE:LINE: field: message``."""
    return [str(problem) for problem in inspect_mapping(path)[1]]


def load_mapping(path: str | Path) -> MappingFile:
    """The checked mapping at ``path``; raises :class:`MappingError` listing all problems."""
    mapping, problems = inspect_mapping(path)
    if mapping is None:
        count = len(problems)
        raise MappingError(
            ngettext(
                "{path}: {n} problem in the mapping file",
                "{path}: {n} problems in the mapping file",
                count,
            ).format(path=path, n=count),
            problems=[str(problem) for problem in problems],
        )
    return mapping


def resolve_secret(target: TargetSpec) -> str:
    """The password of ``target``: its environment variable's value or its command's output.

    The command runs without a shell and at most 30 s. Error messages name the variable or
    the program and its exit code, never what it printed.
    """
    if target.secret is None:
        return ""
    if target.secret.env is not None:
        value = os.environ.get(target.secret.env, "")
        if not value:
            raise MappingError(
                _(
                    "the secret for {url} comes from the environment variable "
                    "{variable}, which is not set"
                ).format(url=target.url, variable=target.secret.env)
            )
        return value
    assert target.secret.command is not None
    return _run_secret_command(target.secret.command, target.url)


def _run_secret_command(command: str, url: str) -> str:
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise MappingError(
            _("the secret command for {url} cannot be split: {reason}").format(url=url, reason=exc)
        ) from None
    program = argv[0] if argv else "(empty)"
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=SECRET_TIMEOUT, check=False
        )
    except (OSError, IndexError) as exc:
        reason = getattr(exc, "strerror", None) or _("cannot be started")
        raise MappingError(
            _("the secret command {program!r} for {url}: {reason}").format(
                program=program, url=url, reason=reason
            )
        ) from None
    except subprocess.TimeoutExpired:
        raise MappingError(
            _(
                "the secret command {program!r} for {url} did not finish within {seconds:.0f} s"
            ).format(program=program, url=url, seconds=SECRET_TIMEOUT)
        ) from None
    if done.returncode != 0:
        raise MappingError(
            _("the secret command {program!r} for {url} failed with exit code {code}").format(
                program=program, url=url, code=done.returncode
            )
        )
    secret = done.stdout.strip()
    if not secret:
        raise MappingError(
            _("the secret command {program!r} for {url} printed nothing").format(
                program=program, url=url
            )
        )
    return secret
