"""An opt-in record of every HTTP round-trip, for benchmarks: ``CONNECTOR_TIMINGS=FILE``.

When the variable names a file, each request :class:`connector.http.HttpClient` sends
appends one JSON line to it: method, path with query, status, the seconds spent inside
the HTTP client (the round-trip as the client sees it: the server's time plus loopback and the
client's own work) and when it started (``time.perf_counter``, seconds: comparable
within one process, so requests sent side by side can be told apart). Benchmarks use them as
the floor "what the requests cost" and replay the recorded requests. Off by default; the
file names the paths requested, which can hold list and member addresses, so point it at a
private file and delete it afterwards. No header, body or secret is written."""

from __future__ import annotations

import json
import os

VARIABLE = "CONNECTOR_TIMINGS"


def enabled() -> bool:
    """Whether round-trips are recorded in this process."""
    return bool(os.environ.get(VARIABLE))


def record(method: str, url: str, status: int, seconds: float, started: float = 0.0) -> None:
    """Append one round-trip to the file ``$CONNECTOR_TIMINGS`` names."""
    target = os.environ.get(VARIABLE)
    if not target:
        return
    line = {
        "method": method, "url": url, "status": status, "seconds": round(seconds, 6),
        "started": round(started, 6),
    }  # fmt: skip
    with open(target, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")
