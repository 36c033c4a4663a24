"""The connector as a Nextcloud app (AppAPI, manual-install daemon) on the real Nextcloud 29.

The app runs as its own process (``python -m nextcloud_app``), registered with
``occ app_api:...`` exactly as an admin does; Nextcloud calls its heartbeat, ``/init`` and
``/enabled``. Bob (council group ``beirat``) opens the page through Nextcloud's proxy, sees a
conflict made on both sides of a card and settles it there; "sync now" on the page runs the
pass that applies it on the board and in the store. Carol (taken out of the group) gets 403,
an unsigned or wrongly signed request to the app's own port 401, a post without the page's
token 403.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import requests

from connector.testing.calendar_servers import free_port
from connector.testing.nextcloud_dist import ROOT
from connector.testing.nextcloud_server import NextcloudInstance, nextcloud_server
from nextcloud_app.appapi import AppSettings, Nextcloud
from sync.store import Store
from tests.conftest import prepared_council
from tests.deck_sites import RealSite, clean_site
from tests.factories import IMPORT_ORDER
from tests.test_deck import Person
from tests.test_example_sync import EXAMPLE, run
from tests.test_nextcloud_council import APPLICATIONS, deck_only

pytestmark = pytest.mark.real_nextcloud

APP_ID = "cohort_connector"
VERSION = "0.1.0"  # as in appinfo/info.xml
INFO_XML = ROOT / "nextcloud_app" / "appinfo" / "info.xml"
LEVELS = {"PUBLIC": 0, "USER": 1, "ADMIN": 2}


def declared_routes() -> list[dict[str, Any]]:
    """The routes of ``appinfo/info.xml``, as ``--json-info`` carries them: the app is
    registered here with what its Docker deployment would declare."""
    routes = ElementTree.parse(INFO_XML).getroot().findall("./external-app/routes/route")
    return [
        {
            "url": route.findtext("url"),
            "verb": route.findtext("verb"),
            "access_level": LEVELS[route.findtext("access_level") or ""],
            "headers_to_exclude": json.loads(route.findtext("headers_to_exclude") or "[]"),
        }
        for route in routes
    ]


@dataclass
class World:
    nc: NextcloudInstance
    site: RealSite
    env: dict[str, str]
    store_path: Path
    settings: AppSettings
    app_log: Path
    registered: str

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.port}"

    def proxy(self, user: str, method: str, route: str, **kwargs: Any) -> requests.Response:
        return requests.request(
            method,
            f"{self.nc.url}/index.php/apps/app_api/proxy/{APP_ID}/{route}",
            auth=(user, self.nc.app_passwords[user]),
            timeout=300,
            allow_redirects=False,
            **kwargs,
        )


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.1)
    raise AssertionError(f"the app did not come up: {log.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("ncapp")
    # The one rule for a missing distribution: NOT RUN, or a failure under CI=true.
    council = prepared_council()
    with nextcloud_server(tmp / "nc", council, workers=8) as nc:
        nc.occ("group:removeuser", "beirat", "carol")
        work = tmp / "work"
        env = {
            **os.environ,
            "DECK_APP_PASSWORD": nc.app_passwords["admin"],
            "CONNECTOR_CONFIG": str(work / "connector.toml"),
        }
        run(env, "init", str(work))
        for kind in IMPORT_ORDER:
            run(env, "import", kind, str(EXAMPLE / f"{kind}.csv"))
        mapping = work / "mapping.toml"
        mapping.write_text(deck_only(mapping.read_text(encoding="utf-8"), nc.url), "utf-8")
        site = clean_site(nc)
        run(env, "sync")

        settings = AppSettings(
            APP_ID, VERSION, secrets.token_urlsafe(24), "127.0.0.1", free_port(), nc.url
        )
        app_env = {
            **env,
            "APP_ID": settings.app_id,
            "APP_VERSION": settings.version,
            "APP_SECRET": settings.secret,
            "APP_HOST": settings.host,
            "APP_PORT": str(settings.port),
            "NEXTCLOUD_URL": nc.url,
            "LANGUAGE": "de",
            "CONNECTOR_LOG_FORMAT": "json",
        }
        app_log = tmp / "app.log"
        with app_log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "nextcloud_app"],
                cwd=ROOT,
                env=app_env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_for(f"http://127.0.0.1:{settings.port}/heartbeat", process, app_log)
            nc.occ("app:enable", "app_api")
            nc.occ(
                "app_api:daemon:register", "manual_install", "Manual Install", "manual-install",
                "http", "127.0.0.1", nc.url,
            )  # fmt: skip
            info = {
                "id": APP_ID, "name": "Mentoring", "version": VERSION,
                "secret": settings.secret, "port": settings.port, "routes": declared_routes(),
            }  # fmt: skip
            registered = nc.occ(
                "app_api:app:register", APP_ID, "manual_install", "--wait-finish",
                "--json-info", json.dumps(info),
            )  # fmt: skip
            # AppAPI enables the app once init reports 100: wait for its call to /enabled
            deadline = time.monotonic() + 60
            while "PUT /enabled" not in app_log.read_text() and time.monotonic() < deadline:
                time.sleep(0.2)
            yield World(nc, site, env, work / "cohort.db", settings, app_log, registered)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
            print("\napp log:\n" + app_log.read_text(errors="replace")[-4000:])


def _requests_served(world: World) -> list[tuple[str, str, int]]:
    found = []
    for line in world.app_log.read_text(errors="replace").splitlines():
        match = re.search(r"\b(GET|POST|PUT) (/\S*) (\d{3})\b", line)
        if match:
            found.append((match[1], match[2], int(match[3])))
    return found


def test_registration_calls_heartbeat_init_and_enabled_and_adds_the_menu(world: World) -> None:
    print("\nocc app_api:app:register:\n" + world.registered)
    served = _requests_served(world)
    assert ("POST", "/init", 200) in served, served
    assert ("PUT", "/enabled", 200) in served, served
    entry = Nextcloud(world.settings).menu_entry("mentoring")
    assert entry["display_name"] == "Mentoring", entry
    listed = world.nc.occ("app_api:app:list")
    assert APP_ID in listed and "enabled" in listed.lower(), listed


def test_unsigned_and_wrongly_signed_requests_get_401(world: World) -> None:
    assert requests.get(f"{world.app_url}/heartbeat", timeout=10).status_code == 200
    assert requests.get(f"{world.app_url}/api/page", timeout=10).status_code == 401
    forged = base64.b64encode(b"bob:not-the-secret").decode()
    headers = {"EX-APP-ID": APP_ID, "EX-APP-VERSION": VERSION, "AA-VERSION": "3.2.3",
               "AUTHORIZATION-APP-API": forged}  # fmt: skip
    assert requests.get(f"{world.app_url}/api/page", headers=headers, timeout=10).status_code == 401
    answer = requests.post(f"{world.app_url}/api/sync", data={"csrf": "x"}, timeout=10)
    assert answer.status_code == 401


def test_someone_outside_the_council_gets_403(world: World) -> None:
    answer = world.proxy("carol", "GET", "api/page")
    assert answer.status_code == 403, answer.text
    assert "Konflikt" not in answer.text and "Jetzt synchronisieren" not in answer.text


def _token(page: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert match, page[:2000]
    return match[1]


def test_bob_settles_a_conflict_on_the_page_and_the_next_pass_applies_it(
    world: World, tmp_path: Path
) -> None:
    site = world.site
    board = site.board_id(APPLICATIONS)
    with Store.open(world.store_path) as store:
        links = {
            uid: int(link.remote_id) for uid, link in store.links("mim-10:bewerbungen").items()
        }
    intake = site.stack_id(APPLICATIONS, "Bewerbungen")
    cards = site.call("GET", f"/boards/{board}/stacks/{intake}")["cards"]
    by_card = {card: uid for uid, card in links.items()}
    card = next(c["id"] for c in cards if c["id"] in by_card)
    uid = by_card[card]
    # both sides: bob moves the card, the coordinator declines the application in the store
    Person(site, "bob").move(board, card, site.stack_id(APPLICATIONS, "Vorgestellt"))
    with Store.open(world.store_path) as store:
        store.put(store.get(uid).touched(status="declined"))
    site.tick()
    parked = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "connector"), "sync"],
        env=world.env, capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert parked.returncode == 7, parked.stdout + parked.stderr  # a conflict waits
    with Store.open(world.store_path) as store:
        [conflict] = store.conflicts()
        label = store.get(store.get(uid).applicant).name  # type: ignore[union-attr]
    assert (conflict.uid, conflict.field) == (uid, "stack")

    page = world.proxy("bob", "GET", "api/page")
    assert page.status_code == 200, page.text[:2000]
    html = page.text
    print("\nthe page through the proxy (excerpt):\n" + html[:1500])
    section = html[html.index(f'id="conflict-{conflict.id}"') :]
    section = section[: section.index("</section>")]
    print("\nthe conflict on the page:\n" + section)
    assert label in section, "the record is named as a person reads it"
    for value in (conflict.base, conflict.remote, conflict.canonical):
        assert f"<td>{value}</td>" in section, value
    for text in ("Vom Board übernehmen", "Aus dem Bestand übernehmen", "Wert eingeben"):
        assert text in section, text
    for text in ("Jetzt synchronisieren", "Sperrfrist", "Letzte Abgleiche", "nextcloud"):
        assert text in html, text

    # the same page in a browser (headless Chromium), through the proxy
    dom = render_in_chromium(world, tmp_path / "page.png")
    assert label in dom and "Vom Board übernehmen" in dom and "Page not found" not in dom

    # a post without the page's token is refused, and nothing changes
    refused = world.proxy(
        "bob", "POST", "api/resolve", data={"conflict": conflict.id, "take": "canonical"}
    )
    assert refused.status_code == 403
    with Store.open(world.store_path) as store:
        assert store.conflict(conflict.id).resolved_at is None  # type: ignore[union-attr]

    token = _token(html)
    settled = world.proxy(
        "bob", "POST", "api/resolve",
        data={"csrf": token, "conflict": conflict.id, "take": "canonical"},
    )  # fmt: skip
    assert settled.status_code == 200, settled.text[:2000]
    with Store.open(world.store_path) as store:
        settled_to = store.conflict(conflict.id).resolution  # type: ignore[union-attr]
    assert settled_to == conflict.canonical

    synced = world.proxy("bob", "POST", "api/sync", data={"csrf": token})
    assert synced.status_code == 200, synced.text[:3000]
    assert "Abgleich erledigt: 1 Änderung(en)" in synced.text, synced.text[:2000]
    assert site.card(board, card)["stackId"] == site.stack_id(APPLICATIONS, "Abgelehnt")
    with Store.open(world.store_path) as store:
        assert store.get(uid).status == "declined"  # type: ignore[union-attr]
        assert store.conflict(conflict.id).applied_at is not None  # type: ignore[union-attr]
    assert "Keine offenen Konflikte" in synced.text


def test_admins_also_see_the_configuration_check(world: World) -> None:
    admin = world.proxy("admin", "GET", "api/page")
    assert admin.status_code == 200, admin.text[:1000]
    assert "Konfigurationsprüfung" in admin.text and "nextcloud" in admin.text
    bob = world.proxy("bob", "GET", "api/page")
    assert bob.status_code == 200 and "Konfigurationsprüfung" not in bob.text


def _app(world: World, port: int, log: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {
        **world.env, "APP_ID": APP_ID, "APP_VERSION": VERSION, "APP_SECRET": "unused-" + APP_ID,
        "APP_HOST": "127.0.0.1", "APP_PORT": str(port), "NEXTCLOUD_URL": world.nc.url,
    }  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "nextcloud_app", *args],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def test_the_app_as_the_one_daemon_holds_the_store_lock(world: World, tmp_path: Path) -> None:
    with Store.open(world.store_path) as store:
        before = max(p["finished_at"] for p in store.last_passes())
    port, log = free_port(), tmp_path / "daemon.log"
    daemon = _app(world, port, log, "--daemon")
    try:
        _wait_for(f"http://127.0.0.1:{port}/heartbeat", daemon, log)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with Store.open(world.store_path) as store:
                if max(p["finished_at"] for p in store.last_passes()) > before:
                    break
            time.sleep(0.5)
        else:
            raise AssertionError("the daemon made no pass: " + log.read_text(errors="replace"))
        # never two daemons: the CLI, a second app and the page's "sync now" are refused
        cli = subprocess.run(
            [str(ROOT / ".venv" / "bin" / "connector"), "sync"],
            env=world.env, capture_output=True, text=True, timeout=120, cwd=ROOT,
        )  # fmt: skip
        assert cli.returncode == 4, cli.stdout + cli.stderr
        second = _app(world, free_port(), tmp_path / "second.log", "--daemon")
        assert second.wait(timeout=60) == 4, (tmp_path / "second.log").read_text()
        page = world.proxy("bob", "GET", "api/page")
        busy = world.proxy("bob", "POST", "api/sync", data={"csrf": _token(page.text)})
        assert busy.status_code == 409 and "pid" in busy.text, busy.text[-1500:]
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        code = daemon.wait(timeout=60)
    assert code == 0, log.read_text(errors="replace")


def test_the_app_logs_nothing_personal(world: World) -> None:
    text = world.app_log.read_text(errors="replace")
    with Store.open(world.store_path) as store:
        emails = [p.email for p in store.entities("person")]  # type: ignore[attr-defined]
    assert emails and not [e for e in emails if e in text]
    assert "bob" not in text and "carol" not in text


def _chromium() -> str:
    """Debian's chromium; installed with apt-get when missing and we are root."""
    found = shutil.which("chromium")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True, check=False)
        found = shutil.which("chromium")
    assert found, "the screenshot needs Debian's chromium: apt-get install chromium"
    return found


class _Signed(BaseHTTPRequestHandler):
    """Forwards the browser's GETs to Nextcloud with bob's login (headless Chromium cannot
    send basic auth unasked, and Nextcloud's proxy answers 404 rather than asking)."""

    upstream = ""
    login: tuple[str, str] = ("", "")

    def do_GET(self) -> None:
        answer = requests.get(self.upstream + self.path, auth=self.login, timeout=60)
        self.send_response(answer.status_code)
        self.send_header("Content-Type", answer.headers.get("Content-Type", "text/html"))
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def render_in_chromium(world: World, shot: Path) -> str:
    """The page as headless Chromium gets it through Nextcloud's proxy: its DOM; the
    screenshot goes to ``shot`` (and to ``$CONNECTOR_SCREENSHOT`` when set)."""
    _Signed.upstream = world.nc.url
    _Signed.login = ("bob", world.nc.app_passwords["bob"])
    relay = ThreadingHTTPServer(("127.0.0.1", 0), _Signed)
    threading.Thread(target=relay.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{relay.server_port}/index.php/apps/app_api/proxy/{APP_ID}/api/page"
    flags = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-dev-shm-usage", "--no-first-run",
        "--hide-scrollbars", "--window-size=1100,1150",
    ]  # fmt: skip
    try:
        dom = subprocess.run(
            [*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=False
        )
        done = subprocess.run(
            [*flags, f"--screenshot={shot}", url],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    finally:
        relay.shutdown()
        relay.server_close()
    assert "Mentoring: der Connector für den Beirat" in dom.stdout, dom.stdout[:1000] + dom.stderr
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    keep = os.environ.get("CONNECTOR_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)
    return dom.stdout
