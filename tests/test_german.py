"""The CLI in the user's language: German under a German locale, English otherwise.

Every command's ``--help`` and the error scenarios of the README's exit-code table run under
``LANG=de_DE.UTF-8`` and must show no English: no English message of the catalog verbatim, and
none of the English words a message would be made of. ``--json`` stays English.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import typer.main

import cli
from connector.testing.deck_server import DeckServer
from sync import helptext
from tests.conftest import run_connector

ROOT = Path(__file__).resolve().parent.parent
GERMAN = {"LANG": "de_DE.UTF-8", "LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": ""}
#: Words of English messages; none of them is German. Command names, options, paths, code
#: spans and quoted values are removed from the output first.
ENGLISH = re.compile(
    r"\b(the|is|are|not|and|with|this|from|were|has|have|cannot|usage|options|commands|"
    r"arguments|required|default|error|hint|missing|unknown|invalid|such|no|nothing|"
    r"message|exit|file|folder|store|refused|reach|secret|secrets)\b",
    re.IGNORECASE,
)


def _catalog() -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """(English forms, German forms) of every message of the German catalog."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import i18n  # type: ignore[import-not-found]

    entries = []
    for message in i18n.german():
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if ids[0]:
            entries.append((tuple(ids), tuple(s or "" for s in strings)))
    return entries


_PLACEHOLDERS = re.compile(r"\{[^}]*\}|%\w|`[^`]*`|\[[^\]]*\]")
_WORD = re.compile(r"[A-Za-zÄÖÜäöüß]{3,}")


def _english_phrases(catalog: list[tuple[tuple[str, ...], tuple[str, ...]]]) -> list[str]:
    """The catalog's English messages that are phrases (two words or more) and differ in
    German, with their placeholders cut out as separators."""
    phrases = []
    for ids, strings in catalog:
        for msgid in ids:
            if msgid in strings:
                continue
            for part in _PLACEHOLDERS.split(msgid):
                part = part.strip(" :;,.()…'\"")
                if part.count(" ") >= 1 and len(part) > 8:
                    phrases.append(part)
    return sorted(set(phrases))


def _english_words(catalog: list[tuple[tuple[str, ...], tuple[str, ...]]]) -> frozenset[str]:
    """Words English messages are made of and no German one uses: those of the catalog's
    English texts that none of its German texts contains (about 400: "the", "not", "with",
    "cannot", "unknown", "expected", …), and the words of :data:`ENGLISH`. A message that
    was never wrapped in ``_()`` is caught by them as well as one without German."""
    english: set[str] = set()
    german_words: set[str] = set()
    for ids, strings in catalog:
        for msgid in ids:
            english |= {w.lower() for w in _WORD.findall(_PLACEHOLDERS.sub(" ", msgid))}
        for msgstr in strings:
            german_words |= {w.lower() for w in _WORD.findall(msgstr)}
    return frozenset(english - german_words)


CATALOG = _catalog()
PHRASES = _english_phrases(CATALOG)
WORDS = _english_words(CATALOG)


def _words(text: str, *, known: set[str]) -> list[str]:
    """English words left in ``text`` once names, options, paths and code are taken out."""
    text = re.sub(r"`[^`]*`|'[^']*'|\"[^\"]*\"|«[^»]*»|\[[^\]]*\]", " ", text)
    text = re.sub(r"\b\d{3} \([^)]*\)", " ", text)  # an HTTP status: the server's own reason
    kept = []
    for token in re.split(r"[\s│╭╮╰╯─|,;:(){}*=<>]+", text):
        if not token or token.startswith("-") or "/" in token or "." in token.strip(".?!"):
            continue
        if token.strip(".?!") in known or token.isupper() or "_" in token or "@" in token:
            continue
        kept.append(token)
    found = ENGLISH.findall(" ".join(kept))
    found += [t for t in (k.strip(".?!'\"") for k in kept) if t.lower() in WORDS]
    return found


def _identifiers() -> set[str]:
    """Names a mapping file or a command line uses as they are: entity kinds, their fields,
    the platforms' remote fields and the mapping language's values (``tombstone``, ``in``)."""
    from typing import get_args

    from pydantic import BaseModel

    from connector.registry import fields_of
    from mappings import fahrplan, schema
    from sync.importer import KINDS
    from sync.model import COMPUTED, entity_type

    names: set[str] = {name for fields in COMPUTED.values() for name in fields}
    names |= set(KINDS)  # `connector import KIND`: people, applications, …
    for kind in get_args(schema.EntityKind):
        names |= {kind, *entity_type(kind).model_fields}
    for platform in ("deck", "caldav", "mailman"):
        names |= {platform, *fields_of(platform)}
    for literal in (schema.Direction, schema.Policy, schema.DeletePolicy):
        names |= set(get_args(literal))
    for module in (schema, fahrplan):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseModel):
                names |= {info.alias or key for key, info in value.model_fields.items()}
    return names


IDENTIFIERS = _identifiers()


def assert_german(output: str, what: str) -> None:
    """Fail, with what was found, if ``output`` shows English."""
    commands = helptext.commands(_root())
    names = {name for full, _ in commands for name in full.split()}
    names |= {param.name for _, command in commands for param in command.params if param.name}
    found = [phrase for phrase in PHRASES if phrase in output]
    words = _words(output, known=names | IDENTIFIERS | {"connector", "json"})
    assert not found and not words, f"{what}: English in German output: {found or words}\n{output}"


def _root() -> typer.core.TyperGroup:  # type: ignore[name-defined]
    build = helptext.build_command or typer.main.get_command
    return build(cli.app)


def german(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):  # type: ignore[no-untyped-def]
    return run_connector(*args, env={**GERMAN, **(env or {})}, cwd=cwd)


def test_every_message_of_the_catalog_has_german() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "i18n.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, "messages without German (run scripts/i18n.py):\n" + done.stdout


def test_the_check_sees_english_words() -> None:
    with pytest.raises(AssertionError):
        assert_german("Fehler: the store is missing", "self-test")
    with pytest.raises(AssertionError):
        assert_german("Show this message and exit.", "self-test")
    assert_german("Fehler: `connector plan` in ./cohort.db: 'the'", "self-test")


@pytest.mark.parametrize("command", [name for name, _ in helptext.commands(_root())])
def test_help_is_german(command: str) -> None:
    args = [] if command == "connector" else command.split()
    done = german(*args, "--help", env={"COLUMNS": "100"})
    assert done.returncode == 0, done.stderr
    assert "Aufruf: connector" in done.stdout and "Diese Hilfe zeigen und beenden." in done.stdout
    assert_german(done.stdout, f"connector {' '.join(args)} --help")


def test_english_without_a_german_locale() -> None:
    done = run_connector("sync", "--help", env={"LANG": "C.UTF-8", "LANGUAGE": "", "LC_ALL": ""})
    assert "Show this message and exit." in done.stdout and "Aufruf" not in done.stdout
    done = run_connector("sync", "--help", env={"LANG": "C", "LC_MESSAGES": "de_DE.UTF-8"})
    assert "Diese Hilfe zeigen und beenden." in done.stdout
    done = run_connector("sync", "--help", env={"LANGUAGE": "de", "LANG": "en_GB.UTF-8"})
    assert "Diese Hilfe zeigen und beenden." in done.stdout


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("de") / "arbeit"
    assert run_connector("init", str(folder)).returncode == 0
    return folder


@pytest.fixture(scope="module")
def deck() -> Iterator[DeckServer]:
    with DeckServer({"admin": "richtig"}) as server:
        yield server


def _scenarios(work: Path, deck: DeckServer) -> list[tuple[int, list[str], dict[str, str]]]:
    config = {"CONNECTOR_CONFIG": str(work / "connector.toml")}
    closed = "http://127.0.0.1:9"  # discard port: nobody listens
    unreachable = {
        **config,
        "DECK_APP_PASSWORD": "x",
        "CALDAV_PASSWORD": "x",
        "MAILMAN_REST_PASSWORD": "x",
        "CONNECTOR_URL_NEXTCLOUD": closed,
        "CONNECTOR_URL_KALENDER": closed + "/",
        "CONNECTOR_URL_LISTEN": closed,
    }
    example = ROOT / "examples"
    no_secrets = {
        **config,
        "DECK_APP_PASSWORD": "",
        "CALDAV_PASSWORD": "",
        "MAILMAN_REST_PASSWORD": "",
    }
    wrong = {**unreachable, "CONNECTOR_URL_NEXTCLOUD": deck.url, "DECK_APP_PASSWORD": "falsch"}
    return [
        (2, ["sync", "--bogus"], config),
        (2, ["import", "personen", "x.csv"], config),
        (2, ["import"], config),
        (3, ["import", "people", str(example / "fehlerhaft/people.csv")], config),
        (3, ["import", "applications", str(example / "muensterland-10/applications.csv")], config),
        (3, ["mappings", "check", str(ROOT / "tests/mappings_broken/bad_template_field.toml")], {}),
        (3, ["plan"], no_secrets),
        (3, ["plan", "--today", "31.02.2026"], config),
        (3, ["conflicts", "show", "99"], config),
        (3, ["forget"], config),
        (3, ["cohort", "new", "--programme", "mim", "--number", "1", "--start", "1.2."], config),
        (4, ["--store", str(work / "fehlt.db"), "status"], {}),
        (5, ["plan"], wrong),
        (9, ["plan"], unreachable),
    ]  # fmt: skip


def test_error_scenarios_of_the_exit_code_table_are_german(work: Path, deck: DeckServer) -> None:
    for code, args, env in _scenarios(work, deck):
        done = german(*args, env=env, cwd=work)
        assert done.returncode == code, f"{args}: {done.returncode}\n{done.stderr}"
        assert done.stderr.startswith("Fehler: "), f"{args}: {done.stderr}"
        assert "Traceback" not in done.stderr
        assert_german(done.stdout + done.stderr, f"connector {' '.join(args)}")


def test_output_of_commands_is_german(work: Path) -> None:
    orgs = ROOT / "examples" / "muensterland-10" / "organisations.csv"
    done = german(
        "import", "organisations", str(orgs), env={"CONNECTOR_CONFIG": str(work / "connector.toml")}
    )
    assert done.returncode == 0, done.stderr
    assert "importiert: 17 Zeilen (cp1252, Trennzeichen ';')" in done.stdout
    assert "Organisation: 17 neu, 0 geändert, 0 unverändert" in done.stdout
    status = german("status", env={"CONNECTOR_CONFIG": str(work / "connector.toml")})
    assert "Letzter Abgleich je Plattform: noch keiner" in status.stdout
    assert_german(done.stdout + status.stdout, "import, status")


def test_lifting_an_opt_out_is_said_in_german(tmp_path: Path) -> None:
    from tests.test_import_decisions import ANNA, LIST, PEOPLE, Office, anna

    office = Office(tmp_path)
    office.imported("people", PEOPLE, [anna()])
    done = german("--store", str(office.db), "person", "opt-in", ANNA, LIST)
    assert done.returncode == 0, done.stderr
    assert f"darf wieder in {LIST} eingetragen werden" in done.stdout
    assert_german(done.stdout, "connector person opt-in")


def test_json_stays_english(work: Path) -> None:
    done = german("status", "--json", env={"CONNECTOR_CONFIG": str(work / "connector.toml")})
    data = json.loads(done.stdout)
    assert set(data) == {"store", "cohorts", "last_passes", "open_conflicts"}


@pytest.fixture
def in_german(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in GERMAN.items():
        monkeypatch.setenv(name, value)


_EXPECTED = {
    6: "an dieser Sammlung wurde nichts geändert",
    7: "Konflikt(e) warten auf eine Entscheidung",
    8: "Element(e) fehlgeschlagen",
    70: "Programmfehler",
}


@pytest.mark.parametrize("code", [6, 7, 8, 70])
def test_pass_errors_of_the_exit_code_table_are_german(
    code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_german: None
) -> None:
    """Exit 6 (the mass-deletion guard stops a pass), 7 (a conflict waits for a person), 8
    (Deck fails every card of a pass) and 70 (a bug), produced as tests/test_exit_codes.py
    does, under a German locale."""
    from connector.memory import MemoryTarget
    from tests import test_exit_codes as exits

    (tmp_path / "connector.toml").write_text(exits.CONFIG, encoding="utf-8")
    (tmp_path / "mapping.toml").write_text(exits.MAPPING, encoding="utf-8")
    exits.populate(tmp_path / "cohort.db")
    MemoryTarget.reset()
    try:
        if code == 8:
            result = _items_failed(tmp_path, monkeypatch)
        else:
            scenario = {6: exits.guard, 7: exits.conflicts, 70: exits.bug}[code]
            result = scenario(tmp_path, monkeypatch=monkeypatch)
    finally:
        MemoryTarget.reset()
    assert result.exit_code == code, result
    assert result.stderr.startswith("Fehler: "), result.stderr
    assert _EXPECTED[code] in result.stderr and "Hinweis: " in result.stderr, result.stderr
    if code != 70:
        assert "Abgleich: " in result.stdout, result.stdout
    assert_german(result.stdout + result.stderr, f"exit {code}")


def _items_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Exit 8: the Deck double fails every card of the pass (as test_exit_codes does)."""
    from tests import test_exit_codes as exits

    folder = tmp_path / "deck"
    folder.mkdir()
    monkeypatch.setenv("EXIT_TEST_DECK_PASSWORD", "richtig")
    with DeckServer(users={"admin": "richtig"}) as srv:
        (folder / "connector.toml").write_text(exits.CONFIG, encoding="utf-8")
        mapping = exits.DECK_MAPPING.format(url=srv.url)
        (folder / "mapping.toml").write_text(mapping, encoding="utf-8")
        exits.populate(folder / "cohort.db")
        srv.fail_next("POST", r"/cards$", 500, times=exits.TASKS)
        result = exits.run(folder, "sync", "--today", exits.ON_THE_DAY)
    assert result.stdout.count("Problem: mim-10:aufgaben: task-") == exits.TASKS, result.stdout
    return result


def test_the_exit_code_table_has_german_scenarios() -> None:
    """Each row of the README's exit-code table (but 0) has a scenario here."""
    from tests import test_exit_codes as exits

    fake = SimpleNamespace(url="http://127.0.0.1:9")
    covered = {code for code, _a, _e in _scenarios(Path("."), fake)} | set(_EXPECTED)  # type: ignore[arg-type]
    assert covered == set(exits.readme_exit_codes()) - {0}


BROKEN = sorted((ROOT / "tests" / "mappings_broken").glob("*.toml"))
BROKEN_PLANS = sorted((ROOT / "tests" / "fahrplan_broken").glob("*.toml"))


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_every_broken_mapping_is_explained_in_german(path: Path, in_german: None) -> None:
    """Exit 3 for a mapping: each problem the loader finds in tests/mappings_broken/."""
    from mappings.load import check_mapping

    problems = check_mapping(path)
    assert problems, path
    assert_german("\n".join(p.split(": ", 2)[-1] for p in problems), path.name)


@pytest.mark.parametrize("path", BROKEN_PLANS, ids=[p.stem for p in BROKEN_PLANS])
def test_every_broken_fahrplan_is_explained_in_german(path: Path, in_german: None) -> None:
    """Exit 3 for a Fahrplan template (`connector cohort check`): tests/fahrplan_broken/."""
    from connector.errors import ConfigError
    from mappings.fahrplan import load_template

    with pytest.raises(ConfigError) as raised:
        load_template(path)
    shown = [str(raised.value).removeprefix(str(path))]
    shown += [p.split(": ", 2)[-1] for p in raised.value.problems]
    assert_german("\n".join(shown), path.name)


CSV_FILES = {
    "workbook": b"PK\x03\x04rest",
    "nul": b"Vorname;Name\x00\n",
    "empty": b"  \n",
    "garbled": "E-Mail;Vorname\na@b.de;SÃ¼hling\n".encode(),
    "mixed": "E-Mail;Vorname\na@b.de;Süß".encode() + " Gr\xfc\xdfe".encode("latin-1") + b"\n",
    "twice": b"E-Mail;E-Mail\na@b.de;a@b.de\n",
    "huge cell": b'E-Mail;Vorname\na@b.de;"' + b"x" * 140_000 + b'"\n',
    "utf16": b"\xff\xfeA\x00\xd8",
}


@pytest.mark.parametrize("case", sorted(CSV_FILES))
def test_unreadable_csv_files_are_explained_in_german(
    case: str, tmp_path: Path, in_german: None
) -> None:
    """Exit 3 for a CSV file: each way reading it can fail, named by file and line."""
    from connector.errors import InputError
    from sync.importing.csvread import read_table

    path = tmp_path / "personen.csv"
    path.write_bytes(CSV_FILES[case])
    with pytest.raises(InputError) as raised:
        read_table(path)
    error = raised.value
    shown = [str(error), *getattr(error, "problems", []), getattr(error, "hint", "") or ""]
    assert_german("\n".join(line.replace(str(path), "F") for line in shown), case)


def test_missing_or_folder_csv_is_explained_in_german(tmp_path: Path, in_german: None) -> None:
    from connector.errors import InputError
    from sync.importing.csvread import read_table

    for path in (tmp_path / "fehlt.csv", tmp_path):
        with pytest.raises(InputError) as raised:
            read_table(path)
        assert_german(str(raised.value).replace(str(path), "F"), str(path))


def test_an_untranslated_message_is_caught() -> None:
    """The check fails on English a message is made of, even one the catalog never saw."""
    for english in (
        "F:3: 'SÃ¼hling' looks like garbled text; correct the name in the file",
        "width 2000000000 is too large (at most 1000)",
        "Fehler: 2 Zeilen: byte 0xfc is neither UTF-8 nor Windows-1252",
        "rules[0].target: unknown target 'nextclod'; known targets: nextcloud",
    ):
        with pytest.raises(AssertionError):
            assert_german(english, "self-test")
