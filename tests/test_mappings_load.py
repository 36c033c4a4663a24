"""Loading mapping files: shipped files pass, broken files fail with file:line: field, secrets.

The broken files in ``tests/mappings_broken/`` each start with ``# expect: LINE: fragment``;
each is checked through the real ``connector mappings check`` command.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from connector.errors import ConfigError
from mappings.lines import LineIndex
from mappings.load import check_mapping, load_mapping, resolve_secret
from mappings.schema import MappingFile, TargetSpec

ROOT = Path(__file__).resolve().parent.parent
BROKEN = sorted((ROOT / "tests" / "mappings_broken").glob("*.toml"))
SHIPPED = [
    ROOT / "mappings" / "muensterland-mentoring.toml",
    ROOT / "mappings" / "nachwuchsfoerderkreis.toml",
]
CONNECTOR = Path(sys.executable).with_name("connector")
EXPECT = re.compile(rb"^# expect: (\d+): (.+)$")


def expectation(path: Path) -> tuple[int, str]:
    """(line, fragment) from the file's first line."""
    first = path.read_bytes().splitlines()[0]
    found = EXPECT.match(first)
    assert found, f"{path.name}: first line must be '# expect: LINE: fragment'"
    return int(found.group(1)), found.group(2).decode("utf-8")


def run_check(path: Path) -> subprocess.CompletedProcess[str]:
    """``connector mappings check PATH`` as a user would run it."""
    return subprocess.run(
        [str(CONNECTOR), "mappings", "check", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )


@pytest.fixture(scope="module")
def broken_results() -> dict[Path, subprocess.CompletedProcess[str]]:
    """Every broken file checked once, in parallel (each check is a fresh process)."""
    assert CONNECTOR.exists(), f"{CONNECTOR} is missing: install the project into the venv"
    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(zip(BROKEN, pool.map(run_check, BROKEN), strict=True))


def test_there_are_enough_broken_files() -> None:
    assert len(BROKEN) >= 15


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_file_fails_naming_line_and_problem(
    path: Path, broken_results: dict[Path, subprocess.CompletedProcess[str]]
) -> None:
    line, fragment = expectation(path)
    result = broken_results[path]
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output
    hits = [text for text in output.splitlines() if text.startswith(f"{path}:{line}: ")]
    assert any(fragment in hit for hit in hits), f"want {line}: {fragment!r} in:\n{output}"


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_mapping_passes(path: Path) -> None:
    assert check_mapping(path) == []
    assert isinstance(load_mapping(path), MappingFile)


def test_mentoring_mapping_has_the_agreed_rules() -> None:
    mapping = load_mapping(SHIPPED[0])
    rules = {rule.name: rule for rule in mapping.rules}
    board = rules["bewerbungen"]
    assert board.deck is not None and board.deck.organisation_labels
    stack = next(spec for spec in board.fields if spec.remote == "stack")
    assert stack.values is not None and set(stack.values) == {
        "received", "presented", "selected", "declined", "withdrawn",
    }  # fmt: skip
    description = next(spec for spec in board.fields if spec.remote == "description")
    assert description.template is not None
    placeholders = set(re.findall(r"\{(\w+)\}", description.template))
    assert placeholders == {"position", "department", "leadership_role", "motivation", "goals"}
    assert rules["beirat-aufgaben"].create_from_remote
    assert mapping.audience_of(rules["tandems"]) == "council"
    groups = {
        rules[f"regionalgruppe-{g}"].filter["regional_group"] for g in ("nord", "sued", "west")
    }
    assert groups == {"Nord", "Süd", "West"}
    lists = [rule for rule in mapping.rules if rule.mailing_list is not None]
    assert all(rule.on_remote_delete == "opt_out" and rule.key == "email" for rule in lists)


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    text = SHIPPED[0].read_text(encoding="utf-8")
    text = text.replace('policy = "ask"', 'policy = "sometimes"', 1)
    text = text.replace("{applicant.name}", "{applicant.nmae}", 1)
    text = text.replace('target = "kalender"', 'target = "kalendar"', 1)
    path = tmp_path / "many.toml"
    path.write_text(text, encoding="utf-8")
    problems = check_mapping(path)
    assert len(problems) == 3, problems
    assert all(re.match(rf"{re.escape(str(path))}:\d+: rules\[\d+\]\.", p) for p in problems)


def test_unreadable_file_gives_a_message(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    [problem] = check_mapping(missing)
    assert problem == f"{missing}: cannot read: No such file or directory"
    with pytest.raises(ConfigError) as caught:
        load_mapping(missing)
    assert caught.value.exit_code == 3 and caught.value.problems == [problem]


def test_line_index_knows_tables_inline_tables_and_array_elements() -> None:
    text = "\n".join([
        'name = "x"',                                  # 1
        "[targets.a]",                                 # 2
        'secret = { env = "A" }',                      # 3
        "[[rules]]",                                   # 4
        'note = """ [not.a.table] = 1',                # 5
        '"""',                                         # 6
        "deck.stacks = [",                             # 7
        '  "Offen",  # comment, with [brackets]',      # 8
        '  "Erledigt",',                               # 9
        "]",                                           # 10
        "[[rules.fields]]",                            # 11
        'remote = "a"',                                # 12
        "[[rules]]",                                   # 13
        "[[rules.fields]]",                            # 14
        "[[rules.fields]]",                            # 15
        'values = { "Süd" = "x", true = "y" }',        # 16
        "acl = [{ group = 'g' }, { user = 'u' }]",     # 17
    ])  # fmt: skip
    index = LineIndex(text)
    assert index.line(("targets", "a", "secret", "env")) == 3
    assert index.line(("rules", 0, "deck", "stacks", 1)) == 9
    assert index.line(("rules", 0, "fields", 0, "remote")) == 12
    assert index.line(("rules", 1, "fields", 1, "values", "Süd")) == 16
    assert index.line(("rules", 1, "fields", 1, "acl", 1, "user")) == 17
    assert index.line(("rules", 1, "fields", 0, "missing")) == 14
    assert index.line(("rules", 1)) == 13
    assert ("not", "a", "table") not in index.lines


def target(**secret: str) -> TargetSpec:
    return TargetSpec.model_validate(
        {
            "kind": "deck",
            "url": "https://cloud.example.org",
            "audience": "council",
            "secret": secret,
        }
    )


def test_secret_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COHORT_TEST_SECRET", "s3cret")
    assert resolve_secret(target(env="COHORT_TEST_SECRET")) == "s3cret"


def test_unset_secret_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COHORT_TEST_SECRET", raising=False)
    with pytest.raises(ConfigError, match="COHORT_TEST_SECRET"):
        resolve_secret(target(env="COHORT_TEST_SECRET"))


def test_secret_from_a_command() -> None:
    command = f"{sys.executable} -c \"print('  s3cret  ')\""
    assert resolve_secret(target(command=command)) == "s3cret"


def test_failing_secret_command_shows_exit_code_not_output() -> None:
    script = "import sys; print('leaked-secret'); sys.stderr.write('leaked-err'); sys.exit(3)"
    with pytest.raises(ConfigError) as caught:
        resolve_secret(target(command=f'{sys.executable} -c "{script}"'))
    assert "exit code 3" in str(caught.value)
    assert "leaked" not in str(caught.value)


def test_missing_secret_program_and_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="no-such-program-here"):
        resolve_secret(target(command="no-such-program-here --flag"))
    monkeypatch.setattr("mappings.load.SECRET_TIMEOUT", 0.2)
    with pytest.raises(ConfigError, match="did not finish"):
        resolve_secret(target(command=f'{sys.executable} -c "import time; time.sleep(5)"'))


def test_secret_command_runs_without_a_shell(tmp_path: Path) -> None:
    marker = tmp_path / "touched"
    command = f"{sys.executable} -c \"print('x')\" ; touch {marker}"
    resolve_secret(target(command=command))
    assert not marker.exists()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('url = "https://cloud.example.org"', 'url = "https://cloud.example.org/?token=abc"'),
        ('url = "https://cloud.example.org"', 'url = "https://cloud.example.org/x?a=1&apikey=z"'),
        ('url = "https://cloud.example.org"', 'url = "https://cloud.example.org/?X-Auth-Token=z"'),
        ('user = "admin"', 'user = "admin:pw"'),
    ],
)
def test_credentials_in_urls_and_user_names_are_secrets(tmp_path: Path, old: str, new: str) -> None:
    text = (ROOT / "tests" / "mappings_broken" / "secret_in_url.toml").read_text()
    text = text.replace('"https://admin:hunter2@cloud.example.org"', '"https://cloud.example.org"')
    assert check_mapping(_write(tmp_path, text)) == []
    problems = check_mapping(_write(tmp_path, text.replace(old, new)))
    assert len(problems) == 1 and "secrets must not be written" in problems[0], problems


def test_harmless_query_parameters_pass(tmp_path: Path) -> None:
    text = (ROOT / "tests" / "mappings_broken" / "secret_in_url.toml").read_text()
    url = '"https://cloud.example.org/index.php?format=json&lang=de"'
    assert check_mapping(_write(tmp_path, text.replace(text.split("\n")[7][6:], url))) == []


def _write(folder: Path, text: str) -> Path:
    path = folder / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    return path
