"""The parts a real Nextcloud for tests is made of: the distribution archive (sha256
checked), PHP from Debian, the unpacked code, and ``config.php`` (see :mod:`.nextcloud_server`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator, Mapping
from pathlib import Path

DIST_NAME = "nextcloud-29.0.6-deck-1.13.10-appapi-3.2.3.tar.xz"
DIST_SHA256 = "e28270d7c6641785ca779685a6b3aebbdb0b9c714393dc2c148f34ac40269ac0"
PHP_PACKAGES = (
    "php-cli", "php-sqlite3", "php-xml", "php-mbstring", "php-gd", "php-curl",
    "php-zip", "php-intl", "php-bcmath", "php-gmp",
)  # fmt: skip
ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache"


class NextcloudMissing(RuntimeError):
    """The distribution (or PHP, without root to install it) is not on this machine."""


class NextcloudHarnessError(RuntimeError):
    """The distribution is here but the server could not be prepared or did not come up."""


# -- finding and preparing the parts ----------------------------------------------------------


def find_dist() -> Path:
    """The archive from ``$NEXTCLOUD_DIST`` or ``../shared/nextcloud/``, sha256 checked."""
    override = os.environ.get("NEXTCLOUD_DIST")
    shared = ROOT.parent / "shared" / "nextcloud" / DIST_NAME
    candidates = [Path(override).expanduser()] if override else [shared]
    for path in candidates:
        if path.is_file():
            return _checked(path)
    if override:
        raise NextcloudMissing(f"NEXTCLOUD_DIST={override} is not a file")
    raise NextcloudMissing(f"no {DIST_NAME} (set NEXTCLOUD_DIST=/path/to/{DIST_NAME})")


def _checked(path: Path) -> Path:
    stamp = CACHE / "nextcloud-dist" / "checked.json"
    key = f"{path.resolve()}:{path.stat().st_size}:{path.stat().st_mtime_ns}"
    with contextlib.suppress(OSError, ValueError):
        if json.loads(stamp.read_text()).get(key) == DIST_SHA256:
            return path
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != DIST_SHA256:
        raise NextcloudHarnessError(
            f"{path}: sha256 {digest.hexdigest()} is not the expected {DIST_SHA256}"
        )
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps({key: DIST_SHA256}))
    return path


def ensure_php() -> str:
    """The ``php`` binary; installed from Debian with apt-get when missing and we are root."""
    found = shutil.which("php")
    if found and _php_has_modules(found):
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise NextcloudMissing(
            "PHP 8.2 with sqlite3/xml/mbstring/gd/curl/zip/intl/bcmath/gmp is missing and "
            f"this is not root: apt-get install {' '.join(PHP_PACKAGES)}"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", *PHP_PACKAGES]):
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise NextcloudHarnessError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    found = shutil.which("php")
    if not found or not _php_has_modules(found):
        raise NextcloudHarnessError("PHP was installed but lacks the modules Nextcloud needs")
    return found


def _php_has_modules(php: str) -> bool:
    done = subprocess.run([php, "-m"], capture_output=True, text=True, check=False)
    modules = {line.strip().lower() for line in done.stdout.splitlines()}
    return {"pdo_sqlite", "xml", "mbstring", "gd", "curl", "zip", "intl"} <= modules


@contextlib.contextmanager
def locked(name: str) -> Iterator[None]:
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def code_dir(dist: Path) -> Path:
    """The unpacked server code (read-only use), unpacked once per archive."""
    target = CACHE / "nextcloud-dist" / DIST_SHA256[:16]
    code = target / "nextcloud"
    with locked("nextcloud-dist"):
        if (target / ".unpacked").exists():
            return code
        shutil.rmtree(target, ignore_errors=True)
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        with tarfile.open(dist) as archive:
            archive.extractall(partial, filter="tar")
        (partial / ".unpacked").write_text(DIST_SHA256)
        partial.rename(target)
    return code


# -- config.php -------------------------------------------------------------------------------


def _php_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "array(" + ", ".join(f"{i} => {_php_value(v)}" for i, v in enumerate(value)) + ")"
    if isinstance(value, dict):
        items = ", ".join(f"{_php_value(str(k))} => {_php_value(v)}" for k, v in value.items())
        return f"array({items})"
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def write_config(config_dir: Path, values: Mapping[str, object]) -> None:
    """Write ``config.php`` (the way Nextcloud's own var_export reads back)."""
    config_dir.mkdir(parents=True, exist_ok=True)
    body = ",\n".join(f"  {_php_value(k)} => {_php_value(v)}" for k, v in values.items())
    (config_dir / "config.php").write_text(f"<?php\n$CONFIG = array(\n{body}\n);\n")


def read_config(php: str, config_dir: Path) -> dict[str, object]:
    code = f'include "{config_dir / "config.php"}"; echo json_encode($CONFIG);'
    done = subprocess.run([php, "-r", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise NextcloudHarnessError(f"cannot read {config_dir}/config.php: {done.stderr}")
    loaded: dict[str, object] = json.loads(done.stdout)
    return loaded


def site_config(base: Mapping[str, object], home: Path, port: int) -> dict[str, object]:
    """The template's config pointed at ``home`` (data, log) and ``port``."""
    return {
        **base,
        "datadirectory": str(home / "data"),
        "trusted_domains": ["localhost", "127.0.0.1", f"127.0.0.1:{port}", f"localhost:{port}"],
        "overwrite.cli.url": f"http://127.0.0.1:{port}",
        "integrity.check.disabled": True,
        "logfile": str(home / "nextcloud.log"),
        "loglevel": 2,
    }
