"""The app's AppAPI signature check and CSRF token, without a server (the real-Nextcloud
path is in tests/test_nextcloud_app.py)."""

from __future__ import annotations

import base64

import pytest

from connector.errors import ConfigError
from nextcloud_app.appapi import AppSettings, Unsigned, signature, signed_user
from nextcloud_app.server import csrf_token

SETTINGS = AppSettings("cohort_connector", "0.1.0", "s3cret", "127.0.0.1", 23000, "http://nc")


def headers(user: str = "bob", secret: str = "s3cret", **changes: str) -> dict[str, str]:
    found = {k.lower(): v for k, v in signature(SETTINGS, user).items()}
    found["authorization-app-api"] = base64.b64encode(f"{user}:{secret}".encode()).decode()
    found.update({k.replace("_", "-"): v for k, v in changes.items()})
    return found


def test_a_signed_request_names_its_user() -> None:
    assert signed_user(SETTINGS, headers()) == "bob"
    assert signed_user(SETTINGS, headers(user="")) == ""


@pytest.mark.parametrize(
    "bad",
    [
        headers(secret="guess"),
        headers(ex_app_id="another_app"),
        headers(authorization_app_api="not base64!"),
        headers(authorization_app_api=base64.b64encode(b"no-colon").decode()),
        {k: v for k, v in headers().items() if k != "aa-version"},
        {},
    ],
)
def test_anything_else_is_unsigned(bad: dict[str, str]) -> None:
    with pytest.raises(Unsigned):
        signed_user(SETTINGS, bad)


def test_the_csrf_token_belongs_to_one_user_and_the_app_secret() -> None:
    token = csrf_token(SETTINGS, "bob")
    assert token == csrf_token(SETTINGS, "bob") != csrf_token(SETTINGS, "carol")
    other = AppSettings("cohort_connector", "0.1.0", "other", "127.0.0.1", 1, "http://nc")
    assert csrf_token(other, "bob") != token


def test_missing_environment_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        AppSettings.from_env({"APP_ID": "x", "APP_PORT": "1"})
    for name in ("APP_VERSION", "APP_SECRET", "APP_HOST", "NEXTCLOUD_URL"):
        assert name in str(caught.value)
    with pytest.raises(ConfigError, match="APP_PORT"):
        AppSettings.from_env(
            {"APP_ID": "x", "APP_VERSION": "1", "APP_SECRET": "s", "APP_HOST": "h",
             "APP_PORT": "eighty", "NEXTCLOUD_URL": "http://nc"}
        )  # fmt: skip
