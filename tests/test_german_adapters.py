"""The adapters speak German too: what Deck, CalDAV and Mailman refuse is said in the user's
language under a German locale.

Each scenario runs the real ``connector`` command against the server the adapter's own
tests use (the Deck double, a real Radicale, a real Mailman 3 core) on a path that ends in
one of the adapter's messages, and asserts its German text and that no English is left.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from connector.testing.calendar_servers import CalendarServer, radicale_server
from connector.testing.deck_server import DeckServer
from connector.testing.mailman_server import MailmanInstance, mailman_server
from tests.calendar_folder import write_folder
from tests.test_cli_sync import CONFIG, ON_THE_DAY, populate
from tests.test_exit_codes import DECK_MAPPING
from tests.test_german import assert_german, german
from tests.test_tls import https  # noqa: F401 (the HTTPS server with a self-signed certificate)

SECRET = "GERMAN_ADAPTERS_SECRET"
LIST_SECRET = "GERMAN_ADAPTERS_LIST_SECRET"
DECK_PASSWORD = "EXIT_TEST_DECK_PASSWORD"  # where DECK_MAPPING takes its secret from


def _deck_mapping(url: str, group: str) -> str:
    """The exit-code tests' Deck mapping, its board shared with ``group``."""
    stacks = 'stacks = ["Offen", "Erledigt"]\n'
    assert stacks in DECK_MAPPING
    acl = f'acl = [{{ group = "{group}", edit = true }}]\n'
    return DECK_MAPPING.format(url=url).replace(stacks, stacks + acl)


def _folder(tmp_path: Path, mapping: str) -> Path:
    """A working folder: ``connector.toml``, the mapping and a store with cohort mim-10."""
    (tmp_path / "connector.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "mapping.toml").write_text(mapping, encoding="utf-8")
    populate(tmp_path / "cohort.db")
    return tmp_path


def _config(folder: Path) -> list[str]:
    return ["--config", str(folder / "connector.toml")]


# -- Deck ---------------------------------------------------------------------------------


def test_a_board_shared_with_a_group_nextcloud_does_not_know_is_refused_in_german(
    tmp_path: Path,
) -> None:
    """As tests/test_deck_sync.py: the mapping shares the board with a group the Nextcloud
    lacks, so the board is not made and the user is told what to fix (exit 3)."""
    with DeckServer(users={"admin": "richtig"}, groups={"beirat": ["admin"]}) as deck:
        url = deck.url
        folder = _folder(tmp_path, _deck_mapping(url, "gibt-es-nicht"))
        done = german(
            *_config(folder), "sync", "--today", ON_THE_DAY, env={DECK_PASSWORD: "richtig"}
        )
        boards = requests.get(
            url + "/index.php/apps/deck/api/v1.0/boards",
            auth=("admin", "richtig"),
            headers={"OCS-APIRequest": "true"},
            timeout=10,
        ).json()
    shown = done.stdout + done.stderr
    assert done.returncode == 3, shown
    assert (
        f"Deck-Board 'Aufgaben' soll mit Gruppe 'gibt-es-nicht' geteilt werden, doch Nextcloud "
        f"unter {url} kennt diesen Freigabeempfänger nicht: legen Sie ihn dort an"
    ) in shown
    assert "korrigieren Sie deck.acl der Regel in der Zuordnungsdatei" in shown
    assert "Traceback" not in shown and "Aufgaben" not in [b["title"] for b in boards]
    assert_german(shown, "connector sync (Deck, unknown group)")


def test_connector_doctor_says_in_german_that_the_deck_password_is_wrong(
    tmp_path: Path,
) -> None:
    """As tests/test_doctor.py: a refused app password is one finding whose message says
    what to do, so no second, generic fix follows it (exit 5)."""
    with DeckServer(users={"admin": "richtig"}, groups={"beirat": ["admin"]}) as deck:
        url = deck.url
        folder = _folder(tmp_path, _deck_mapping(url, "beirat"))
        done = german(*_config(folder), "doctor", env={DECK_PASSWORD: "falsch"})
    shown = done.stdout + done.stderr
    assert done.returncode == 5, shown
    fix = [line for line in shown.splitlines() if "nextcloud: " in line]
    assert len(fix) == 1, shown
    assert fix[0].endswith(
        f"Nextcloud unter {url} hat Benutzer admin abgelehnt (401): prüfen Sie das "
        "Deck-App-Passwort für Benutzer admin"
    ), shown
    assert "Traceback" not in shown
    assert_german(shown, "connector doctor (Deck, wrong password)")


def test_an_untrusted_certificate_is_explained_in_german(
    tmp_path: Path,
    https: tuple[str, Path],  # noqa: F811
) -> None:
    """As tests/test_tls.py: a self-signed certificate is named as the reason, with what to
    do; the message says it, so no generic fix follows (exit 8)."""
    base, _cert = https
    folder = _folder(tmp_path, _deck_mapping(base, "beirat"))
    done = german(*_config(folder), "doctor", env={DECK_PASSWORD: "richtig"})
    shown = done.stdout + done.stderr
    assert done.returncode == 8, shown
    [fix] = [line for line in shown.splitlines() if "nextcloud: " in line]
    assert fix.endswith(
        f"TLS: das Zertifikat von {base} lässt sich nicht prüfen: es ist selbst signiert oder "
        "von einer Stelle ausgestellt, der dieser Rechner nicht vertraut; installieren Sie die "
        "ausstellende Stelle (oder lassen Sie REQUESTS_CA_BUNDLE darauf zeigen) oder setzen "
        "Sie, nur für einen Testserver, verify_tls = false an der Plattform"
    ), shown
    assert "Traceback" not in shown
    assert_german(shown, "connector doctor (TLS)")


# -- CalDAV -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CalendarServer]:
    with radicale_server(tmp_path_factory.mktemp("radicale")) as server:
        yield server


def _calendar_folder(tmp_path: Path, server: CalendarServer, calendar: str) -> Path:
    """tests/calendar_folder.py's folder: three events for one calendar on ``server``."""
    write_folder(tmp_path, server, secret=f'{{ env = "{SECRET}" }}', calendar=calendar)
    return tmp_path


def test_events_whose_times_the_mapping_swaps_are_refused_in_german(
    tmp_path: Path, radicale: CalendarServer
) -> None:
    """The iCalendar check's reason (end before start) reaches the user in German, inside
    the calendar's context (which event; exit 8)."""
    folder = _calendar_folder(tmp_path, radicale, "mim-10-vertauscht")
    mapping = (folder / "mapping.toml").read_text(encoding="utf-8")
    for remote, wrong in (("start", "end"), ("end", "start")):  # a slip in the mapping file
        right = f'remote = "{remote}"\ncanonical = "{remote}"'
        assert right in mapping
        mapping = mapping.replace(right, f'remote = "{remote}"\ncanonical = "{wrong}"')
    (folder / "mapping.toml").write_text(mapping, encoding="utf-8")
    done = german(*_config(folder), "sync", "--today", ON_THE_DAY, env={SECRET: radicale.password})
    shown = done.stdout + done.stderr
    assert done.returncode == 8, shown
    assert "Termin " in shown and "der Termin endet (2026-" in shown, shown
    assert "), bevor er beginnt (2026-" in shown, shown
    assert "Traceback" not in shown
    assert_german(shown, "connector sync (CalDAV, swapped times)")


def test_a_calendar_that_holds_no_events_is_refused_in_german(
    tmp_path: Path, radicale: CalendarServer
) -> None:
    """The mapping names a task list (a CalDAV collection for VTODO only), not a calendar:
    the connector refuses to use it and says so in German (exit 8)."""
    calendar = "mim-10-aufgaben"
    home = radicale.url.rstrip("/") + f"/{radicale.user}/"
    made = requests.request(
        "MKCALENDAR",
        home + calendar + "/",
        data=(
            '<?xml version="1.0"?><c:mkcalendar xmlns:d="DAV:" '
            'xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop>'
            '<c:supported-calendar-component-set><c:comp name="VTODO"/>'
            "</c:supported-calendar-component-set></d:prop></d:set></c:mkcalendar>"
        ),
        auth=(radicale.user, radicale.password),
        timeout=10,
    )
    assert made.status_code == 201, made.text
    folder = _calendar_folder(tmp_path, radicale, calendar)
    done = german(*_config(folder), "sync", "--today", ON_THE_DAY, env={SECRET: radicale.password})
    shown = done.stdout + done.stderr
    assert done.returncode == 8, shown
    assert f"Kalender /{radicale.user}/{calendar}/ nimmt keine Termine an (nur ['VTODO'])" in (
        shown
    ), shown
    assert "Traceback" not in shown
    assert_german(shown, "connector sync (CalDAV, a task list)")


# -- Mailman ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mailman(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailmanInstance]:
    with mailman_server(tmp_path_factory.mktemp("mailman")) as instance:
        yield instance


def _list(mailman: MailmanInstance, address: str) -> str:
    """A Mailman target and a rule putting the mentees on the list ``address``."""
    return f"""
[targets.listen]
kind = "mailman"
url = "{mailman.url}"
user = "{mailman.user}"
secret = {{ env = "{LIST_SECRET}" }}
audience = "participants"

[[rules]]
name = "mentees"
entity = "person"
target = "listen"
audience = "mentees"
filter = {{ roles = ["mentee"], consent_lists = true }}
key = "email"

[rules.list]
address = "{address}"
display_name = "Mentees Durchgang 10"

[[rules.fields]]
remote = "email"
canonical = "email"
direction = "out"
"""


def test_an_announce_with_a_bad_sender_and_no_body_is_refused_in_german(
    tmp_path: Path, mailman: MailmanInstance
) -> None:
    """As tests/test_mailman.py: a circular needs a body and a plain sender address; both
    problems are named, in German (exit 3)."""
    address = "mentees-10@mentoring.example.org"
    mapping = 'name = "Listen-Test"\nprogramme = "mim"\ncohort = "mim-10"\n' + _list(
        mailman, address
    )
    folder = _folder(tmp_path, mapping)
    body = tmp_path / "leer.txt"
    body.write_text(" \n", encoding="utf-8")
    sender = "Beirat <beirat-10@mentoring.example.org>"
    done = german(
        *_config(folder), "announce", address, "--subject", "Startworkshop",
        "--body-file", str(body), "--sender", sender, "--send",
        env={LIST_SECRET: mailman.password},
    )  # fmt: skip
    shown = done.stdout + done.stderr
    assert done.returncode == 3, shown
    assert done.stderr.startswith(
        "Fehler: Rundschreiben nicht möglich: der Text ist leer; "
        f"der Absender {sender!r} ist keine einfache E-Mail-Adresse"
    ), shown
    assert_german(shown, "connector announce (bad sender, no body)")


def test_connector_doctor_speaks_german_about_calendars_and_lists(
    tmp_path: Path, radicale: CalendarServer, mailman: MailmanInstance
) -> None:
    """As tests/test_doctor.py: a calendar the first sync will create, and a list on a mail
    domain Mailman lacks (the problem to fix, exit 3), all said in German."""
    domain = "fehlt.example.org"
    folder = _calendar_folder(tmp_path, radicale, "mim-10-doktor")
    mapping = (folder / "mapping.toml").read_text(encoding="utf-8")
    mapping += _list(mailman, f"mentees-10@{domain}")
    (folder / "mapping.toml").write_text(mapping, encoding="utf-8")
    env = {SECRET: radicale.password, LIST_SECRET: mailman.password}
    done = german(*_config(folder), "doctor", env=env)
    shown = done.stdout + done.stderr
    assert done.returncode == 3, shown
    assert f"erreichbar; Benutzer {radicale.user} angemeldet, Kalenderverzeichnis /" in shown
    assert "Kalender 'mim-10-doktor': gibt es noch nicht; der erste Abgleich legt es an" in shown
    assert f"erreichbar; REST-Benutzer {mailman.user} angenommen" in shown
    assert (
        f"Domain {domain}: gibt es auf Mailman nicht; legen Sie die Domain {domain} an"
    ) in shown, shown
    assert f"Liste mentees-10@{domain}: gibt es noch nicht" in shown, shown
    assert "Traceback" not in shown
    assert_german(shown, "connector doctor (CalDAV, Mailman)")
