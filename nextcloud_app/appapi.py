"""AppAPI's side of the conversation: who is asking (the signature) and calls back.

Nextcloud's AppAPI signs every request it sends to an external app with ``EX-APP-ID``,
``EX-APP-VERSION``, ``AA-VERSION`` and ``AUTHORIZATION-APP-API`` (base64 of
``user:secret``; the user is empty for system calls). The app calls Nextcloud back with the
same headers, as that user: no password is stored anywhere.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from connector.errors import ConfigError
from sync.i18n import _

#: The environment AppAPI's deploy daemon (or the admin, with manual install) sets.
ENVIRONMENT = ("APP_ID", "APP_VERSION", "APP_SECRET", "APP_HOST", "APP_PORT", "NEXTCLOUD_URL")
TIMEOUT = 30


class Unsigned(Exception):
    """The request does not carry this app's valid AppAPI signature."""


@dataclass(frozen=True)
class AppSettings:
    """The app's identity and where it and its Nextcloud listen."""

    app_id: str
    version: str
    secret: str
    host: str
    port: int
    nextcloud_url: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AppSettings:
        """Read :data:`ENVIRONMENT`; ConfigError naming every variable that is missing."""
        env = os.environ if env is None else env
        missing = [name for name in ENVIRONMENT if not env.get(name)]
        if missing:
            raise ConfigError(
                _("the app needs these environment variables: {names}").format(
                    names=", ".join(missing)
                )
            )
        try:
            port = int(env["APP_PORT"])
        except ValueError:
            raise ConfigError(
                _("APP_PORT: {value!r} is not a port number").format(value=env["APP_PORT"])
            ) from None
        return cls(
            env["APP_ID"],
            env["APP_VERSION"],
            env["APP_SECRET"],
            env["APP_HOST"],
            port,
            env["NEXTCLOUD_URL"].rstrip("/"),
        )


def signed_user(settings: AppSettings, headers: Mapping[str, str]) -> str:
    """The Nextcloud user a correctly signed request speaks for ('' for AppAPI itself).

    ``headers`` are looked up by their lower-case names. Raises :class:`Unsigned` when a
    header is missing or the app id or secret is not this app's.
    """
    if not headers.get("aa-version") or not headers.get("ex-app-version"):
        raise Unsigned(_("AppAPI headers missing"))
    if headers.get("ex-app-id") != settings.app_id:
        raise Unsigned(_("not this app's id"))
    try:
        decoded = base64.b64decode(headers.get("authorization-app-api", ""), validate=True)
        user, secret = decoded.decode("utf-8").split(":", 1)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Unsigned(_("no readable AUTHORIZATION-APP-API")) from None
    if not hmac.compare_digest(secret.encode(), settings.secret.encode()):
        raise Unsigned(_("wrong secret"))
    return user


def signature(settings: AppSettings, user: str) -> dict[str, str]:
    """The headers of a call to Nextcloud as ``user`` ('' for the app itself)."""
    token = base64.b64encode(f"{user}:{settings.secret}".encode()).decode()
    return {
        "EX-APP-ID": settings.app_id,
        "EX-APP-VERSION": settings.version,
        "AA-VERSION": "3.2.3",
        "AUTHORIZATION-APP-API": token,
        "OCS-APIRequest": "true",
        "Accept": "application/json",
    }


class Nextcloud:
    """Calls back into Nextcloud through AppAPI's authentication."""

    def __init__(self, settings: AppSettings) -> None:
        self.settings = settings
        self.session = requests.Session()

    def ocs(
        self, method: str, path: str, user: str = "", data: Mapping[str, Any] | None = None
    ) -> Any:
        """An OCS call as ``user``; the ``data`` of the answer (ConfigError on failure)."""
        answer = self.session.request(
            method,
            f"{self.settings.nextcloud_url}/ocs/v1.php{path}",
            headers=signature(self.settings, user),
            json=dict(data) if data is not None else None,
            timeout=TIMEOUT,
        )
        if answer.status_code >= 300:
            raise ConfigError(
                _("Nextcloud answered {status} to {method} {path}").format(
                    status=answer.status_code, method=method, path=path
                )
            )
        return answer.json()["ocs"]["data"]

    def groups_of(self, user: str) -> list[str]:
        """The groups ``user`` is in, asked as that user (provisioning API)."""
        found = self.ocs("GET", f"/cloud/users/{quote(user, safe='')}/groups", user)
        return [str(g) for g in found.get("groups", [])]

    def init_done(self) -> None:
        """Tell AppAPI that initialisation finished (progress 100)."""
        self.ocs("PUT", "/apps/app_api/ex-app/status", data={"progress": 100})

    def register_menu(self, name: str, label: str) -> None:
        """Add the app's entry to Nextcloud's top menu (for every user; the page decides)."""
        self.ocs(
            "POST",
            "/apps/app_api/api/v1/ui/top-menu",
            data={"name": name, "displayName": label, "icon": "", "adminRequired": 0},
        )

    def unregister_menu(self, name: str) -> None:
        """Remove the top-menu entry."""
        self.ocs("DELETE", "/apps/app_api/api/v1/ui/top-menu", data={"name": name})

    def menu_entry(self, name: str) -> dict[str, Any]:
        """The registered top-menu entry ``name``."""
        found: dict[str, Any] = self.ocs(
            "GET", "/apps/app_api/api/v1/ui/top-menu", data={"name": name}
        )
        return found
