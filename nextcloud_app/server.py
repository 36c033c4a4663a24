"""The app's HTTP service (WSGI, threaded): AppAPI's lifecycle routes and the council's page.

Routes, as Nextcloud's AppAPI calls them (all but the heartbeat signed, else 401):

``GET /heartbeat``           no authentication: AppAPI's liveness check
``POST /init``               AppAPI after registration; the app reports progress 100
``PUT /enabled?enabled=1|0`` registers (removes) the top-menu entry "Mentoring"
``GET /api/page``            the council's page (the council group and Nextcloud's admins,
                             who also see ``connector doctor``'s findings; others 403)
``POST /api/resolve``        settle a conflict (council, CSRF token)
``POST /api/sync``           one pass now (council, CSRF token)
``GET /js/mentoring.js``     the script of the top-menu page: it frames ``api/page``

Logs name routes and status codes only, never users, records or values.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from connector.errors import ConnectorError
from nextcloud_app import council
from nextcloud_app.appapi import AppSettings, Nextcloud, Unsigned, signed_user
from nextcloud_app.page import refusal, render
from sync.config import Config
from sync.doctor import doctor as run_doctor
from sync.i18n import _
from sync.store import Store

log = logging.getLogger(__name__)
MENU = "mentoring"
StartResponse = Callable[[str, list[tuple[str, str]]], Any]
STATUS = {200: "200 OK", 400: "400 Bad Request", 401: "401 Unauthorized", 403: "403 Forbidden",
          404: "404 Not Found", 405: "405 Method Not Allowed", 409: "409 Conflict",
          500: "500 Internal Server Error"}  # fmt: skip
MAX_BODY = 64 * 1024

SCRIPT = """(function () {
  var page = location.pathname.replace(/\\/embedded\\/.*$/, '/proxy/APP_ID/api/page');
  var frame = document.createElement('iframe');
  frame.src = page;
  frame.style.cssText = 'border:0;width:100%;height:calc(100vh - 50px)';
  (document.getElementById('content') || document.body).appendChild(frame);
})();
"""


@dataclass
class Answer:
    """A response: status, body, content type."""

    status: int
    body: str
    kind: str = "text/html; charset=utf-8"

    @classmethod
    def json(cls, status: int, data: Any) -> Answer:
        return cls(status, json.dumps(data), "application/json")


def csrf_token(settings: AppSettings, user: str) -> str:
    """The user's token for the page's forms: only a page this app served can know it."""
    return hmac.new(settings.secret.encode(), f"csrf:{user}".encode(), hashlib.sha256).hexdigest()


class CouncilApp:
    """The WSGI application."""

    def __init__(
        self, settings: AppSettings, config: Config, passes: council.Passes | None = None
    ) -> None:
        self.settings = settings
        self.config = config
        self.nextcloud = Nextcloud(settings)
        self.passes = passes or council.Passes(config)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        try:
            answer = self.route(method, path, environ)
        except Exception:
            log.exception("%s %s failed", method, path)
            answer = Answer(500, refusal(_("Error"), _("The app failed; see its log.")))
        log.info("%s %s %s", method, path, answer.status)
        body = answer.body.encode("utf-8")
        headers = [
            ("Content-Type", answer.kind),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "same-origin"),
        ]
        start_response(STATUS.get(answer.status, f"{answer.status} Error"), headers)
        return [body]

    # -- routing --

    def route(self, method: str, path: str, environ: dict[str, Any]) -> Answer:
        if path == "/heartbeat":
            return Answer.json(200, {"status": "ok"})
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        try:
            user = signed_user(self.settings, headers)
        except Unsigned:
            return Answer(401, refusal(_("Not signed"), _("This app answers Nextcloud only.")))
        lifecycle = {("POST", "/init"): self.init, ("PUT", "/enabled"): self.enabled}
        if (method, path) in lifecycle:
            return lifecycle[method, path](environ)
        if path == "/js/mentoring.js" and method == "GET":
            return Answer(200, SCRIPT.replace("APP_ID", self.settings.app_id), "text/javascript")
        pages = {"/api/page": ("GET", self.page), "/api/resolve": ("POST", self.resolve),
                 "/api/sync": ("POST", self.sync)}  # fmt: skip
        if path not in pages:
            return Answer(404, refusal(_("Not found"), path))
        wanted, handler = pages[path]
        if method != wanted:
            return Answer(405, refusal(_("Not allowed"), method))
        if not user:
            return Answer(403, refusal(_("Forbidden"), _("Log in to Nextcloud first.")))
        groups = set(self.nextcloud.groups_of(user))
        admin = "admin" in groups
        if not admin and not groups & council.council_groups(self.config):
            return Answer(
                403,
                refusal(_("Forbidden"), _("This page is for the council's group only.")),
            )
        if method == "POST":
            form = _form(environ)
            sent = form.get("csrf", "")
            if not hmac.compare_digest(sent.encode(), csrf_token(self.settings, user).encode()):
                return Answer(
                    403, refusal(_("Forbidden"), _("The form is stale: reload the page."))
                )
            return handler(user, admin, form)
        return handler(user, admin, {})

    # -- AppAPI's lifecycle --

    def init(self, environ: dict[str, Any]) -> Answer:
        # AppAPI waits for the progress report: send it once this answer is out.
        threading.Thread(target=self._report_init, daemon=True).start()
        return Answer.json(200, {})

    def _report_init(self) -> None:
        try:
            self.nextcloud.init_done()
        except ConnectorError as error:
            log.error("init: %s", error)

    def enabled(self, environ: dict[str, Any]) -> Answer:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        on = query.get("enabled", ["0"])[0] == "1"
        try:
            if on:
                self.nextcloud.register_menu(MENU, _("Mentoring"))
                self.nextcloud.ocs(
                    "POST",
                    "/apps/app_api/api/v1/ui/script",
                    data={"type": "top_menu", "name": MENU, "path": "js/mentoring"},
                )
            else:
                self.nextcloud.unregister_menu(MENU)
        except ConnectorError as error:
            return Answer.json(200, {"error": str(error)})
        return Answer.json(200, {"error": ""})

    # -- the council's page --

    def page(
        self,
        user: str,
        admin: bool,
        form: dict[str, str],
        message: str | None = None,
        error: str | None = None,
        status: int = 200,
    ) -> Answer:
        with Store.open(self.config.store) as store:
            view = council.gather(self.config, store, daemon=self.passes.held)
        if admin:
            view.doctor = [str(line) for line in run_doctor(self.config)]
        return Answer(status, render(view, csrf_token(self.settings, user), message, error))

    def resolve(self, user: str, admin: bool, form: dict[str, str]) -> Answer:
        take = form.get("take", "")
        if take == "value":
            take = form.get("value", "").strip()
        try:
            conflict_id = int(form.get("conflict", ""))
            if not take:
                raise ValueError
        except ValueError:
            return self.page(user, admin, {}, error=_("Choose a conflict and a value."), status=400)
        try:
            conflict, value = council.resolve(self.config, conflict_id, take)
        except ConnectorError as problem:
            return self.page(user, admin, {}, error=str(problem), status=400)
        log.info("conflict %s settled from the page", conflict_id)
        done = _(
            "Conflict {id}: {field} will be {value} on both sides after the next pass."
        ).format(id=conflict_id, field=conflict.field, value=repr(value))
        return self.page(user, admin, {}, message=done)

    def sync(self, user: str, admin: bool, form: dict[str, str]) -> Answer:
        try:
            outcome = self.passes.one()
        except ConnectorError as problem:
            return self.page(user, admin, {}, error=str(problem), status=409)
        return self.page(
            user, admin, {}, message=_("Pass done: {line}").format(line=outcome.line())
        )


def _form(environ: dict[str, Any]) -> dict[str, str]:
    try:
        length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY)
    except ValueError:
        length = 0
    raw = environ["wsgi.input"].read(length).decode("utf-8", "replace") if length else ""
    return {key: values[0] for key, values in parse_qs(raw).items()}


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """The app logs each request itself (route and status only, no query or user)."""


def serve(app: CouncilApp, host: str, port: int) -> WSGIServer:
    """A threaded server for ``app`` on ``host:port`` (call ``serve_forever``)."""
    return make_server(host, port, app, server_class=_Server, handler_class=_QuietHandler)
