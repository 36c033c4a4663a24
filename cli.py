"""The ``connector`` command. Thin: parse options, call ``sync/``, print.

Each command group has its own section below; a new group adds a section (or a sub-app with
``app.add_typer``). Commands raise :class:`connector.errors.ConnectorError` subclasses and never
print errors themselves: :func:`main` is the one place that turns an error into a message on
stderr and an exit code. Every read command has ``--json``.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer.exceptions import Abort

from connector.errors import ConfigError, ConnectorError, InputError
from mappings.load import load_mapping
from mappings.report import check_files, print_show, show_json, target_warnings
from sync.cells import parse_date
from sync.config import CONFIG_NAME, Config, render_config, resolve_config
from sync.daemon import Stopper, store_lock
from sync.daemon import watch as watch_loop
from sync.display import local_time, set_zone
from sync.engine import RuleResult
from sync.helptext import install as install_readable_help
from sync.helptext import usage_message
from sync.i18n import _, kind_label, ngettext
from sync.i18n import install as install_language
from sync.importer import ImportReport, import_file
from sync.model import ENTITY_TYPES
from sync.records import find as find_record
from sync.records import labels as record_labels
from sync.records import record_data, record_lines
from sync.report import (
    announcement_text,
    collection_lines,
    conflict_details,
    conflict_line,
    pass_line,
    plan_data,
    plan_lines,
    resolution_value,
    summary_lines,
)
from sync.runner import Run, check_resolution, find_list, prepare, remote_records
from sync.store import Conflict, Store

app = typer.Typer(
    name="connector",
    help="Keep intermunicipal mentoring cohorts in sync with Deck boards, calendars and lists.",
    no_args_is_help=True,
    add_completion=False,
    # A rich traceback would print local variables: personal data of applicants.
    pretty_exceptions_enable=False,
)


install_language()
install_readable_help()


@dataclass
class Options:
    """The global options, as given (resolved into a :class:`Config` on demand)."""

    config: Path | None = None
    store: Path | None = None
    verbose: bool = False

    def resolve(self) -> Config:
        """The configuration these options select (it also sets the zone times are shown in)."""
        config = resolve_config(self.config, self.store)
        set_zone(config.timezone)
        return config

    def open_store(self, *, create: bool = False) -> Store:
        """Open the configured store (it must exist unless ``create``)."""
        return Store.open(self.resolve().store, create=create)


#: Set by the callback so that :func:`main` knows about --verbose when an error arrives.
OPTIONS = Options()


def options(ctx: typer.Context) -> Options:
    """The global options of this invocation."""
    found = ctx.find_object(Options)
    return found if found is not None else OPTIONS


def echo_json(data: Any) -> None:
    """Print ``data`` as the stable JSON output of a read command."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@app.callback()
def _global(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            envvar="CONNECTOR_CONFIG",
            help=f"Config file (default: ./{CONFIG_NAME} if present).",
            show_default=False,
        ),
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option(
            envvar="CONNECTOR_STORE",
            help="Store file; overrides the config (default: ./cohort.db).",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log details; show tracebacks of bugs.")
    ] = False,
) -> None:
    """Keep intermunicipal mentoring cohorts in sync with Deck boards, calendars and lists."""
    OPTIONS.config, OPTIONS.store, OPTIONS.verbose = config, store, verbose
    ctx.obj = OPTIONS
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


# -- init ---------------------------------------------------------------------------------

SHIPPED_MAPPING = "muensterland-mentoring.toml"


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the config, mapping and store.")],
) -> None:
    """Create a working folder: connector.toml, mapping.toml and an empty store.

    The mapping is a copy of the shipped one, if this installation has it. Existing files are
    never overwritten.
    """
    shipped = resources.files("mappings") / SHIPPED_MAPPING
    has_mapping = shipped.is_file()
    config, mapping = directory / CONFIG_NAME, directory / "mapping.toml"
    for path in (config, mapping) if has_mapping else (config,):
        if path.exists():
            error = InputError(_("{path} already exists; not overwriting it").format(path=path))
            error.hint = _("Choose a new folder, or edit the existing files.")
            raise error
    directory.mkdir(parents=True, exist_ok=True)
    if has_mapping:
        mapping.write_text(shipped.read_text(encoding="utf-8"), encoding="utf-8")
        typer.echo(
            _("Created {path} (a copy of the shipped {name})").format(
                path=mapping, name=SHIPPED_MAPPING
            )
        )
    config.write_text(render_config(["mapping.toml"] if has_mapping else []), encoding="utf-8")
    typer.echo(_("Created {path}").format(path=config))
    if not has_mapping:
        typer.echo(
            f"No mapping ships with this installation yet ({SHIPPED_MAPPING}); "
            f"add one to `mappings` in {config} before syncing."
        )
    store_path = resolve_config(config).store
    Store.open(store_path).close()
    typer.echo(_("Created {path} (empty store)").format(path=store_path))
    typer.echo(_("Next: connector --config {path} import organisations FILE").format(path=config))


# -- import -------------------------------------------------------------------------------


class ImportKind(StrEnum):
    """The KIND argument of `connector import` (keys of ``sync.importer.KINDS``)."""

    organisations = "organisations"
    programmes = "programmes"
    people = "people"
    cohorts = "cohorts"
    applications = "applications"
    tandems = "tandems"
    events = "events"
    tasks = "tasks"


def _print_report(report: ImportReport) -> None:
    separator = {";": "';'", ",": "','", "\t": "tab"}[report.delimiter]
    separator = _("tab") if separator == "tab" else separator
    line = (
        _("Imported {file}: {rows} ({encoding}, separator {separator})")
        if report.written
        else _(
            "Checked (dry run, nothing written) {file}: {rows} ({encoding}, separator {separator})"
        )
    )
    rows = ngettext("{n} row", "{n} rows", report.rows).format(n=report.rows)
    typer.echo(
        line.format(file=report.file, rows=rows, encoding=report.encoding, separator=separator)
    )
    if report.ignored:
        typer.echo(_("  left out: column {names}").format(names=", ".join(report.ignored)))
    for kind, outcome in report.outcomes.items():
        why = "" if kind == report.kind else " " + _("(follows from these rows)")
        counts = _("{created} created, {updated} updated, {unchanged} unchanged").format(
            created=outcome.created, updated=outcome.updated, unchanged=outcome.unchanged
        )
        typer.echo(f"  {kind_label(kind)}: {counts}{why}")


@app.command("import")
def import_(
    ctx: typer.Context,
    kind: Annotated[ImportKind, typer.Argument(help="What the file holds.", case_sensitive=False)],
    file: Annotated[Path, typer.Argument(help="CSV file (UTF-8 or Excel's ';' Windows-1252).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check only; write nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    ignore_column: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore-column",
            metavar="NAME",
            help="Leave this column of the file out (repeatable); only the columns named.",
        ),
    ] = None,
) -> None:
    """Import a CSV file of organisations, people, applications, events and so on.

    Every row is checked first; if any is wrong, nothing is written and each problem is
    printed as file:line: column: message. Importing the same file again changes nothing.
    """
    with options(ctx).open_store(create=True) as store:
        report = import_file(
            store, kind.value, file, dry_run=dry_run, ignore_columns=ignore_column or []
        )
    if as_json:
        echo_json(asdict(report))
    else:
        _print_report(report)


# -- status -------------------------------------------------------------------------------

_KIND_ORDER = tuple(ENTITY_TYPES)


def status_data(store: Store) -> dict[str, Any]:
    """What ``connector status`` reports, as JSON-able data."""
    per_cohort: dict[str, dict[str, int]] = {}
    for cohort, kind, count in store.counts():
        per_cohort.setdefault(cohort, {})[kind] = count
    cohorts = []
    for uid, counts in sorted(per_cohort.items()):
        entity = store.get(uid) if uid else None
        title = getattr(entity, "title", None)
        cohorts.append({"cohort": uid or None, "title": title, "counts": counts})
    return {
        "store": str(store.path),
        "cohorts": cohorts,
        "last_passes": store.last_passes(),
        "open_conflicts": len(store.conflicts()),
    }


def _print_status(data: dict[str, Any]) -> None:
    typer.echo(_("Store: {path}").format(path=data["store"]))
    present = {k for c in data["cohorts"] for k in c["counts"]}
    kinds = [k for k in _KIND_ORDER if k in present]
    if not kinds:
        typer.echo(_("The store is empty: start with `connector import organisations FILE`."))
    else:
        labels = [c["cohort"] or _("(no cohort)") for c in data["cohorts"]]
        heading = _("cohort")
        width = max(len(label) for label in [*labels, heading]) + 2
        typer.echo("")
        names = {k: kind_label(k) for k in kinds}
        typer.echo(
            f"{heading:<{width}}" + "".join(f"{names[k]:>{len(names[k]) + 2}}" for k in kinds)
        )
        for label, cohort in zip(labels, data["cohorts"], strict=True):
            row = "".join(f"{cohort['counts'].get(k, 0):>{len(names[k]) + 2}}" for k in kinds)
            typer.echo(f"{label:<{width}}{row}")
    typer.echo("")
    passes = data["last_passes"]
    typer.echo(_("Last sync pass per target:") + (" " + _("none yet") if not passes else ""))
    for done in passes:
        when = local_time(done["finished_at"])
        typer.echo(
            f"  {done['target']}: "
            + _("{outcome} at {when}").format(outcome=done["outcome"], when=when)
        )
    typer.echo(_("Open conflicts: {count}").format(count=data["open_conflicts"]))


@app.command()
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show entity counts per cohort, the last sync pass per target and open conflicts."""
    with options(ctx).open_store() as store:
        data = status_data(store)
    if as_json:
        echo_json(data)
    else:
        _print_status(data)


# -- mappings -----------------------------------------------------------------------------

mappings_app = typer.Typer(help="Check and show mapping files.", no_args_is_help=True)
app.add_typer(mappings_app, name="mappings")


@mappings_app.command("check")
def mappings_check(
    files: Annotated[list[Path], typer.Argument(help="Mapping files (TOML) to check.")],
) -> None:
    """Check mapping files completely; print every problem as FILE:LINE: field: message."""
    ok, problems = check_files(files)
    for line in ok:
        typer.echo(line)
    if problems:
        failed = len(files) - sum(line.startswith("ok: ") for line in ok)
        count = ngettext("{n} problem", "{n} problems", len(problems)).format(n=len(problems))
        raise ConfigError(
            ngettext("{count} in {n} mapping file", "{count} in {n} mapping files", failed).format(
                count=count, n=failed
            ),
            problems=problems,
        )


@mappings_app.command("show")
def mappings_show(
    file: Annotated[Path, typer.Argument(help="Mapping file (TOML).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show each rule and field: direction, conflict policy and who sees it."""
    mapping = load_mapping(file)
    if as_json:
        echo_json(show_json(mapping))
        return
    for warning in target_warnings(mapping):
        typer.echo(_("warning: {message}").format(message=warning), err=True)
    print_show(mapping)


# -- plan and sync ------------------------------------------------------------------------

TodayOption = Annotated[
    str | None,
    typer.Option(
        "--today",
        envvar="CONNECTOR_TODAY",
        help="Pretend it is this day (2026-03-10 or 10.03.2026), e.g. to preview the reveal date.",
        show_default=False,
    ),
]


def _today(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError:
        raise InputError(
            _("--today: {value!r} is not a date like 2026-03-10 or 10.03.2026").format(value=value)
        ) from None


def _prepare(ctx: typer.Context, today: str | None, allow: list[str] | None = None) -> Run:
    config = options(ctx).resolve()
    store = Store.open(config.store, create=False)
    try:
        return prepare(config, store, today=_today(today), allow_mass_delete=frozenset(allow or []))
    except BaseException:
        store.close()
        raise


@app.command()
def plan(
    ctx: typer.Context,
    today: TodayOption = None,
    limit: Annotated[int, typer.Option(help="Items shown per rule.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show what a sync pass would do: creates, updates per field, deletes, conflicts.

    Writes nothing, locally or remotely.
    """
    run = _prepare(ctx, today)
    try:
        results = run.plan()
        uids = [i.uid for r in results if r.plan for i in r.plan.items if i.uid]
        names = record_labels(run.store, uids)
    finally:
        run.close()
        run.store.close()
    if as_json:
        echo_json([plan_data(r) for r in results])
    else:
        for result in results:
            for line in plan_lines(result, limit, names):
                typer.echo(line)
    _raise_first_error(results)


def _progress_printer() -> Callable[[str, int, int], None] | None:
    if not sys.stdout.isatty():
        return None
    from rich.progress import Progress

    bars: dict[str, Any] = {}
    progress = Progress(transient=True)
    progress.start()

    def update(rule: str, done: int, total: int) -> None:
        if rule not in bars:
            bars[rule] = progress.add_task(rule, total=total)
        progress.update(bars[rule], completed=done)
        if done == total:
            progress.remove_task(bars.pop(rule))
        if not bars and done == total:
            progress.refresh()

    update.stop = progress.stop  # type: ignore[attr-defined]
    return update


@app.command()
def sync(
    ctx: typer.Context,
    watch: Annotated[
        bool, typer.Option("--watch", help="Keep syncing until SIGTERM/SIGINT.")
    ] = False,
    interval: Annotated[
        int | None, typer.Option(help="Seconds between passes with --watch (default: config).")
    ] = None,
    stats: Annotated[bool, typer.Option("--stats", help="Print HTTP requests per rule.")] = False,
    allow_mass_delete: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-mass-delete",
            metavar=_("RULE"),
            help="Let RULE lose many records this pass ('*': all).",
        ),
    ] = None,
    today: TodayOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print each pass as JSON.")] = False,
) -> None:
    """Run one sync pass (or keep running with --watch): pull, plan, guard, apply."""
    config = options(ctx).resolve()
    with store_lock(config.store):
        run = _prepare(ctx, today, allow_mass_delete)
        try:
            if watch:
                _watch(run, interval or config.sync.interval, stats=stats, as_json=as_json)
                return
            progress = _progress_printer()
            try:
                results = run.sync(progress)
            finally:
                if progress is not None:
                    progress.stop()  # type: ignore[attr-defined]
            _print_pass(results, stats=stats, as_json=as_json)
        finally:
            run.close()
            run.store.close()
    _raise_first_error(results)


def _print_pass(results: list[RuleResult], *, stats: bool, as_json: bool) -> None:
    if as_json:
        echo_json([r.summary() for r in results])
        return
    for line in summary_lines(results, stats=stats):
        typer.echo(line)


def _watch(run: Run, interval: int, *, stats: bool, as_json: bool) -> None:
    def report(results: list[RuleResult], wait: float) -> None:
        if as_json:
            echo_json([r.summary() for r in results])
            return
        for line in summary_lines(results, stats=stats, quiet=True):
            typer.echo(line)
        typer.echo(pass_line(results, datetime.now().strftime("%Y-%m-%d %H:%M:%S"), wait))

    with Stopper() as stopper:
        for engine in run.engines:
            engine.stop_requested = lambda: stopper.stopped
        passes = watch_loop(run.sync, interval, stopper, report=report)
    typer.echo(
        ngettext("stopped after {n} pass", "stopped after {n} passes", passes).format(n=passes),
        err=True,
    )


def _raise_first_error(results: list[RuleResult]) -> None:
    failed = [r for r in results if r.error is not None]
    if failed:
        first = failed[0]
        assert first.error is not None
        names = ", ".join(r.rule for r in failed)
        error = type(first.error)(
            _("{count} rule(s) did not finish ({names}): {error}").format(
                count=len(failed), names=names, error=first.error
            )
        )
        error.hint = first.error.hint
        raise error


@app.command()
def show(
    ctx: typer.Context,
    rule: Annotated[str, typer.Argument(help="Rule name, as in the mapping file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show what a rule's board, calendar or list holds on its platform right now."""
    run = _prepare(ctx, None)
    try:
        _engine, found, records = remote_records(run, rule)
    finally:
        run.close()
        run.store.close()
    if as_json:
        echo_json([asdict(r) for r in records])
        return
    for line in collection_lines(found, records):
        typer.echo(line)


# -- record -------------------------------------------------------------------------------


@app.command()
def record(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(metavar="UID|E-MAIL", help="A record's uid or e-mail.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show one person, application, tandem, event or task: fields, links, conflicts."""
    with options(ctx).open_store() as store:
        data = record_data(store, find_record(store, key))
    if as_json:
        echo_json(data)
        return
    for line in record_lines(data):
        typer.echo(line)


# -- conflicts ----------------------------------------------------------------------------

conflicts_app = typer.Typer(
    help="Fields both sides changed differently, waiting for a person.",
    invoke_without_command=True,
)
app.add_typer(conflicts_app, name="conflicts")


@conflicts_app.callback()
def _conflicts(ctx: typer.Context) -> None:
    """Fields both sides changed differently; alone, it lists the open ones."""
    if ctx.invoked_subcommand is None:
        conflicts_list(ctx, all_=False, as_json=False)


@conflicts_app.command("list")
def conflicts_list(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Include settled ones.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List open conflicts."""
    with options(ctx).open_store() as store:
        found = store.conflicts(open_only=not all_)
        names = record_labels(store, [c.uid for c in found])
    if as_json:
        echo_json([asdict(c) for c in found])
        return
    if not found:
        typer.echo(_("No open conflicts."))
    for conflict in found:
        typer.echo(conflict_line(conflict, names))


@conflicts_app.command("show")
def conflicts_show(
    ctx: typer.Context,
    conflict_id: Annotated[int, typer.Argument(metavar="ID", help="Conflict number.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show one conflict: the agreed value and both sides' values."""
    with options(ctx).open_store() as store:
        conflict = _conflict(store, conflict_id)
        names = record_labels(store, [conflict.uid])
    if as_json:
        echo_json(asdict(conflict))
        return
    for line in conflict_details(conflict, names):
        typer.echo(line)


@conflicts_app.command("resolve")
def conflicts_resolve(
    ctx: typer.Context,
    conflict_id: Annotated[int, typer.Argument(metavar="ID", help="Conflict number.")],
    take: Annotated[
        str, typer.Option("--take", help="'canonical', 'remote', or the value to write to both.")
    ],
) -> None:
    """Settle a conflict; the next sync pass writes the chosen value to both sides."""
    with options(ctx).open_store() as store:
        conflict = _conflict(store, conflict_id)
        if conflict.applied_at is not None:
            raise InputError(_("conflict {id} is already settled").format(id=conflict_id))
        value = resolution_value(conflict, take)
        check_resolution(options(ctx).resolve(), conflict, value)
        store.resolve_conflict(conflict_id, value)
    typer.echo(
        _(
            "Conflict {id}: {field} will be {value} on both sides after the next `connector sync`."
        ).format(id=conflict_id, field=conflict.field, value=repr(value))
    )


def _conflict(store: Store, conflict_id: int) -> Conflict:
    conflict = store.conflict(conflict_id)
    if conflict is None:
        raise InputError(
            _("no conflict with id {id} (see `connector conflicts list`)").format(id=conflict_id)
        )
    return conflict


# -- announce -----------------------------------------------------------------------------


@app.command()
def announce(
    ctx: typer.Context,
    mailing_list: Annotated[str, typer.Argument(metavar="LIST", help="List address or rule name.")],
    subject: Annotated[str, typer.Option("--subject", help="Subject line of the circular.")],
    body_file: Annotated[
        Path, typer.Option("--body-file", help="Text file with the message body (UTF-8).")
    ],
    sender: Annotated[
        str, typer.Option("--sender", help="From address; must be allowed to post to the list.")
    ],
    send: Annotated[
        bool, typer.Option("--send", help="Really post it. Without this flag: a preview only.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Post a circular e-mail through a mapped Mailman list (preview unless --send)."""
    try:
        body = body_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            _("{path}: cannot read the message body: {reason}").format(
                path=body_file, reason=getattr(exc, "strerror", None) or exc
            )
        ) from None
    run = _prepare(ctx, None)
    try:
        target, collection = find_list(run, mailing_list)
        result = target.announce(collection, subject, body, sender=sender, dry_run=not send)
    finally:
        run.close()
        run.store.close()
    if as_json:
        echo_json(asdict(result))
        return
    typer.echo(announcement_text(result))


# -- servers ------------------------------------------------------------------------------

servers_app = typer.Typer(
    help="Local servers to try the tool on: a Deck double, Radicale and Mailman 3.",
    no_args_is_help=True,
)
app.add_typer(servers_app, name="servers")

ServersDirOption = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        help="Folder for their data, logs and state (default: servers/ next to the config).",
        show_default=False,
    ),
]


def _servers_dir(ctx: typer.Context, directory: Path | None) -> Path:
    if directory is not None:
        return directory
    config = options(ctx).resolve()
    return (config.path.parent if config.path else Path.cwd()) / "servers"


@servers_app.command("start")
def servers_start(
    ctx: typer.Context,
    directory: ServersDirOption = None,
    deck_user: Annotated[
        list[str] | None,
        typer.Option("--deck-user", help="Council account for the Deck double (default: store)."),
    ] = None,
) -> None:
    """Start the local servers (free ports, made-up passwords); print the export lines.

    Use it as: eval "$(connector servers start)". Ports come from CONNECTOR_DECK_PORT,
    CONNECTOR_RADICALE_PORT and CONNECTOR_MAILMAN_PORT when set. Servers of an earlier start
    in the same folder are reused when running, else stopped first.
    """
    from connector.testing import demo_servers as local

    config = options(ctx).resolve()
    users = list(deck_user or [])
    if not users and config.store.exists():
        with Store.open(config.store) as store:
            users = local.council_users(store)
    state, new = local.start(_servers_dir(ctx, directory), users)
    mappings = [load_mapping(path) for path in config.mappings]
    lines = local.export_lines(state, local.target_needs(mappings))
    env_file = local.write_env(state, lines)
    for row in local.status_rows(state):
        verb = _("started") if new else _("already running")
        label = local.LABELS[row["server"]]
        typer.echo(
            _("{server}: {state} at {url} (user {user})").format(
                server=label, state=verb, url=row["url"], user=row["user"]
            ),
            err=True,
        )
    typer.echo(
        _(
            'Set the secrets in your shell: eval "$(connector servers start)" or: source {path}'
        ).format(path=env_file),
        err=True,
    )
    for line in lines:
        typer.echo(line)


@servers_app.command("stop")
def servers_stop(ctx: typer.Context, directory: ServersDirOption = None) -> None:
    """Stop the local servers started from this folder."""
    from connector.testing import demo_servers as local

    stopped = local.stop(_servers_dir(ctx, directory))
    typer.echo(
        _("Stopped: {names}").format(names=", ".join(stopped))
        if stopped
        else _("No local servers were running.")
    )


@servers_app.command("status")
def servers_status(
    ctx: typer.Context,
    directory: ServersDirOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show which local servers run, where, and their logs."""
    from connector.testing import demo_servers as local

    rows = local.status_rows(local.Servers.load(_servers_dir(ctx, directory).resolve()))
    if as_json:
        echo_json(rows)
        return
    if not rows:
        typer.echo(_("No local servers started here: connector servers start"))
    for row in rows:
        state = _("running") if row["running"] else _("NOT running")
        typer.echo(f"{local.LABELS[row['server']]}: {state}, {row['url']} (pid {row['pid']})")
        typer.echo("  " + _("log: {path}").format(path=row["log"]))


# -- the error handler at the edge --------------------------------------------------------


def report_error(error: ConnectorError) -> None:
    """Print ``error`` on stderr: the message, each problem on its own line, the hint."""
    typer.echo(_("error: {message}").format(message=error), err=True)
    for problem in getattr(error, "problems", []):
        typer.echo(problem, err=True)
    if error.hint:
        typer.echo(_("hint: {hint}").format(hint=error.hint), err=True)


def main() -> None:
    """Entry point of the ``connector`` command: run the app, map errors to exit codes.

    Usage errors (unknown option, bad KIND) are typer's own and exit 2 before any command runs.
    """
    try:
        code = app(standalone_mode=False)
    except ClickException as error:
        _report_usage_error(error)
        sys.exit(error.exit_code)
    except Abort:
        typer.echo(_("Aborted."), err=True)
        sys.exit(1)
    except ConnectorError as error:
        report_error(error)
        sys.exit(error.exit_code)
    except Exception as error:
        if OPTIONS.verbose:
            raise
        message = _("internal error: {kind}: {error}").format(
            kind=type(error).__name__, error=error
        )
        typer.echo(_("error: {message}").format(message=message), err=True)
        typer.echo(
            _("hint: {hint}").format(
                hint=_("this is a bug; run again with --verbose to see the traceback")
            ),
            err=True,
        )
        sys.exit(70)
    sys.exit(code if isinstance(code, int) else 0)


def _report_usage_error(error: ClickException) -> None:
    """A wrong command line (exit 2), as typer would show it, in the user's language."""
    if isinstance(error, NoArgsIsHelpError):
        typer.echo(error.message, err=True)
        return
    context = getattr(error, "ctx", None)
    command = context.command_path if context is not None else "connector"
    typer.echo(
        _("error: {message}").format(message=usage_message(error.format_message())), err=True
    )
    hint = _("see `{command} --help`").format(command=command)
    typer.echo(_("hint: {hint}").format(hint=hint), err=True)


if __name__ == "__main__":
    main()
