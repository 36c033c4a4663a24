"""Costs by Proporz: the largest-remainder split, the fee per head, and the example cohorts
against tables computed by hand, through the real `connector report costs`."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from connector.errors import InputError
from sync.costs import cohort_costs, sort_key, split_by_largest_remainder
from sync.importer import import_file
from sync.store import Store
from tests.conftest import EXAMPLES, example_files, run_connector

D = Decimal


def test_one_thousand_over_three_single_participants() -> None:
    shares = split_by_largest_remainder(D("1000.00"), {"Rheine": 1, "Greven": 1, "Laer": 1})
    assert shares == {"Greven": D("333.34"), "Laer": D("333.33"), "Rheine": D("333.33")}
    assert sum(shares.values()) == D("1000.00")


def test_ties_go_by_short_name_never_by_size() -> None:
    # 100.00 over 3 + 3 + 1 heads: exact 42.857.., 42.857.., 14.285..; two cents left over.
    # Remainders .71 (both threes) and .57: the threes get them; Ahlen (small) is not favoured.
    shares = split_by_largest_remainder(D("100.00"), {"Münster": 3, "Ahlen": 1, "Borken": 3})
    assert shares == {"Münster": D("42.86"), "Ahlen": D("14.28"), "Borken": D("42.86")}
    # Equal remainders: the cent goes alphabetically (Ümlaut sorted as its base letter).
    shares = split_by_largest_remainder(D("0.02"), {"Zell": 1, "Ümmerich": 1, "Ahaus": 1})
    assert shares == {"Zell": D("0.00"), "Ümmerich": D("0.01"), "Ahaus": D("0.01")}


def test_an_organisation_without_participants_pays_nothing() -> None:
    shares = split_by_largest_remainder(D("10.00"), {"Laer": 0, "Greven": 3})
    assert shares == {"Laer": D("0.00"), "Greven": D("10.00")}


@pytest.mark.parametrize(
    ("total", "heads", "message"),
    [
        (D("10.005"), {"A": 1}, "in cents"),
        (D("-1.00"), {"A": 1}, "non-negative"),
        (D("10.00"), {"A": 0}, "nobody"),
    ],
)
def test_bad_splits_say_why(total: Decimal, heads: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        split_by_largest_remainder(total, heads)


def test_german_index_order() -> None:
    names = ["LWL", "Laer", "Bünde", "Borken", "Dülmen", "Ahlen", "Ascheberg"]
    assert sorted(names, key=sort_key) == [
        "Ahlen",
        "Ascheberg",
        "Borken",
        "Bünde",
        "Dülmen",
        "Laer",
        "LWL",
    ]


def test_fee_per_head_in_the_small_cohort(cohort_store: Store) -> None:
    report = cohort_costs(cohort_store, "mim-10")
    assert report.rule == "fee_per_head" and report.fee == D("500.00")  # the default fee
    assert [(x.short_name, x.participants, x.amount) for x in report.lines] == [
        ("Greven", 1, D("500.00")),
        ("Rheine", 0, D("0.00")),
    ]
    assert report.total == D("500.00")


def test_unknown_cohort_is_input_error(cohort_store: Store) -> None:
    with pytest.raises(InputError, match="no cohort 'mim-99'"):
        cohort_costs(cohort_store, "mim-99")


# -- the example cohorts, by hand -----------------------------------------------------------

#: Mentoring im Münsterland 10: 18 selected mentees (applications.csv), 500 EUR each.
MIM_10 = [
    ("Ahlen", 1, "500.00"),
    ("Ascheberg", 0, "0.00"),
    ("Borken", 1, "500.00"),
    ("Bünde", 2, "1,000.00"),
    ("Dülmen", 3, "1,500.00"),
    ("Emsdetten", 1, "500.00"),
    ("Greven", 2, "1,000.00"),
    ("Gronau", 1, "500.00"),
    ("Kreis Steinfurt", 1, "500.00"),
    ("Kreis Warendorf", 1, "500.00"),
    ("Laer", 1, "500.00"),
    ("LWL", 1, "500.00"),
    ("Münster", 1, "500.00"),
    ("Neuenkirchen", 1, "500.00"),
    ("Ostbevern", 0, "0.00"),
    ("Rheine", 0, "0.00"),
    ("Steinfurt", 1, "500.00"),
]

#: The pilot: 10,000.00 EUR over 14 participants, two from each of seven administrations.
#: 10,000 * 2/14 = 1,428.5714..: 1,428.57 each leaves one cent; all remainders are equal, so
#: it goes to the first short name in alphabetical order.
NFK_1 = [
    ("Greven", 2, "1,428.58"),
    ("Hörstel", 2, "1,428.57"),
    ("Jobcenter Kreis Steinfurt", 2, "1,428.57"),
    ("Kreis Steinfurt", 2, "1,428.57"),
    ("Lengerich", 2, "1,428.57"),
    ("Rheine", 2, "1,428.57"),
    ("Steinfurt", 2, "1,428.57"),
]


@pytest.fixture(scope="module")
def example_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("costs") / "cohort.db"
    with Store.open(path) as store:
        for folder in ("muensterland-10", "nachwuchsfoerderkreis"):
            for kind, file in example_files(EXAMPLES / folder):
                assert import_file(store, kind, file).written
    return path


def test_mim_10_table_by_hand(example_store: Path) -> None:
    done = run_connector("--store", str(example_store), "report", "costs", "--cohort", "mim-10")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1] == "rule: 500.00 EUR per mentee"
    body = [line.split() for line in lines[5:-2]]
    got = [(" ".join(cells[:-3]), int(cells[-3]), cells[-1]) for cells in body]
    assert got == MIM_10
    assert lines[-1].split() == ["total", "18", "9,000.00"]


def test_nfk_1_table_by_hand(example_store: Path) -> None:
    done = run_connector("--store", str(example_store), "report", "costs", "--cohort", "nfk-1")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1] == (
        "rule: 10,000.00 EUR split in proportion to participants "
        "(largest remainder, ties by short name)"
    )
    body = [line.split() for line in lines[5:-2]]
    got = [(" ".join(cells[:-2]), int(cells[-2]), cells[-1]) for cells in body]
    assert got == NFK_1
    assert lines[-1].split() == ["total", "14", "10,000.00"]


def test_json_amounts_are_strings(example_store: Path) -> None:
    done = run_connector(
        "--store", str(example_store), "report", "costs", "--cohort", "nfk-1", "--json"
    )
    data = json.loads(done.stdout)
    assert data["rule"] == "proportional_split" and data["total"] == "10000.00"
    assert [(o["short_name"], o["amount_due"]) for o in data["organisations"]] == [
        (name, amount.replace(",", "")) for name, _, amount in NFK_1
    ]


def test_override_total_on_the_command_line(example_store: Path) -> None:
    done = run_connector(
        "--store", str(example_store), "report", "costs", "--cohort", "mim-10",
        "--total", "1.000,00", "--json",
    )  # fmt: skip
    data = json.loads(done.stdout)
    assert data["total"] == "1000.00"
    amounts = {o["short_name"]: D(o["amount_due"]) for o in data["organisations"]}
    assert sum(amounts.values()) == D("1000.00")
    # 1000/18 = 55.5555..: Dülmen (3) 166.67, Bünde and Greven (2) 111.11, ones 55.55 or 55.56.
    assert amounts["Dülmen"] == D("166.67") and amounts["Bünde"] == D("111.11")
    assert amounts["Rheine"] == D("0.00")


def test_csv_for_german_excel(example_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "kosten.csv"
    done = run_connector(
        "--store", str(example_store), "report", "costs", "--cohort", "nfk-1", "--csv", str(out)
    )
    assert done.returncode == 0, done.stderr
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark: Excel reads umlauts right
    lines = raw.decode("utf-8-sig").split("\r\n")
    assert lines[0] == "Kurzname;Organisation;Teilnehmende;Gebühr je Person (EUR);Betrag (EUR)"
    assert lines[1] == "Greven;Stadt Greven;2;;1428,58"
    assert lines[2].startswith("Hörstel;") and lines[2].endswith(";2;;1428,57")
    assert lines[8] == "Summe;;14;;10000,00"


def test_bad_total_names_the_option(example_store: Path) -> None:
    done = run_connector(
        "--store", str(example_store), "report", "costs", "--cohort", "mim-10", "--total", "viel"
    )
    assert done.returncode == 3
    assert done.stderr.startswith("error: --total: 'viel' is not an amount")
