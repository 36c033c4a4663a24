"""Finding secrets written into a mapping file (a password, a token in a URL), so that the
loader can refuse them: secrets come from the environment or a command, never the file."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from mappings.lines import Loc

_SECRET_KEYS = {
    "password",
    "passwd",
    "pass",
    "token",
    "app_password",
    "apppassword",
    "api_key",
    "apikey",
    "api_token",
    "access_token",
    "client_secret",
    "secret_key",
    "secret",
}
_URL_PASSWORD = re.compile(r"^[a-z]+://[^/@\s]*:[^/@\s]*@")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
#: Query parameters that carry a credential (``?token=``, ``&api_key=``, ``?sig=``).
_QUERY_SECRETS = _SECRET_KEYS | {
    "key", "auth", "authorization", "pwd", "sig", "signature", "session", "sessionid", "sid",
    "jwt", "bearer", "code", "private_token", "x-api-key", "credential", "credentials",
}  # fmt: skip
_USER_KEYS = {"user", "username", "login", "user_name"}


def inline_secrets(node: Any, loc: Loc = ()) -> list[Loc]:
    """Locations of values that look like a password written into the file."""
    found: list[Loc] = []
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        here = (*loc, key)
        if isinstance(value, dict | list):
            found += inline_secrets(value, here)
            if key == "secret" and isinstance(value, dict):
                extra = (k for k, v in value.items() if k not in ("env", "command"))
                found += [(*here, k) for k in extra if isinstance(value[k], str)]
        elif _looks_secret(key, value):
            found.append(here)
    return sorted(set(found), key=str)


def _looks_secret(key: str | int, value: Any) -> bool:
    name = str(key).lower()
    if (
        isinstance(value, str)
        and _URL.match(value)
        and (_URL_PASSWORD.match(value) is not None or _query_secret(value))
    ):
        return True
    if name in _USER_KEYS:
        return isinstance(value, str) and ":" in value  # "admin:password"
    return name in _SECRET_KEYS or name.endswith(("password", "_token", "_secret"))


def _query_secret(url: str) -> bool:
    """Whether the query string of ``url`` carries a credential-like parameter."""
    query = urlsplit(url).query
    for name, _value in parse_qsl(query, keep_blank_values=True):
        lowered = name.lower()
        if lowered in _QUERY_SECRETS or lowered.endswith(("token", "password", "secret", "_key")):
            return True
    return False
