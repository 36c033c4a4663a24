"""Decoding an office's CSV bytes without ever producing mojibake.

A file that is not UTF-8 as a whole is decoded line by line: a line that is valid UTF-8 (and
reads as European text) is UTF-8, any other line Windows-1252 — files put together from a
UTF-8 export and lines pasted from Excel come out right. A line that holds both, UTF-8 cut
off mid-character in a UTF-8 file, or bytes that are neither, is refused by its line number,
and so is text that is already garbled ("SÃ¼hling": UTF-8 once read as Windows-1252).
"""

from __future__ import annotations

import re

from connector.errors import InputError
from sync.i18n import _, ngettext

#: What the bytes 0x80-0xBF look like in Windows-1252 (UTF-8 continuation bytes).
_CONTINUATION = bytes(range(0x80, 0xC0)).decode("cp1252", errors="ignore")
_GARBLED = re.compile(f"(?:[ÂÃ]|â€)[{re.escape(_CONTINUATION)}]")
#: A UTF-8 character of European text: Latin-1, Latin Extended-A, punctuation such as „“–…€.
_UTF8_LATIN = re.compile(rb"[\xc2-\xc5][\x80-\xbf]|\xe2[\x80\x82][\x80-\xbf]")
_EUROPEAN = re.compile(r"[\u00a0-\u017f\u2010-\u203a\u20ac]")
_MAX_LISTED = 20


def _plausible(text: str) -> bool:
    """Whether every non-ASCII character of ``text`` is one European text uses."""
    return all(_EUROPEAN.match(char) for char in text if not char.isascii())


def _line_problem(raw: bytes, mostly_utf8: bool) -> str | None:
    if _UTF8_LATIN.search(raw):
        return _("mixes UTF-8 and Windows-1252 characters in one line; save the file as CSV UTF-8")
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError as exc:
        return _(
            "byte 0x{byte} (character {position}) is neither UTF-8 nor Windows-1252; "
            "save the file as CSV UTF-8"
        ).format(byte=f"{raw[exc.start]:02x}", position=exc.start + 1)
    if mostly_utf8 and any(char in text for char in "ÂÃ"):
        byte = next(b for b in raw if b in (0xC2, 0xC3))
        return _(
            "invalid UTF-8 (byte 0x{byte} starts a character that is cut off); "
            "save the file as CSV UTF-8"
        ).format(byte=f"{byte:02x}")
    return None


def decode_lines(data: bytes, name: str) -> tuple[str, str]:
    """(text, encoding) of a file that is not UTF-8 as a whole; InputError naming the lines."""
    raws = data.splitlines(keepends=True)
    utf8: set[int] = set()
    for number, raw in enumerate(raws, 1):
        if not raw.isascii():
            try:
                if _plausible(raw.decode("utf-8")):
                    utf8.add(number)
            except UnicodeDecodeError:
                pass
    texts, problems = [], []
    for number, raw in enumerate(raws, 1):
        if raw.isascii() or number in utf8:
            texts.append(raw.decode("utf-8"))
            continue
        problem = _line_problem(raw, mostly_utf8=bool(utf8))
        if problem:
            problems.append(f"{name}:{number}: {problem}")
        else:
            texts.append(raw.decode("cp1252"))
    if problems:
        raise _refused(name, problems, _("neither UTF-8 nor Windows-1252 text"))
    encoding = "utf-8 and cp1252" if utf8 else "cp1252"
    return "".join(texts).removeprefix("\ufeff"), encoding


def check_garbled(text: str, name: str) -> None:
    """Refuse text that is already mojibake, naming each line and the garbled word."""
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        found = _GARBLED.search(line)
        if found:
            start = max(line.rfind(sep, 0, found.start()) for sep in ";,\t") + 1
            ends = [i for i in (line.find(sep, found.end()) for sep in ";,\t") if i >= 0]
            word = line[start : min(ends, default=len(line))].strip().strip('"')
            message = _(
                "{word} looks like garbled text (UTF-8 once read as Windows-1252); correct "
                "the name in the file or export it again as CSV UTF-8"
            ).format(word=repr(word))
            problems.append(f"{name}:{number}: {message}")
    if problems:
        raise _refused(name, problems, _("garbled text"))


def _refused(name: str, problems: list[str], what: str) -> InputError:
    shown = problems[:_MAX_LISTED]
    if len(problems) > _MAX_LISTED:
        rest = len(problems) - _MAX_LISTED
        shown.append(_("... and {n} more lines like these").format(n=f"{rest:,}"))
    message = ngettext(
        "{name}: {n} line with {what}; nothing was imported",
        "{name}: {n} lines with {what}; nothing was imported",
        len(problems),
    ).format(name=name, n=f"{len(problems):,}", what=what)
    error = InputError(message, shown)
    error.hint = _("fix these lines (or save the whole file as CSV UTF-8), then import again")
    return error
