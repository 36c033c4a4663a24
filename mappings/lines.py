"""Where things are in a TOML text: the line of every key, table header and array element.

tomllib keeps no positions, so :class:`LineIndex` scans the (already parsed, hence valid)
text once more and records lines under the location tuples pydantic uses in its errors,
e.g. ``("rules", 1, "fields", 0, "template")``: arrays of tables get their running index,
dotted keys and keys of inline tables their full path, array elements their own line.
"""

from __future__ import annotations

import contextlib
import re

from sync.i18n import _

Loc = tuple[str | int, ...]
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR = re.compile(r"[^,\]}\n#]*")


def dotted(loc: Loc) -> str:
    """``("rules", 1, "fields", 0, "remote")`` as ``rules[1].fields[0].remote``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = part if _BARE_KEY.fullmatch(part) else f'"{part}"'
            text += f".{name}" if text else name
    return text or "(file)"


class LineIndex:
    """The 1-based line of every key, table and array element of a (valid) TOML text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines: dict[Loc, int] = {(): 1}
        self._pos = 0
        self._line = 1
        self._table: Loc = ()
        self._arrays: dict[Loc, int] = {}
        # A partial index still locates everything before whatever confused the scanner.
        with contextlib.suppress(IndexError, ValueError):
            self._document()

    def line(self, loc: Loc) -> int:
        """The line of ``loc``, or of its closest known parent."""
        while loc not in self.lines:
            loc = loc[:-1]
        return self.lines[loc]

    def find(self, start: int, needle: str) -> int:
        """The first line from ``start`` on that contains ``needle`` (else ``start``)."""
        for number, text in enumerate(self.text.splitlines()[start - 1 :], start):
            if needle in text:
                return number
        return start

    def _mark(self, loc: Loc, line: int) -> None:
        for end in range(1, len(loc) + 1):
            self.lines.setdefault(loc[:end], line)

    def _peek(self, size: int = 1) -> str:
        return self.text[self._pos : self._pos + size]

    def _advance(self, size: int = 1) -> None:
        self._line += self.text.count("\n", self._pos, self._pos + size)
        self._pos += size

    def _skip(self, newlines: bool) -> None:
        while self._pos < len(self.text):
            char = self._peek()
            if char == "#":
                end = self.text.find("\n", self._pos)
                self._advance((end if end >= 0 else len(self.text)) - self._pos)
            elif char in " \t\r" or (newlines and char == "\n"):
                self._advance()
            else:
                return

    def _document(self) -> None:
        while True:
            self._skip(newlines=True)
            if self._pos >= len(self.text):
                return
            if self._peek() == "[":
                self._header()
            else:
                self._keyvalue(self._table)

    def _header(self) -> None:
        double = self._peek(2) == "[["
        self._advance(2 if double else 1)
        line = self._line
        parts = self._key()
        self._advance(2 if double else 1)
        path: Loc = ()
        for part in parts[:-1]:
            path += (part,)
            if path in self._arrays:
                path += (self._arrays[path],)
        path += (parts[-1],)
        if double:
            self._arrays[path] = self._arrays.get(path, -1) + 1
            self._mark(path, line)
            path += (self._arrays[path],)
        self._mark(path, line)
        self._table = path

    def _key(self) -> list[str]:
        parts = []
        while True:
            self._skip(newlines=False)
            char = self._peek()
            if char in "\"'":
                start = self._pos + 1
                self._string()
                parts.append(self.text[start : self._pos - 1])
            else:
                match = _BARE_KEY.match(self.text, self._pos)
                if match is None:
                    raise ValueError(_("no key at line {line}").format(line=self._line))
                parts.append(match.group(0))
                self._advance(len(match.group(0)))
            self._skip(newlines=False)
            if self._peek() != ".":
                return parts
            self._advance()

    def _keyvalue(self, base: Loc) -> None:
        line = self._line
        loc = base + tuple(self._key())
        self._mark(loc, line)
        self._advance()  # "="
        self._skip(newlines=False)
        self._value(loc)

    def _value(self, loc: Loc) -> None:
        char = self._peek()
        if char in "\"'":
            self._string()
        elif char in "[{":
            self._advance()
            closing = "]" if char == "[" else "}"
            self._container(loc, closing)
        else:
            match = _SCALAR.match(self.text, self._pos)
            self._advance(len(match.group(0)) if match else 1)

    def _container(self, loc: Loc, closing: str) -> None:
        count = 0
        while True:
            self._skip(newlines=True)
            if self._peek() in (closing, ""):
                self._advance()
                return
            if closing == "]":
                self._mark((*loc, count), self._line)
                self._value((*loc, count))
            else:
                self._keyvalue(loc)
            self._skip(newlines=True)
            if self._peek() == ",":
                self._advance()
            count += 1

    def _string(self) -> None:
        quote = self._peek()
        delimiter = quote * 3 if self._peek(3) == quote * 3 else quote
        self._advance(len(delimiter))
        while not self.text.startswith(delimiter, self._pos):
            if self._pos >= len(self.text):
                raise ValueError(_("unterminated string"))
            self._advance(2 if quote == '"' and self._peek() == "\\" else 1)
        self._advance(len(delimiter))
        while len(delimiter) == 3 and self._peek() == quote:
            self._advance()  # a closing """" keeps one quote as content


#: How deeply arrays and tables may nest in a mapping or config file (a mapping needs 6).
MAX_NESTING = 32


def bracket_overflow(text: str, limit: int = MAX_NESTING) -> int | None:
    """The line where arrays and inline tables first nest deeper than ``limit``, if any.

    Checked before parsing: tomllib (and everything walking its result) recurses once per
    level and would hit Python's recursion limit on a few hundred ``[``.
    """
    depth, line, pos, size = 0, 1, 0, len(text)
    while pos < size:
        char = text[pos]
        if char == "\n":
            line += 1
        elif char == "#":
            end = text.find("\n", pos)
            pos = size if end < 0 else end
            continue
        elif char in "\"'":
            delimiter = char * 3 if text.startswith(char * 3, pos) else char
            end = pos + len(delimiter)
            while end < size and not text.startswith(delimiter, end):
                end += 2 if char == '"' and text[end] == "\\" else 1
            line += text.count("\n", pos, end)
            pos = end + len(delimiter)
            continue
        elif char in "[{":
            depth += 1
            if depth > limit:
                return line
        elif char in "]}":
            depth = max(0, depth - 1)
        pos += 1
    return None


def deepest_key(data: object, limit: int = MAX_NESTING) -> Loc | None:
    """The location (cut at ``limit``) of a value nested deeper than ``limit``, if any.

    Dotted keys (``a.b.c.…``) nest without brackets; this walks the parsed data without
    recursion.
    """
    stack: list[tuple[Loc, object]] = [((), data)]
    while stack:
        loc, node = stack.pop()
        if len(loc) > limit:
            return loc
        if isinstance(node, dict):
            stack.extend(((*loc, str(key)), value) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend(((*loc, index), value) for index, value in enumerate(node))
    return None
