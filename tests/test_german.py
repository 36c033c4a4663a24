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


def _english_catalog() -> list[str]:
    """The catalog's English messages that are phrases (two words or more) and differ in
    German, with their placeholders cut out as separators."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import i18n  # type: ignore[import-not-found]

    phrases = []
    for message in i18n.german():
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        for msgid in ids:
            if not msgid or msgid in strings:
                continue
            for part in re.split(r"\{[^}]*\}|%\w|`[^`]*`|\[[^\]]*\]", msgid):
                part = part.strip(" :;,.()…'\"")
                if part.count(" ") >= 1 and len(part) > 8:
                    phrases.append(part)
    return sorted(set(phrases))


PHRASES = _english_catalog()


def _words(text: str, *, known: set[str]) -> list[str]:
    """English words left in ``text`` once names, options, paths and code are taken out."""
    text = re.sub(r"`[^`]*`|'[^']*'|\"[^\"]*\"|«[^»]*»|\[[^\]]*\]", " ", text)
    kept = []
    for token in re.split(r"[\s│╭╮╰╯─|,;:(){}*]+", text):
        if not token or token.startswith("-") or "/" in token or "." in token.strip("."):
            continue
        if token in known or token.isupper() or "_" in token or "@" in token:
            continue
        kept.append(token)
    return ENGLISH.findall(" ".join(kept))


def assert_german(output: str, what: str) -> None:
    """Fail, with what was found, if ``output`` shows English."""
    commands = helptext.commands(_root())
    names = {name for full, _ in commands for name in full.split()}
    names |= {param.name for _, command in commands for param in command.params if param.name}
    found = [phrase for phrase in PHRASES if phrase in output]
    words = _words(output, known=names | {"connector", "json"})
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


def test_json_stays_english(work: Path) -> None:
    done = german("status", "--json", env={"CONNECTOR_CONFIG": str(work / "connector.toml")})
    data = json.loads(done.stdout)
    assert set(data) == {"store", "cohorts", "last_passes", "open_conflicts"}


@pytest.mark.parametrize("code", [6, 7])
def test_guard_and_waiting_conflicts_are_german(
    code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exit 6 (the mass-deletion guard stops a pass) and 7 (a conflict waits for a person),
    produced as tests/test_exit_codes.py does, under a German locale."""
    from connector.memory import MemoryTarget
    from tests import test_exit_codes as exits

    for name, value in GERMAN.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "connector.toml").write_text(exits.CONFIG, encoding="utf-8")
    (tmp_path / "mapping.toml").write_text(exits.MAPPING, encoding="utf-8")
    exits.populate(tmp_path / "cohort.db")
    MemoryTarget.reset()
    try:
        result = exits.guard(tmp_path) if code == 6 else exits.conflicts(tmp_path)
    finally:
        MemoryTarget.reset()
    assert result.exit_code == code, result
    assert result.stderr.startswith("Fehler: "), result.stderr
    expected = (
        "an dieser Sammlung wurde nichts geändert"
        if code == 6
        else "Konflikt(e) warten auf eine Entscheidung"
    )
    assert expected in result.stderr and "Hinweis: " in result.stderr, result.stderr
    assert "Abgleich: " in result.stdout, result.stdout
    assert_german(result.stdout + result.stderr, f"exit {code}")
