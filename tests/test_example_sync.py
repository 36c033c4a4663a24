"""The main job end to end: the bundled example cohort, the shipped mapping, the real CLI.

Deck is the recorded-behaviour double; Radicale and Mailman are real servers. The shipped
mapping's local URLs are pointed at free ports. After the first sync, a pass with nothing to
do must cost at most 2 HTTP requests per Deck board and 1 per calendar.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.testing.calendar_servers import radicale_server
from connector.testing.deck_server import DeckServer
from connector.testing.mailman_server import mailman_server
from tests.factories import IMPORT_ORDER

ROOT = Path(__file__).resolve().parent.parent
CONNECTOR = str(Path(sys.executable).with_name("connector"))
EXAMPLE = ROOT / "examples" / "muensterland-10"


def run(env: dict[str, str], *args: str, code: int = 0) -> str:
    done = subprocess.run(
        [CONNECTOR, *args], env=env, capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert done.returncode == code, f"connector {' '.join(args)}: {done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    return done.stdout


def council_accounts(store_path: Path) -> list[str]:
    """The Nextcloud accounts of the imported council (tasks are assigned to them)."""
    from sync.store import Store

    with Store.open(store_path) as store:
        return sorted(
            user for p in store.entities("person") if (user := getattr(p, "deck_user", None))
        )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("example")
    deck_password, mailman_password = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    env = {
        **os.environ,
        "DECK_APP_PASSWORD": deck_password,
        "CALDAV_PASSWORD": "x",
        "MAILMAN_REST_PASSWORD": mailman_password,
        "CONNECTOR_CONFIG": str(tmp / "work" / "connector.toml"),
    }
    run(env, "init", str(tmp / "work"))
    for kind in IMPORT_ORDER:
        run(env, "import", kind, str(EXAMPLE / f"{kind}.csv"))
    council = council_accounts(tmp / "work" / "cohort.db")
    users = {"admin": deck_password, **{user: "x" for user in council}}
    with (
        DeckServer(users, {"beirat": council}) as deck,
        radicale_server(tmp / "radicale") as radicale,
        mailman_server(tmp / "mailman", user="restadmin", password=mailman_password) as mailman,
    ):
        mapping = tmp / "work" / "mapping.toml"
        text = mapping.read_text(encoding="utf-8")
        text = text.replace("http://127.0.0.1:8081", deck.url)
        text = text.replace("http://127.0.0.1:5232/", radicale.url)
        text = text.replace("http://127.0.0.1:8001", mailman.url)
        mapping.write_text(text, encoding="utf-8")
        yield env


def requests_per_rule(output: str) -> dict[str, int]:
    pattern = r"^(\S+) → .*\[(\d+) requests?\]$"  # "[1 request]", "[2 requests]"
    return {m[1]: int(m[2]) for m in re.finditer(pattern, output, re.M)}


def test_the_example_cohort_syncs_and_a_quiet_pass_is_cheap(world: dict[str, str]) -> None:
    env = world
    first = run(env, "sync", "--stats")
    assert "ERROR" not in first and "problem" not in first, first
    assert "bewerbungen → nextcloud / Mentoring 10 – Beirat: 40 create" in first
    quiet = run(env, "sync", "--stats")
    counts = requests_per_rule(quiet)
    assert quiet.count("nothing to do") == len(counts), quiet
    # The pass right after writes lists each written board once more (its last listing was
    # taken in the second of our writes), instead of the writing pass waiting a second per
    # board; from then on the board list, asked once for all boards, is the whole cost.
    for rule in ("bewerbungen", "beirat-aufgaben", "tandems"):
        assert counts[rule] <= 3, f"{rule}: {counts[rule]} requests on a quiet pass"
    for rule in ("fahrplan", "beirat-termine"):
        assert counts[rule] == 1, f"{rule}: {counts[rule]} requests on a quiet pass"
    quieter = requests_per_rule(run(env, "sync", "--stats"))
    deck = [quieter[rule] for rule in ("bewerbungen", "beirat-aufgaben", "tandems")]
    assert deck[0] <= 2 and deck[1:] == [0, 0], f"a quiet pass asks Nextcloud {deck} times"
    board = run(env, "show", "bewerbungen")
    assert board.startswith("Board »Mentoring 10 – Beirat«")
    assert re.search(r"^  Ausgewählt \(18\)$", board, re.M), board
