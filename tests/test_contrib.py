"""The systemd units in contrib/: valid for systemd, hardened, and running real commands."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONTRIB = Path(__file__).resolve().parent.parent / "contrib" / "systemd"
UNITS = ["cohort-connector.service", "cohort-connector-pass.service", "cohort-connector-pass.timer"]
CONNECTOR = Path(sys.executable).parent / "connector"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
#: `systemd-analyze security` rates 0 (locked down) to 10 (exposed); 1.5 when written.
MAX_EXPOSURE = 2.0


def settings(unit: str) -> dict[str, list[str]]:
    """Every KEY=VALUE of a unit file (a key may repeat)."""
    found: dict[str, list[str]] = {}
    for line in (CONTRIB / unit).read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def installed(tmp_path: Path) -> Path:
    """The units with ExecStart pointing at this installation's `connector`."""
    for unit in UNITS:
        text = (CONTRIB / unit).read_text(encoding="utf-8")
        (tmp_path / unit).write_text(text.replace("/usr/local/bin/connector", str(CONNECTOR)))
    return tmp_path


def analyze() -> str:
    if SYSTEMD_ANALYZE is None:
        pytest.fail("systemd-analyze is needed to check contrib/systemd (apt-get install systemd)")
    return SYSTEMD_ANALYZE


def test_the_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    folder = installed(tmp_path)
    done = subprocess.run(
        [analyze(), "verify", "--man=no", *(str(folder / u) for u in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("unit", [u for u in UNITS if u.endswith(".service")])
def test_each_service_is_hardened(unit: str, tmp_path: Path) -> None:
    found = settings(unit)
    assert found["User"] == ["cohort"] and found["NoNewPrivileges"] == ["yes"]
    assert found["ProtectSystem"] == ["strict"] and found["ProtectHome"] == ["yes"]
    # Only the store's folder is writable, and the config says to put the store there.
    assert found["ReadWritePaths"] == ["/var/lib/cohort-connector"]
    assert 'store = "/var/lib/cohort-connector/cohort.db"' in (CONTRIB / unit).read_text()
    assert found["CapabilityBoundingSet"] == [""]
    done = subprocess.run(
        [analyze(), "security", "--offline=yes", str(installed(tmp_path) / unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    level = re.search(r"Overall exposure level for \S+: ([\d.]+)", done.stdout + done.stderr)
    assert level is not None, done.stdout + done.stderr
    assert float(level.group(1)) <= MAX_EXPOSURE, done.stdout


def test_the_services_run_commands_the_connector_has() -> None:
    daemon = settings("cohort-connector.service")
    oneshot = settings("cohort-connector-pass.service")
    assert daemon["ExecStart"] == ["/usr/local/bin/connector sync --watch"]
    assert oneshot["ExecStart"] == ["/usr/local/bin/connector sync"]
    assert oneshot["Type"] == ["oneshot"] and oneshot["SuccessExitStatus"] == ["7"]
    assert "CONNECTOR_LOG_FORMAT=json" in daemon["Environment"]
    # The daemon does not restart into a loop on what only a person can fix (README table).
    assert daemon["RestartPreventExitStatus"] == ["3 4 5"]
    for args in (["sync", "--watch", "--help"], ["--log-format", "json", "status", "--help"]):
        done = subprocess.run([str(CONNECTOR), *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    timer = settings("cohort-connector-pass.timer")
    assert timer["OnUnitInactiveSec"] == ["5min"]
