"""Benchmark: what one sync pass costs against a real Mailman list of 1,000 members.

Starts the Mailman harness, subscribes the members through the adapter (untimed), then
measures a no-op ``changes()`` pass and a pass after 10 membership changes (5 subscribes and
5 unsubscribes through the adapter). Prints requests and wall time for each.

    .venv/bin/python bench/mailman_bench.py [--members 1000] [--page-size 500]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from typing import TypeVar

from connector.base import Changes, Collection
from connector.mailman import MailmanTarget
from connector.testing.mailman_server import mailman_server

T = TypeVar("T")
LIST = Collection("bench@mentoring.example.org", {"display_name": "Bench"})


def measure(target: MailmanTarget, label: str, action: Callable[[], T]) -> T:
    """Run ``action`` once and print its requests and wall time."""
    target.reset_stats()
    start = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - start
    print(f"{label:<44} {target.requests:>6} requests {elapsed * 1000:>9.1f} ms")
    return result


def subscribe(target: MailmanTarget, first: int, count: int) -> list[str]:
    """Subscribe members ``first`` .. ``first + count - 1``; return their ids."""
    return [
        target.create(
            LIST, f"m{i}", {"email": f"m{i}@example.org", "display_name": f"M {i}"}
        ).remote_id
        for i in range(first, first + count)
    ]


def ten_changes(target: MailmanTarget, members: int, leaving: list[str]) -> list[str]:
    """Five subscribes and five unsubscribes; return the new ids."""
    added = subscribe(target, members, 5)
    for remote_id in leaving:
        target.delete(LIST, remote_id, None)
    return added


def check(after: Changes, added: list[str], leaving: list[str], expected: int) -> None:
    """Fail loudly unless the pass saw exactly the 10 changes."""
    ids = {record.remote_id for record in after.records}
    assert set(added) <= ids and not ids & set(leaving), "changes() missed a change"
    assert after.deleted == set(leaving) and len(ids) == expected, "wrong membership"


def run(members: int, page_size: int) -> None:
    """Start Mailman, fill the list and print the figures."""
    with tempfile.TemporaryDirectory() as tmp, mailman_server(tmp) as instance:
        target = MailmanTarget(instance.url, instance.user, instance.password, page_size=page_size)
        target.open(LIST)
        start = time.perf_counter()
        ids = subscribe(target, 0, members)
        print(f"setup: {members} members subscribed in {time.perf_counter() - start:.1f} s")
        list_id = LIST.name.replace("@", ".")
        first = measure(
            target, "first full listing (no cursor)", lambda: target.changes(LIST, None)
        )
        quiet = measure(target, "no-op pass (cursor)", lambda: target.changes(LIST, first.cursor))
        assert not quiet.deleted and len(quiet.records) == members
        measure(target, "  of which roster pages", lambda: target.api.roster(list_id, page_size))
        measure(
            target, "  of which disabled-delivery queries",
            lambda: target.api.disabled(list_id, [r.remote_id for r in quiet.records]),
        )  # fmt: skip
        leaving = ids[:5]
        added = measure(
            target, "10 changes applied (5 in, 5 out)",
            lambda: ten_changes(target, members, leaving),
        )  # fmt: skip
        after = measure(target, "pass after 10 changes", lambda: target.changes(LIST, quiet.cursor))
        check(after, added, leaving, members)
        target.close()


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--page-size", type=int, default=500)
    args = parser.parse_args()
    run(args.members, args.page_size)


if __name__ == "__main__":
    main()
