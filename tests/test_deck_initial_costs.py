"""What the example cohort's initial Deck sync costs in requests (issue 14), held in CI.

The bundled example (``examples/muensterland-10``, imported as the README says) is synced by
``connector sync`` with the shipped mapping restricted to its Deck target, onto the Deck
double. Request counts are deterministic; the time this sync takes against a real Nextcloud
is measured by ``bench/cli_deck_bench.py``, which counts the same requests there.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from connector.testing.deck_server import DeckServer
from tests.factories import IMPORT_ORDER
from tests.test_example_sync import council_accounts

ROOT = Path(__file__).resolve().parent.parent
CONNECTOR = str(Path(sys.executable).with_name("connector"))
sys.path.insert(0, str(ROOT / "bench"))
from cli_deck_bench import deck_only  # noqa: E402

#: 3 boards with 8 stacks, 17 labels and 3 shares; 69 cards, each POSTed, labelled or
#: assigned and read back; per rule a board list and, after its writes, one settle listing.
#: A change here is a change in what a user waits for.
INITIAL_REQUESTS = 224
#: Seen 224 and 225 between runs: what the connector may trust from a Deck listing depends
#: on the server second its writes land in (ETags change once per second; deck_poll).
SAME_SECOND = 1


def next_second() -> None:
    """Wait until the wall clock (the Deck double's clock) is in a new second."""
    time.sleep(1.05 - time.time() % 1)


def run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [CONNECTOR, *args], env=env, capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert done.returncode == 0, f"connector {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_initial_sync_of_the_example_cohort_costs_a_fixed_number_of_requests(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "DECK_APP_PASSWORD": "pw",
        "CONNECTOR_CONFIG": str(tmp_path / "work" / "connector.toml"),
    }
    run(env, "init", str(tmp_path / "work"))
    for kind in IMPORT_ORDER:
        run(env, "import", kind, str(ROOT / "examples" / "muensterland-10" / f"{kind}.csv"))
    mapping = tmp_path / "work" / "mapping.toml"
    council = council_accounts(tmp_path / "work" / "cohort.db")
    with DeckServer({"admin": "pw", **{u: "x" for u in council}}, {"beirat": council}) as deck:
        text = deck_only(mapping.read_text(encoding="utf-8"))
        mapping.write_text(text.replace("http://127.0.0.1:8081", deck.url), encoding="utf-8")
        first = run(env, "sync", "--stats")
        # Deck's ETags change once per second: a listing taken in the second of the last
        # write is listed again by the next pass. A person's passes are seconds apart; a
        # connector started this fast could run all three within two seconds.
        next_second()
        quiet = run(env, "sync", "--stats")
        next_second()
        quieter = run(env, "sync", "--stats")
    assert "bewerbungen → nextcloud / Mentoring 10 – Beirat: 40 create" in first, first
    [total] = re.findall(r"^requests per target: nextcloud: (\d+)$", first, re.M)
    assert INITIAL_REQUESTS <= int(total) <= INITIAL_REQUESTS + SAME_SECOND, first
    # The next pass lists each written board once more (stacks, archived stacks): its last
    # listing was taken in the second of our writes. After that, at most 2 requests (as
    # tests/test_example_sync.py holds for the whole example).
    [after] = re.findall(r"^requests per target: nextcloud: (\d+)$", quiet, re.M)
    assert quiet.count("nothing to do") == 3 and int(after) <= 1 + 2 * 3, quiet
    [last] = re.findall(r"^requests per target: nextcloud: (\d+)$", quieter, re.M)
    assert quieter.count("nothing to do") == 3 and int(last) <= 2, quieter
