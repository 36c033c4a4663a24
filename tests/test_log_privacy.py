"""No log line carries personal data, at any level: a full `--verbose` pass of the example
cohort (Deck double, real Radicale, real Mailman) is searched for every example person's name
and e-mail address. What the terminal shows (summaries, `show`) may name people; logs may not.
"""

from __future__ import annotations

import csv
import logging
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from connector.logsafe import publish, redact
from tests.test_example_sync import CONNECTOR, EXAMPLE, ROOT, world

__all__ = ["world"]


def _people() -> list[tuple[str, str]]:
    """(full name, e-mail) of every person in the example."""
    with (EXAMPLE / "people.csv").open(encoding="cp1252", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    people = [(f"{r['Vorname']} {r['Nachname']}", r["E-Mail"]) for r in rows]
    return [*people, ("Kampmann-Ost", "anna.kampmann@muenster.example")]


def _verbose(env: dict[str, str], *args: str) -> tuple[str, str]:
    done = subprocess.run(
        [CONNECTOR, "--verbose", *args],
        env=env, capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, f"connector {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done.stdout, done.stderr


def _leaks(log: str) -> list[str]:
    found = []
    lowered = log.lower()
    for name, email in _people():
        for needle in (name, email, quote(email, safe=""), email.split("@")[0]):
            if needle.lower() in lowered:
                line = next(x for x in lowered.splitlines() if needle.lower() in x)
                found.append(f"{needle!r} in: {line[:160]}")
    return found


def test_a_full_verbose_pass_logs_no_names_and_no_addresses(
    world: dict[str, str], tmp_path: Path
) -> None:
    logs = []
    out, err = _verbose(world, "sync", "--stats")
    assert "liste-mentees → listen / mentees-10@mentoring.example.org: 18 create" in out, out
    logs.append(err)
    # A new family name: cards are renamed and Mailman's display name is PATCHed by address.
    renamed = tmp_path / "people.csv"
    data = (EXAMPLE / "people.csv").read_bytes()
    assert b"\nAnna;Kampmann;" in data
    renamed.write_bytes(data.replace(b"\nAnna;Kampmann;", b"\nAnna;Kampmann-Ost;"))
    logs.append(_verbose(world, "import", "people", str(renamed))[1])
    out, err = _verbose(world, "sync")
    assert "update" in out, out
    logs.append(err)
    logs.append(_verbose(world, "sync")[1])
    logs.append(_verbose(world, "plan")[1])
    shown, err = _verbose(world, "show", "liste-mentees")
    assert "Anna Kampmann-Ost <anna.kampmann@muenster.example>" in shown  # the terminal may
    logs.append(err)
    log = "\n".join(logs)
    debug = [line for line in log.splitlines() if line.startswith("DEBUG ")]
    assert len(debug) > 500, f"only {len(debug)} DEBUG lines: is --verbose logging at all?"
    assert any("/3.1/" in line and "<address>" in line for line in debug), "no Mailman lines"
    assert _leaks(log) == []


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            '127.0.0.1:8001 "PATCH /3.1/addresses/anna.kampmann@muenster.example HTTP/1.1" 204 0',
            '127.0.0.1:8001 "PATCH /3.1/addresses/<address> HTTP/1.1" 204 0',
        ),
        ("GET /3.1/members/find?subscriber=anna%40x.example&x=1", "GET /3.1/members/find?<query>"),
        ("GET /ocs/v2.php/apps/files_sharing/api/v1/sharees?search=Anna", "GET /ocs/v2.php/apps/"
         "files_sharing/api/v1/sharees?<query>"),
        ("is a value missing its quotes? yes", "is a value missing its quotes? yes"),
    ],
)  # fmt: skip
def test_redaction(text: str, want: str) -> None:
    assert redact(text) == want


def test_mapped_list_addresses_are_not_personal_and_stay() -> None:
    publish(["mentees-10@mentoring.example.org"])
    text = "GET /3.1/lists/mentees-10@mentoring.example.org/roster/member; anna@x.example"
    assert (
        redact(text) == "GET /3.1/lists/mentees-10@mentoring.example.org/roster/member; <address>"
    )


def test_records_of_any_logger_are_redacted_when_they_are_made() -> None:
    from connector.logsafe import install

    install()
    record = logging.getLogger("urllib3.connectionpool").makeRecord(
        "urllib3.connectionpool", logging.DEBUG, __file__, 1,
        '%s:%s "%s %s %s" %s %s', ("h", 1, "PUT", "/3.1/addresses/a.b@c.example", "HTTP/1.1",
                                    200, 0), None,
    )  # fmt: skip
    assert "a.b@c.example" not in record.getMessage() and "<address>" in record.getMessage()
