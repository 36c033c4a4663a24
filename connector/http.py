"""The one way adapters speak HTTP: a client with timeouts, TLS verification and retries.

Retries happen only for idempotent methods and only on 429 and 5xx answers or
connection failures, honouring ``Retry-After``. Secrets never reach a log line: only method,
path and status are logged.
"""

from __future__ import annotations

import logging
import re
import ssl
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from connector import ahead, timings
from connector.errors import CredentialsError, Fatal, RetryLater
from connector.http_wire import ACCEPT_ENCODING, Response, Wire, WireError, basic_auth, encode
from connector.i18n import _

log = logging.getLogger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "PROPFIND", "REPORT"})
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
#: Methods that carry a body: without one they say so (``Content-Length: 0``).
_BODIED = frozenset({"POST", "PUT", "PATCH"})


_PERSONAL = re.compile(r"[^/?&=]+(@|%40)[^/?&=]+")


def _redact(path: str) -> str:
    """The path without query string or e-mail addresses: logs carry no personal data."""
    return _PERSONAL.sub("<address>", path.split("?", 1)[0])


_UNVERIFIED: set[str] = set()


def _say_unverified(base_url: str) -> None:
    if base_url not in _UNVERIFIED:
        _UNVERIFIED.add(base_url)
        log.warning(
            _(
                "TLS certificates of %s are not verified (verify_tls = false): anyone on the "
                "network path can read and change what is sent, the password included"
            ),
            base_url,
        )


def tls_problem(base_url: str, exc: Exception) -> str:
    """What went wrong with TLS towards ``base_url``, in words, with what to do."""
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        why = _("it is self-signed or issued by an authority this machine does not trust")
        if "hostname mismatch" in text.lower() or "address mismatch" in text.lower():
            why = _("it was issued for another host name")
        elif "expired" in text:
            why = _("it has expired")
        return _(
            "TLS: the certificate of {url} cannot be verified: {why}; install the "
            "issuing authority (or point REQUESTS_CA_BUNDLE at it), or, for a test server "
            "only, set verify_tls = false on the target"
        ).format(url=base_url, why=why)
    if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
        return _(
            "TLS: {url} does not speak HTTPS on this port; check the URL (http:// or another port?)"
        ).format(url=base_url)
    return _("TLS: no secure connection to {url} could be set up; check the URL and port").format(
        url=base_url
    )


class _Retryable(Exception):
    def __init__(self, response: Response | None, reason: str) -> None:
        super().__init__(reason)
        self.response = response


def retry_after_seconds(response: Response | None) -> float | None:
    """Seconds the server asked us to wait, from ``Retry-After`` (delta or HTTP date)."""
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from datetime import UTC, datetime

        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


class HttpClient:
    """A connection to one server's base URL, with auth, timeouts, retries and a counter."""

    def __init__(
        self,
        base_url: str,
        auth: tuple[str, str] | None = None,
        *,
        verify: bool = True,
        timeout: float = 30.0,
        attempts: int = 4,
        max_wait: float = 30.0,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.user = auth[0] if auth else "(none)"
        self.verify = verify
        self.headers = {
            "User-Agent": "cohort-connector",
            "Accept": "*/*",
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        if auth is not None:
            self.headers["Authorization"] = basic_auth(*auth)
        self.headers.update(headers or {})
        self.wire = Wire(verify=verify, timeout=timeout)
        if not verify:
            _say_unverified(self.base_url)
        self.timeout = timeout
        self.attempts = attempts
        self.max_wait = max_wait
        self.requests = 0
        self._sleep = sleep
        self._settings: dict[str, Any] = {
            "auth": auth, "verify": verify, "timeout": timeout, "attempts": attempts,
            "max_wait": max_wait, "headers": dict(headers or {}), "sleep": sleep,
        }  # fmt: skip

    def sibling(self) -> HttpClient:
        """A client with the same base URL and settings on its own connections (a connection
        carries one request at a time): for one request sent alongside this client's. Add its
        ``requests`` back to this one's when it is done."""
        return HttpClient(self.base_url, **self._settings)

    def _wait(self, failure: _Retryable, attempt: int) -> float:
        """Seconds before the next attempt after ``attempt`` (1-based) failed: what the server
        asked for, else 0.5 s doubling; never more than ``max_wait``."""
        asked = retry_after_seconds(failure.response)
        backoff = min(self.max_wait, 0.5 * 2 ** (attempt - 1))
        return min(self.max_wait, asked if asked is not None else backoff)

    def _attempts(self, once: Callable[[], Response], attempts: int) -> Response:
        """``once()`` until it does not raise :class:`_Retryable`, at most ``attempts`` times
        (the last failure is raised)."""
        sleep = self._sleep or time.sleep
        for attempt in range(1, attempts + 1):
            try:
                return once()
            except _Retryable as failure:
                if attempt == attempts:
                    raise
                sleep(self._wait(failure, attempt))
        raise AssertionError("unreachable: attempts >= 1")

    def request(
        self,
        method: str,
        path: str,
        *,
        data: Any = None,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Send a request; retry idempotent ones on 429/5xx/connection errors.

        ``data`` (bytes, text, or a mapping sent form-encoded), ``json`` and ``params`` are
        encoded as ``requests`` encodes them. Raises ``CredentialsError`` on 401 and
        ``RetryLater`` when 429/502/503/504 or connection failures outlast the retries. Other
        statuses (a 500 included) are returned for the adapter to interpret.
        """
        method = method.upper()
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        query, body, content_type = encode(data=data, json=json, params=params)
        if query:
            url += ("&" if "?" in url else "?") + query
        sent_headers = dict(self.headers)
        if content_type is not None:
            sent_headers["Content-Type"] = content_type
        sent_headers.update(headers or {})
        if body is None and method in _BODIED:
            sent_headers.setdefault("Content-Length", "0")
        attempts = self.attempts if method in IDEMPOTENT else 1
        ahead.note(self, self.auth, self.verify, self.timeout, method, url, sent_headers, body)

        def once() -> Response:
            self.requests += 1
            started = time.perf_counter()
            try:
                early = ahead.take(method, url, sent_headers, body, self.wire)
                response = early or self.wire.send(method, url, sent_headers, body)
            except ssl.SSLError as exc:
                raise Fatal(tls_problem(self.base_url, exc)) from None
            except WireError as exc:
                timeout = isinstance(exc, TimeoutError)
                why = _("no answer in time") if timeout else _("no connection")
                message = _("cannot reach {url} ({why})").format(url=self.base_url, why=why)
                raise _Retryable(None, message) from exc
            if timings.enabled():
                timings.record(
                    method, url, response.status_code, time.perf_counter() - started, started
                )
            log.debug(
                "%s %s -> %s%s",
                method,
                _redact(path),
                response.status_code,
                " (sent ahead)" if early else "",
            )
            asked = retry_after_seconds(response)
            if response.status_code in RETRY_STATUS and asked is not None and asked > self.max_wait:
                # Waiting that long inside one request would stall the whole pass: give up now
                # and let the daemon come back when the server asked.
                raise RetryLater(
                    _("{request}: come back in {seconds} s").format(
                        request=f"{method} {_redact(path)}", seconds=f"{asked:.0f}"
                    ),
                    asked,
                )
            if response.status_code in RETRY_STATUS:
                raise _Retryable(
                    response,
                    _("{request} answered {status}").format(
                        request=f"{method} {_redact(path)}", status=response.status_code
                    ),
                )
            return response

        try:
            response = self._attempts(once, max(1, attempts))
        except _Retryable as exc:
            if exc.response is not None and exc.response.status_code == 500:
                # A plain 500 is usually this request's data (Deck: a malformed date): the
                # adapter reports it for this record instead of stopping the whole pass.
                return exc.response
            raise RetryLater(str(exc), retry_after_seconds(exc.response)) from None
        if response.status_code == 401:
            raise CredentialsError(
                _("{url} refused the credentials for user {user} (401)").format(
                    url=self.base_url, user=self.user
                )
            )
        return response

    def close(self) -> None:
        """Close the kept-alive connections."""
        self.wire.close()
