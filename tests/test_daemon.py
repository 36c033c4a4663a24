"""`connector sync --watch`: back-off, the store lock, stopping on signals and between items."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import IO, Any

import pytest

from connector.errors import ConnectorError, RetryLater
from connector.memory import MemoryTarget
from mappings.schema import MappingFile
from sync.daemon import Stopper, next_wait, store_lock, watch
from sync.engine import Engine, Options, RuleResult
from sync.errors import LockHeld
from sync.factory import build_engine
from sync.model import Task
from sync.store import Store
from tests.factories import cohort_10

CONNECTOR = Path(sys.executable).parent / "connector"
TODAY = date(2026, 3, 10)

CONFIG = """\
store = "cohort.db"
mappings = ["mapping.toml"]

[sync]
interval = 1
"""

MAPPING = """\
name = "Daemon-Test"
programme = "mim"
cohort = "mim-10"

[targets.board]
kind = "memory"
url = "memory://board"
audience = "council"

[[rules]]
name = "aufgaben"
entity = "task"
target = "board"

[rules.deck]
board = "Aufgaben"
stacks = ["Offen", "Erledigt"]

[[rules.fields]]
remote = "title"
canonical = "title"
"""


@pytest.fixture(autouse=True)
def fresh_memory() -> Iterator[None]:
    MemoryTarget.reset()
    yield
    MemoryTarget.reset()


def put_tasks(store: Store, count: int) -> None:
    store.put(cohort_10())
    for i in range(count):
        store.put(Task(uid=f"task-{i}", cohort="mim-10", title=f"Aufgabe {i}"))


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """connector.toml + mapping.toml (one memory board) + a store with three tasks."""
    (tmp_path / "connector.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "mapping.toml").write_text(MAPPING, encoding="utf-8")
    with Store.open(tmp_path / "cohort.db") as store:
        put_tasks(store, 3)
    return tmp_path


def env_for(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CONNECTOR_STORE", None)
    env.pop("CONNECTOR_TODAY", None)
    env["CONNECTOR_CONFIG"] = str(work / "connector.toml")
    return env


# -- back-off ------------------------------------------------------------------------------


def test_next_wait_doubles_while_failing_is_capped_and_resets() -> None:
    assert next_wait(10, 0, 300) == 10
    assert [next_wait(10, n, 300) for n in range(1, 7)] == [20, 40, 80, 160, 300, 300]
    assert next_wait(10, 0, 300) == 10  # after a clean pass
    assert next_wait(0.5, 3, 300) == 4.0
    assert isinstance(next_wait(10, 2, 300), float)


def test_next_wait_stays_capped_after_a_very_long_outage() -> None:
    # Weeks of an unreachable target at the cap: the counter keeps growing, the wait must not.
    assert next_wait(300, 5000, 3600) == 3600
    assert next_wait(1.5, 5000, 3600) == 3600  # a float interval too


def _result(error: ConnectorError | None = None) -> RuleResult:
    return RuleResult("aufgaben", "board", "Aufgaben", error=error)


def test_watch_backs_off_while_a_target_is_down_and_drops_back() -> None:
    interval = 0.01
    outcomes = [
        [_result(RetryLater("down")), _result()],
        [_result(RetryLater("still down"))],
        [_result()],
        [_result()],
    ]
    calls: list[int] = []
    waits: list[float] = []
    stopper = Stopper()

    def run_pass(_resting: object) -> list[RuleResult]:
        calls.append(len(calls))
        return outcomes[len(calls) - 1]

    def report(results: list[RuleResult], wait: float) -> None:
        waits.append(wait)
        if len(waits) == 4:
            stopper.event.set()

    passes = watch(run_pass, interval, stopper, report=report, max_passes=10)
    assert passes == 4 and len(calls) == 4
    assert waits == [interval * 2, interval * 4, interval, interval]


def test_watch_counts_only_retry_later_as_down() -> None:
    stopper = Stopper()
    waits: list[float] = []
    other = _result(LockHeld("not a platform outage"))
    passes = watch(
        lambda _resting: [other],
        0.01,
        stopper,
        report=lambda _results, wait: waits.append(wait),
        max_passes=3,
    )
    assert passes == 3 and waits == [0.01, 0.01, 0.01]


def test_watch_stops_at_max_passes_and_not_at_all_when_stopped_before() -> None:
    stopper = Stopper()
    assert watch(lambda _resting: [_result()], 0.001, stopper, max_passes=3) == 3
    stopper.event.set()
    assert watch(lambda _resting: [_result()], 0.001, stopper, max_passes=3) == 0


def test_stopper_turns_sigterm_and_sigint_into_its_flag_and_restores_handlers() -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    for sig in (signal.SIGTERM, signal.SIGINT):
        with Stopper() as stopper:
            assert not stopper.stopped
            os.kill(os.getpid(), sig)
            assert stopper.event.wait(2) and stopper.stopped
        assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


# -- the store lock ------------------------------------------------------------------------


def test_store_lock_keeps_a_second_holder_out_in_process(tmp_path: Path) -> None:
    path = tmp_path / "cohort.db"
    Store.open(path).close()
    with (
        store_lock(path),
        pytest.raises(LockHeld, match=f"pid {os.getpid()}"),
        store_lock(path),
    ):
        pass
    with store_lock(path):
        pass


def test_a_second_sync_is_refused_while_the_lock_is_held(work: Path) -> None:
    env = env_for(work)
    with store_lock(work / "cohort.db"):
        refused = subprocess.run(
            [str(CONNECTOR), "sync"], env=env, capture_output=True, text=True, timeout=60
        )
    assert refused.returncode == 4, refused.stderr
    assert f"is being synced by pid {os.getpid()}" in refused.stderr
    assert "Another `connector sync` is running on this store" in refused.stderr
    assert "Traceback" not in refused.stderr
    with Store.open(work / "cohort.db", create=False) as store:
        assert store.last_passes() == [] and store.links("mim-10:aufgaben") == {}

    done = subprocess.run(
        [str(CONNECTOR), "sync"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "aufgaben → board / Aufgaben: 3 create" in done.stdout
    with Store.open(work / "cohort.db", create=False) as store:
        assert len(store.links("mim-10:aufgaben")) == 3


# -- stopping on a signal ------------------------------------------------------------------


def _lines(stream: IO[str], into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def _wait_for(lines: queue.Queue[str], text: str, timeout: float) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.1)
        except queue.Empty:
            continue
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"{text!r} not printed within {timeout} s; got {seen}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_watch_stops_cleanly_on_a_signal(work: Path, sig: signal.Signals) -> None:
    proc = subprocess.Popen(
        [str(CONNECTOR), "sync", "--watch", "--interval", "1"],
        env=env_for(work),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
        seen = _wait_for(lines, "next pass in", timeout=20)
        assert any("aufgaben → board / Aufgaben: 3 create" in line for line in seen), seen
        proc.send_signal(sig)
        code = proc.wait(timeout=5)
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 0, err
    assert "stopped after " in err and " pass" in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert any("stopped after 1 pass" in line for line in err.splitlines()), err
    with store_lock(work / "cohort.db"):  # the lock went with the process
        pass


# -- stopping between items ----------------------------------------------------------------


def two_rule_mapping() -> MappingFile:
    fields = [{"remote": "title", "canonical": "title", "policy": "ask"}]
    return MappingFile.model_validate(
        {
            "name": "t",
            "programme": "mim",
            "cohort": "mim-10",
            "targets": {
                "board": {"kind": "memory", "url": "memory://board", "audience": "council"},
                "archive": {"kind": "memory", "url": "memory://archive", "audience": "council"},
            },
            "rules": [
                {
                    "name": "aufgaben",
                    "entity": "task",
                    "target": "board",
                    "deck": {"board": "Aufgaben", "stacks": ["Offen"]},
                    "fields": fields,
                },
                {
                    "name": "archiv",
                    "entity": "task",
                    "target": "archive",
                    "deck": {"board": "Archiv", "stacks": ["Offen"]},
                    "fields": fields,
                },
            ],
        }
    )


def engine(store: Store, mapping: MappingFile) -> Engine:
    targets: dict[str, Any] = {n: MemoryTarget(s.url) for n, s in mapping.targets.items()}
    return build_engine(store, mapping, targets, Options(today=TODAY))


def test_a_stop_between_items_ends_the_pass_and_the_next_pass_finishes(tmp_path: Path) -> None:
    board = MemoryTarget("memory://board")
    mapping = two_rule_mapping()
    with Store.open(tmp_path / "store.db") as store:
        put_tasks(store, 4)
        first = engine(store, mapping)
        first.stop_requested = lambda: len(board.records("Aufgaben")) >= 1

        results = first.sync()
        assert [r.rule for r in results] == ["aufgaben"]  # the second rule never started
        assert results[0].error is None and results[0].counts == {"create": 1}
        assert len(board.records("Aufgaben")) == 1
        assert len(store.links("mim-10:aufgaben")) == 1
        assert store.cursor("mim-10:aufgaben") == (None, None)
        assert MemoryTarget("memory://archive").records("Archiv") == {}

        results = engine(store, mapping).sync()
        assert [(r.rule, r.counts, r.error) for r in results] == [
            ("aufgaben", {"create": 3}, None),
            ("archiv", {"create": 4}, None),
        ]
        markers = sorted(str(r.marker) for r in board.records("Aufgaben").values())
        assert markers == [f"task-{i}" for i in range(4)]
        assert sorted(r.fields["title"] for r in board.records("Aufgaben").values()) == [
            f"Aufgabe {i}" for i in range(4)
        ]
        assert len(store.links("mim-10:aufgaben")) == 4
        assert store.cursor("mim-10:aufgaben")[0] is not None
        assert [r.counts for r in engine(store, mapping).sync()] == [{}, {}]


class _RecordingEvent(threading.Event):
    """Records how long the loop would wait, without waiting."""

    def __init__(self) -> None:
        super().__init__()
        self.waited: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waited.append(timeout or 0.0)
        return False


def test_the_daemon_waits_at_least_as_long_as_a_server_asked() -> None:
    stopper = Stopper()
    stopper.event = _RecordingEvent()

    def run_pass(_resting: object) -> list[RuleResult]:
        return [RuleResult("listen", "mailman", "l@x", error=RetryLater("busy", 600.0))]

    watch(run_pass, 10, stopper, max_passes=3)
    assert stopper.event.waited == [600.0, 600.0]


# -- Retry-After: honoured, but never beyond the maximum back-off, per target ---------------


def test_a_huge_retry_after_is_capped_per_target_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from sync.daemon import backoff_after

    down = [
        RuleResult("karten", "nextcloud", "Aufgaben", error=RetryLater("busy", 99999999999999.0)),
        RuleResult("liste", "listen", "l@x"),
    ]
    with caplog.at_level("WARNING", logger="sync.daemon"):
        backoff = backoff_after(down, {}, now=100.0, interval=10, max_backoff=3600)
    assert list(backoff) == ["nextcloud"]  # the list is well: it goes on
    assert backoff["nextcloud"].resume_at == 100.0 + 3600
    assert "nextcloud asked to wait 99999999999999 s (Retry-After)" in caplog.text
    assert "maximum back-off of 3600 s" in caplog.text
    # A NaN or infinite wait is capped as well.
    for asked in (float("inf"), float("nan")):
        error = RetryLater("busy", asked)
        result = backoff_after([RuleResult("k", "n", "A", error=error)], {}, 0.0, 10, 60)
        assert 0 < result["n"].resume_at <= 60


def test_watch_rests_only_the_throttled_target_and_never_waits_beyond_the_cap() -> None:
    stopper = Stopper()
    stopper.event = _RecordingEvent()
    clock = [0.0]
    seen: list[list[str]] = []

    def run_pass(resting: Any) -> list[RuleResult]:
        seen.append(sorted(resting))
        clock[0] += 1.0
        throttled = RetryLater("come back in 2099", 2_300_142_980.0)
        deck = RuleResult("karten", "nextcloud", "A", error=resting.get("nextcloud", throttled))
        return [deck, RuleResult("liste", "listen", "l@x")]

    def now() -> float:
        return clock[0]

    watch(run_pass, 10, stopper, max_backoff=30, max_passes=3, clock=now)
    # The list goes on at the interval; the deck rests (its wait, 30 s, is not over).
    assert stopper.event.waited == [10.0, 10.0]
    assert seen == [[], ["nextcloud"], ["nextcloud"]]


DECK_AND_BOARD = """\
name = "Daemon-Deck"
programme = "mim"
cohort = "mim-10"

[targets.nextcloud]
kind = "deck"
url = "{url}"
user = "admin"
secret = {{ env = "DAEMON_TEST_DECK_PASSWORD" }}
audience = "council"

[targets.board]
kind = "memory"
url = "memory://board"
audience = "council"

[[rules]]
name = "karten"
entity = "task"
target = "nextcloud"

[rules.deck]
board = "Aufgaben"
stacks = ["Offen"]

[[rules.fields]]
remote = "title"
canonical = "title"

[[rules]]
name = "aufgaben"
entity = "task"
target = "board"

[rules.deck]
board = "Aufgaben"
stacks = ["Offen"]

[[rules.fields]]
remote = "title"
canonical = "title"
"""


@pytest.mark.parametrize(
    "retry_after", ["99999999999999", "Thu, 01 Jan 2099 00:00:00 GMT"], ids=["seconds", "date"]
)
def test_sync_watch_caps_a_servers_retry_after_and_the_other_platform_goes_on(
    work: Path, retry_after: str
) -> None:
    from connector.testing.deck_server import DeckServer

    (work / "connector.toml").write_text(CONFIG + "max_backoff = 3\n", encoding="utf-8")
    with DeckServer(users={"admin": "pw"}) as srv:
        (work / "mapping.toml").write_text(DECK_AND_BOARD.format(url=srv.url), encoding="utf-8")
        srv.fail_next("GET", r"/boards$", 429, headers={"Retry-After": retry_after})
        env = env_for(work) | {"DAEMON_TEST_DECK_PASSWORD": "pw"}
        proc = subprocess.Popen(
            [str(CONNECTOR), "sync", "--watch", "--interval", "1"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None and proc.stderr is not None
            lines: queue.Queue[str] = queue.Queue()
            threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
            first = _wait_for(lines, "next pass in", timeout=30)
            assert any("aufgaben → board / Aufgaben: 3 create" in line for line in first), first
            assert any("karten → nextcloud / Aufgaben: ERROR" in line for line in first), first
            # The deck is tried again after the capped 3 s, not in 2099.
            later = _wait_for(lines, "karten → nextcloud / Aufgaben: 3 create", timeout=30)
            assert any(
                "karten → nextcloud / Aufgaben: ERROR: nextcloud was unavailable" in line
                for line in later
            ), later
            proc.send_signal(signal.SIGTERM)
            # Generous: the pass in progress finishes first, and CI machines can be slow.
            code = proc.wait(timeout=60)
            err = proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert code == 0, err
    assert "nextcloud asked to wait" in err and "maximum back-off of 3 s" in err, err
    assert "Traceback" not in err and "OverflowError" not in err
