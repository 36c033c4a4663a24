"""The commands' own messages under a German locale: the config file, a mapping file, matching,
costs and an import, each through the real ``connector`` command."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sync.model import Tandem
from sync.store import Store
from tests.test_exit_codes import DECK_MAPPING
from tests.test_german import assert_german, german

#: The exit-code tests' Deck mapping, pointed at a plain-http server on another host.
HTTP_MAPPING = DECK_MAPPING.format(url="http://cloud.example.org").replace(
    "EXIT_TEST_DECK_PASSWORD", "DECK_APP_PASSWORD"
)


def test_a_missing_config_file_is_named_in_german(tmp_path: Path) -> None:
    missing = tmp_path / "fehlt.toml"
    done = german("--config", str(missing), "status")
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith(f"Fehler: {missing}: diese Konfigurationsdatei gibt es nicht")
    assert_german(done.stderr.replace(str(missing), "F"), "connector --config F status")


def test_a_plain_http_target_is_warned_about_in_german(tmp_path: Path) -> None:
    mapping = tmp_path / "beirat.toml"
    mapping.write_text(HTTP_MAPPING, encoding="utf-8")
    done = german("mappings", "check", str(mapping))
    shown = done.stdout + done.stderr
    assert (
        "Ziel 'nextcloud': http://cloud.example.org ist unverschlüsseltes http zu einem anderen "
        "Rechner; Passwörter und persönliche Daten würden unverschlüsselt übertragen; "
        "verwenden Sie https"
    ) in shown, shown
    assert_german(shown.replace(str(mapping), "F"), "connector mappings check")


def test_matching_flags_are_german(cohort_store: Store, tmp_path: Path) -> None:
    cohort_store.put(
        Tandem(
            uid="t-1", cohort="mim-10", mentee="p-anna", mentor="p-carla", matched_on=date.today()
        )
    )
    store = str(tmp_path / "cohort.db")
    done = german("--store", store, "match", "candidates", "p-anna")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "  ! Anna Beispiel hat schon das Tandem t-1" in lines, done.stdout
    assert "  Ziele:     -" in lines and "  Themen:    -" in lines, done.stdout
    assert_german(done.stdout, "connector match candidates")
    everyone = german("--store", store, "match", "candidates", "p-anna", "--all")
    flags = [line for line in everyone.stdout.splitlines() if line.startswith("    ! ")]
    assert "    ! in diesem Durchgang schon in einem Tandem" in flags, everyone.stdout
    # The mentee's own second tandem is said once above the list, on no mentor.
    assert not [flag for flag in flags if "t-1" in flag], everyone.stdout
    unknown = german("--store", store, "match", "candidates", "niemand@example.org")
    assert unknown.returncode == 3
    assert unknown.stderr.startswith(
        "Fehler: es gibt keine Person mit uid oder E-Mail 'niemand@example.org'"
    )
    assert_german(unknown.stderr, "connector match candidates (unknown person)")


def test_an_unknown_cohort_of_the_costs_report_is_german(
    cohort_store: Store, tmp_path: Path
) -> None:
    done = german("--store", str(tmp_path / "cohort.db"), "report", "costs", "--cohort", "mim-99")
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith(
        "Fehler: es gibt keinen Durchgang 'mim-99' (siehe `connector status`)"
    )
    assert_german(done.stderr, "connector report costs")


def test_a_required_cell_of_an_import_is_german(tmp_path: Path) -> None:
    orgs = tmp_path / "orgs.csv"
    orgs.write_text("Kurzname;Name;Art\nGreven;Stadt Greven;Stadt\n;Gemeinde Laer;Dorf\n")
    done = german("--store", str(tmp_path / "s.db"), "import", "organisations", str(orgs))
    assert done.returncode == 3
    lines = done.stderr.splitlines()
    assert f"{orgs}:3: Kurzname: ein Wert ist nötig" in lines, done.stderr
    assert (
        f"{orgs}:3: Art: 'Dorf' ist keiner dieser Werte: Landkreis, Jobcenter AöR, Stadt, "
        "Gemeinde, Kreis, Landschaftsverband, Jobcenter, Sonstige"
    ) in lines, done.stderr
    assert_german(done.stderr.replace(str(orgs), "F"), "connector import organisations")


def test_clearing_a_required_cell_is_refused_in_german(tmp_path: Path) -> None:
    orgs = tmp_path / "orgs.csv"
    orgs.write_text("Kurzname;Name;Art\nGreven;Stadt Greven;Stadt\n", encoding="utf-8")
    store = str(tmp_path / "s.db")
    assert german("--store", store, "import", "organisations", str(orgs)).returncode == 0
    orgs.write_text("Kurzname;Name;Art\nGreven;Stadt Greven;-\n", encoding="utf-8")
    done = german("--store", store, "import", "organisations", str(orgs))
    assert done.returncode == 3
    assert f"{orgs}:2: Art: ein Wert ist nötig; '-' kann ihn nicht leeren" in done.stderr
    assert_german(done.stderr.replace(str(orgs), "F"), "connector import organisations (clear)")


def test_a_failing_secret_command_is_named_in_german(tmp_path: Path) -> None:
    mapping = HTTP_MAPPING.replace("http://", "https://").replace(
        'secret = { env = "DECK_APP_PASSWORD" }', 'secret = { command = "false" }'
    )
    (tmp_path / "beirat.toml").write_text(mapping, encoding="utf-8")
    config = tmp_path / "connector.toml"
    config.write_text('store = "cohort.db"\nmappings = ["beirat.toml"]\n', encoding="utf-8")
    orgs = tmp_path / "orgs.csv"
    orgs.write_text("Kurzname;Name;Art\nGreven;Stadt Greven;Stadt\n", encoding="utf-8")
    assert german("--config", str(config), "import", "organisations", str(orgs)).returncode == 0
    done = german("--config", str(config), "plan")
    assert done.returncode == 3
    assert done.stderr.startswith(
        "Fehler: der Geheimnis-Befehl 'false' für https://cloud.example.org schlug fehl mit "
        "Rückgabewert 1"
    ), done.stderr
    assert_german(done.stderr, "connector plan (secret command)")
