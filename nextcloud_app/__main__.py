"""``python -m nextcloud_app [--daemon]``: serve the app as AppAPI started it.

The environment names the app (``APP_ID``, ``APP_VERSION``, ``APP_SECRET``, ``APP_HOST``,
``APP_PORT``, ``NEXTCLOUD_URL``, set by AppAPI's deploy daemon or by the admin) and the
connector's configuration (``CONNECTOR_CONFIG``, as for the CLI). With ``--daemon`` (or
``CONNECTOR_APP_DAEMON=1``) the app is also the connector's daemon: it takes the store's lock
at start (exit 4 if the systemd unit or another sync holds it) and runs passes every
``sync.interval`` seconds until SIGTERM. Without it, run ``connector sync --watch`` beside it.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

from connector import logsafe
from connector.errors import ConnectorError
from nextcloud_app.appapi import AppSettings
from nextcloud_app.council import Passes
from nextcloud_app.server import CouncilApp, serve
from sync.config import resolve_config
from sync.daemon import Stopper
from sync.daemon import watch as watch_loop
from sync.display import set_zone
from sync.i18n import install as install_language
from sync.logs import configure as configure_logs
from sync.outcome import Outcome, log_pass
from sync.runner import open_run

log = logging.getLogger("nextcloud_app")


def _daemon(passes: Passes, stopper: Stopper) -> None:
    config = passes.config
    with open_run(config) as run:

        def report(results: list, wait: float) -> None:  # type: ignore[type-arg]
            waiting = sum(1 for c in run.store.conflicts() if c.resolved_at is None)
            log_pass(Outcome.of(results, waiting), next_pass=wait)

        watch_loop(
            lambda resting: passes.run_pass(run, resting),
            config.sync.interval,
            stopper,
            max_backoff=config.sync.max_backoff,
            report=report,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nextcloud_app")
    parser.add_argument("--daemon", action="store_true", help="also run the sync daemon")
    parser.add_argument("--config", type=Path, default=None, help="connector.toml")
    args = parser.parse_args(argv)
    install_language()
    logsafe.install()
    configure_logs(os.environ.get("CONNECTOR_LOG_FORMAT", "text"), verbose=False)
    daemon = args.daemon or os.environ.get("CONNECTOR_APP_DAEMON") == "1"
    try:
        settings = AppSettings.from_env()
        config = resolve_config(args.config or _env_path("CONNECTOR_CONFIG"), None)
        set_zone(config.timezone)
        passes = Passes(config)
        with ExitStack() as stack:
            stopper = Stopper()
            if daemon:
                stack.enter_context(passes.hold())
            server = serve(CouncilApp(settings, config, passes), settings.host, settings.port)
            stack.callback(server.server_close)

            def stop(signum: int, frame: FrameType | None) -> None:
                stopper.event.set()
                threading.Thread(target=server.shutdown, daemon=True).start()

            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
            worker = None
            if daemon:
                worker = threading.Thread(target=_daemon, args=(passes, stopper), daemon=True)
                worker.start()
            log.info("serving on %s:%s (daemon: %s)", settings.host, settings.port, daemon)
            server.serve_forever()
            if worker is not None:
                worker.join(timeout=120)
    except ConnectorError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    return 0


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


if __name__ == "__main__":
    sys.exit(main())
