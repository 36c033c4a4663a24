"""The ``connector`` command. Thin: parse options, call ``sync/``, print.

Each command group has its own section below; a new group adds a section (or a sub-app with
``app.add_typer``). Commands raise :class:`connector.errors.ConnectorError` subclasses and never
print errors themselves: :func:`main` is the one place that turns an error into a message on
stderr and an exit code. Every read command has ``--json``.
"""

import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer.exceptions import Abort

from connector import lazy, logsafe
from connector.errors import ConnectorError, InputError
from sync.command_tree import named_only
from sync.config import CONFIG_NAME, Config, resolve_config
from sync.display import set_zone
from sync.helptext import install as install_readable_help
from sync.helptext import usage_message
from sync.i18n import _, ngettext
from sync.i18n import install as install_language
from sync.logs import FORMATS
from sync.logs import configure as configure_logs
from sync.store import Conflict, Store

# Each command's modules load when it runs: `connector --help` and the start of every
# command stay cheap (see connector/lazy.py).
if TYPE_CHECKING:
    from mappings.fahrplan import find_template
    from mappings.load import load_mapping
    from mappings.report import check_files, print_show, show_json, target_warnings
    from sync import verdicts
    from sync.cohort_new import new_cohort, programme_template
    from sync.costs import cohort_costs
    from sync.costs_format import costs_csv, costs_json, costs_lines
    from sync.coverage import store_warnings
    from sync.daemon import store_lock, watch_run
    from sync.doctor import doctor as run_doctor
    from sync.doctor import worst as doctor_worst
    from sync.doctor_format import doctor_json, doctor_summary
    from sync.engine import RuleResult
    from sync.erasure_cli import forget_command
    from sync.exports import write_csv
    from sync.fahrplan_format import fahrplan_lines, template_folders
    from sync.health import check as health_check
    from sync.import_format import import_lines
    from sync.importer import import_file
    from sync.importing.cells import parse_date, parse_decimal
    from sync.matching import candidates, check_cohort
    from sync.matching_format import candidate_lines, check_lines
    from sync.optin import opt_in
    from sync.outcome import Outcome
    from sync.passes import pass_outcome, plan_labels
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
        summary_lines,
    )
    from sync.rule_errors import unfinished
    from sync.runner import Run, find_list, open_run, remote_records
    from sync.settle import find_conflict, settle
    from sync.status import status_data, status_lines
    from sync.workfolder import create as create_work_folder
else:
    verdicts = lazy.module("sync.verdicts")
    (find_template,) = lazy.names("mappings.fahrplan", "find_template")
    costs_csv, costs_json, costs_lines = lazy.names(
        "sync.costs_format", "costs_csv", "costs_json", "costs_lines"
    )
    parse_date, parse_decimal = lazy.names("sync.importing.cells", "parse_date", "parse_decimal")
    find_record, record_labels, record_data, record_lines = lazy.names(
        "sync.records", "find", "labels", "record_data", "record_lines"
    )
    status_data, status_lines = lazy.names("sync.status", "status_data", "status_lines")
    (create_work_folder,) = lazy.names("sync.workfolder", "create")
    (load_mapping,) = lazy.names("mappings.load", "load_mapping")
    check_files, print_show, show_json, target_warnings = lazy.names(
        "mappings.report", "check_files", "print_show", "show_json", "target_warnings"
    )
    new_cohort, programme_template = lazy.names(
        "sync.cohort_new", "new_cohort", "programme_template"
    )
    (cohort_costs,) = lazy.names("sync.costs", "cohort_costs")
    (store_warnings,) = lazy.names("sync.coverage", "store_warnings")
    store_lock, watch_run = lazy.names("sync.daemon", "store_lock", "watch_run")
    (run_doctor,) = lazy.names("sync.doctor", "doctor")
    (doctor_worst,) = lazy.names("sync.doctor", "worst")
    doctor_json, doctor_summary = lazy.names("sync.doctor_format", "doctor_json", "doctor_summary")
    (RuleResult,) = lazy.names("sync.engine", "RuleResult")
    (forget_command,) = lazy.names("sync.erasure_cli", "forget_command")
    (write_csv,) = lazy.names("sync.exports", "write_csv")
    fahrplan_lines, template_folders = lazy.names(
        "sync.fahrplan_format", "fahrplan_lines", "template_folders"
    )
    (health_check,) = lazy.names("sync.health", "check")
    (import_lines,) = lazy.names("sync.import_format", "import_lines")
    (import_file,) = lazy.names("sync.importer", "import_file")
    candidates, check_cohort = lazy.names("sync.matching", "candidates", "check_cohort")
    candidate_lines, check_lines = lazy.names(
        "sync.matching_format", "candidate_lines", "check_lines"
    )
    (opt_in,) = lazy.names("sync.optin", "opt_in")
    (Outcome,) = lazy.names("sync.outcome", "Outcome")
    pass_outcome, plan_labels = lazy.names("sync.passes", "pass_outcome", "plan_labels")
    (
        announcement_text,
        collection_lines,
        conflict_details,
        conflict_line,
        pass_line,
        plan_data,
        plan_lines,
        summary_lines,
    ) = lazy.names(
        "sync.report",
        "announcement_text",
        "collection_lines",
        "conflict_details",
        "conflict_line",
        "pass_line",
        "plan_data",
        "plan_lines",
        "summary_lines",
    )
    (unfinished,) = lazy.names("sync.rule_errors", "unfinished")
    Run, find_list, open_run, remote_records = lazy.names(
        "sync.runner", "Run", "find_list", "open_run", "remote_records"
    )
    find_conflict, settle = lazy.names("sync.settle", "find_conflict", "settle")


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
    log_format: Annotated[
        str,
        typer.Option(
            "--log-format",
            envvar="CONNECTOR_LOG_FORMAT",
            help="Log on stderr as 'text' or 'json' (one line per pass and per item changed "
            "or failed).",
        ),
    ] = "text",
) -> None:
    """Keep intermunicipal mentoring cohorts in sync with Deck boards, calendars and lists."""
    OPTIONS.config, OPTIONS.store, OPTIONS.verbose = config, store, verbose
    ctx.obj = OPTIONS
    logsafe.install()
    if log_format not in FORMATS:
        raise InputError(
            _("--log-format: {value!r} is not one of {formats}").format(
                value=log_format, formats=", ".join(FORMATS)
            )
        )
    configure_logs(log_format, verbose=verbose)


# -- init ---------------------------------------------------------------------------------


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the config, mapping and store.")],
) -> None:
    """Create a working folder: connector.toml, mapping.toml and an empty store.

    The mapping is a copy of the shipped one, if this installation has it. Existing files are
    never overwritten.
    """
    from sync.workfolder import SHIPPED_MAPPING

    created = create_work_folder(directory)
    if created.mapping is not None:
        typer.echo(
            _("Created {path} (a copy of the shipped {name})").format(
                path=created.mapping, name=SHIPPED_MAPPING
            )
        )
    typer.echo(_("Created {path}").format(path=created.config))
    if created.mapping is None:
        typer.echo(
            _(
                "No mapping ships with this installation yet ({name}); "
                "add one to `mappings` in {path} before syncing."
            ).format(name=SHIPPED_MAPPING, path=created.config)
        )
    typer.echo(_("Created {path} (empty store)").format(path=created.store))
    typer.echo(
        _("Next: connector --config {path} import organisations FILE").format(path=created.config)
    )


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
    readmit: Annotated[
        list[str] | None,
        typer.Option(
            "--readmit",
            metavar="EMAIL",
            help="people: import this person although they were erased with "
            "`connector forget` (they applied again; repeatable).",
        ),
    ] = None,
) -> None:
    """Import a CSV file of organisations, people, applications, events and so on.

    Every row is checked first; if any is wrong, nothing is written and each problem is
    printed as file:line: column: message. Importing the same file again changes nothing.
    Rows of people erased with `connector forget` are left out (listed with their line).
    """
    with options(ctx).open_store(create=True) as store:
        report = import_file(
            store,
            kind.value,
            file,
            dry_run=dry_run,
            ignore_columns=ignore_column or [],
            readmit=readmit or [],
        )
    if as_json:
        echo_json(asdict(report))
    else:
        for line in import_lines(report):
            typer.echo(line)


# -- status -------------------------------------------------------------------------------


@app.command()
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Judge like a monitoring plugin: exit 0 OK, 1 WARNING, 2 CRITICAL.",
        ),
    ] = False,
    conflict_hours: Annotated[
        float | None,
        typer.Option(help="--check: warn when a conflict waits longer (default: config)."),
    ] = None,
    intervals: Annotated[
        int | None,
        typer.Option(help="--check: critical when no pass ran for this many intervals."),
    ] = None,
) -> None:
    """Show entity counts per cohort, the last sync pass per target and open conflicts."""
    config = options(ctx).resolve()
    with options(ctx).open_store() as store:
        if check:
            health = health_check(
                store,
                interval=config.sync.interval,
                stale_intervals=intervals or config.sync.stale_intervals,
                conflict_hours=conflict_hours or config.sync.conflict_warn_hours,
            )
        else:
            data = status_data(store)
    if check:
        if as_json:
            echo_json(health.data())
        else:
            typer.echo(health.line())
            for reason in health.reasons:
                typer.echo(reason)
        raise typer.Exit(health.state)
    if as_json:
        echo_json(data)
    else:
        for line in status_lines(data):
            typer.echo(line)


# -- mappings -----------------------------------------------------------------------------

mappings_app = typer.Typer(help="Check and show mapping files.", no_args_is_help=True)
app.add_typer(mappings_app, name="mappings")


@mappings_app.command("check")
def mappings_check(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Mapping files (TOML) to check.")],
) -> None:
    """Check mapping files completely; print every problem as FILE:LINE: field: message.

    With a store (configured, or given by --store), also warn about rules whose filter
    matches nothing in it."""
    ok, problems = check_files(files)
    for line in ok:
        typer.echo(line)
    try:
        store = options(ctx).resolve().store
    except ConnectorError:
        store = None  # no usable configuration: nothing to check the filters against
    for line in store_warnings(store, files):
        typer.echo(line)
    error = verdicts.mapping_files(files, ok, problems)
    if error is not None:
        raise error


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
    return open_run(config, today=_today(today), allow_mass_delete=frozenset(allow or []))


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
    with _prepare(ctx, today) as run:
        results = run.plan()
        names = plan_labels(run.store, results)
    if as_json:
        echo_json([plan_data(r) for r in results])
    else:
        for result in results:
            for line in plan_lines(result, limit, names):
                typer.echo(line)
    error = unfinished(results)
    if error is not None:
        raise error


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
    with store_lock(config.store), _prepare(ctx, today, allow_mass_delete) as run:
        if watch:
            _watch(
                run,
                interval or config.sync.interval,
                config.sync.max_backoff,
                stats=stats,
                as_json=as_json,
            )
            return
        progress = _progress_printer()
        try:
            results = run.sync(progress)
        finally:
            if progress is not None:
                progress.stop()  # type: ignore[attr-defined]
        from sync import opening

        opening.save([p for p in (config.path, *config.mappings) if p is not None], config.store)
        outcome = pass_outcome(run.store, results)
        _print_pass(results, outcome, stats=stats, as_json=as_json)
    error = outcome.error()
    if error is not None:
        raise error


def _print_pass(results: list[RuleResult], outcome: Outcome, *, stats: bool, as_json: bool) -> None:
    if as_json:
        echo_json([r.summary() for r in results])
        return
    for line in summary_lines(results, stats=stats):
        typer.echo(line)
    typer.echo(_("pass: {line}").format(line=outcome.line()))


def _watch(run: Run, interval: int, max_backoff: int, *, stats: bool, as_json: bool) -> None:
    def report(results: list[RuleResult], wait: float) -> None:
        pass_outcome(run.store, results, next_pass=wait)
        if as_json:
            echo_json([r.summary() for r in results])
            return
        for line in summary_lines(results, stats=stats, quiet=True):
            typer.echo(line)
        typer.echo(pass_line(results, datetime.now().strftime("%Y-%m-%d %H:%M:%S"), wait))

    passes = watch_run(run, interval, max_backoff=max_backoff, report=report)
    typer.echo(
        ngettext("stopped after {n} pass", "stopped after {n} passes", passes).format(n=passes),
        err=True,
    )


@app.command()
def show(
    ctx: typer.Context,
    rule: Annotated[str, typer.Argument(help="Rule name, as in the mapping file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show what a rule's board, calendar or list holds on its platform right now."""
    with _prepare(ctx, None) as run:
        _engine, found, records = remote_records(run, rule)
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
        conflict, value = settle(options(ctx).resolve(), store, conflict_id, take)
    typer.echo(
        _(
            "Conflict {id}: {field} will be {value} on both sides after the next `connector sync`."
        ).format(id=conflict_id, field=conflict.field, value=repr(value))
    )


def _conflict(store: Store, conflict_id: int) -> Conflict:
    return find_conflict(store, conflict_id)


# -- person -------------------------------------------------------------------------------

person_app = typer.Typer(help="A person's own decisions.", no_args_is_help=True)
app.add_typer(person_app, name="person")


@person_app.command("opt-in")
def person_opt_in(
    ctx: typer.Context,
    who: Annotated[str, typer.Argument(metavar="PERSON", help="E-mail address or uid.")],
    mailing_list: Annotated[
        str, typer.Argument(metavar="LIST", help="Address of the list the person left.")
    ],
) -> None:
    """Lift an opt-out: the person asked to be on LIST again (an import never does this)."""
    with options(ctx).open_store() as store:
        person, recorded = opt_in(store, who, mailing_list)
    typer.echo(
        _(
            "{name} ({email}, {uid}) may be subscribed to {list} again; "
            "the next sync adds them where the mapping's filter covers them."
        ).format(name=person.name, email=person.email, uid=person.uid, list=recorded)
    )


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
    with _prepare(ctx, None) as run:
        target, collection = find_list(run, mailing_list)
        result = target.announce(collection, subject, body, sender=sender, dry_run=not send)
    if as_json:
        echo_json(asdict(result))
        return
    typer.echo(announcement_text(result))


# -- doctor -------------------------------------------------------------------------------


@app.command()
def doctor(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Check the configuration against the real platforms; say what to fix, one line each.

    Exits 0 when all is fine, else with the code of the worst finding (3 configuration,
    5 credentials or rights, 8 a platform failed, 9 unavailable). Writes nothing.
    """
    lines = run_doctor(options(ctx).resolve())
    code = doctor_worst(lines)
    if as_json:
        echo_json(doctor_json(lines, code))
    else:
        for line in lines:
            typer.echo(str(line))
        typer.echo(doctor_summary(lines, code))
    if code:
        raise typer.Exit(code)


# -- report -------------------------------------------------------------------------------

report_app = typer.Typer(help="Reports from the store for the council.", no_args_is_help=True)
app.add_typer(report_app, name="report")


@report_app.command("costs")
def report_costs(
    ctx: typer.Context,
    cohort: Annotated[str, typer.Option("--cohort", help="Cohort uid, e.g. mim-10.")],
    total: Annotated[
        str | None,
        typer.Option("--total", help="Split this total (EUR) instead of the cohort's own rule."),
    ] = None,
    csv_file: Annotated[
        Path | None,
        typer.Option("--csv", help="Write CSV for Excel (German locale) here; '-' for stdout."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Costs per organisation: participants, fee per head or share of a total, amount due."""
    override = _amount(total) if total is not None else None
    with options(ctx).open_store() as store:
        report = cohort_costs(store, cohort, override)
    if csv_file is not None:
        text = costs_csv(report)
        if str(csv_file) == "-":
            from sync.costs_format import BOM

            sys.stdout.write(BOM + text)
        else:
            write_csv(csv_file, text)
            typer.echo(
                _("wrote {file} ({n} organisations)").format(file=csv_file, n=len(report.lines)),
                err=True,
            )
    elif as_json:
        echo_json(costs_json(report))
    else:
        typer.echo("\n".join(costs_lines(report)))


def _amount(text: str) -> Decimal:
    try:
        return parse_decimal(text)
    except ValueError as exc:
        raise InputError(f"--total: {_(str(exc))}") from None


# -- cohort -------------------------------------------------------------------------------

cohort_app = typer.Typer(
    help="Cohorts from their programme's Fahrplan template.", no_args_is_help=True
)
app.add_typer(cohort_app, name="cohort")


@cohort_app.command("new")
def cohort_new(
    ctx: typer.Context,
    programme: Annotated[str, typer.Option("--programme", help="Programme uid, e.g. mim.")],
    number: Annotated[int, typer.Option("--number", min=1, help="Number of the cohort.")],
    start: Annotated[str, typer.Option("--start", help="First day of the cohort, YYYY-MM-DD.")],
    template: Annotated[
        Path | None,
        typer.Option("--template", help="Fahrplan template file (default: the programme's)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show, write nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Create cohort PROGRAMME-NUMBER with the events and tasks of its Fahrplan template.

    Run again after the template changed: items are updated, never duplicated, and what the
    council changed is left alone.
    """
    first_day = _day("--start", start)
    opts = options(ctx)
    path = template or find_template(programme, template_folders(opts.resolve()))
    loaded = programme_template(path, programme)
    with opts.open_store(create=True) as store:
        report = new_cohort(store, loaded, path, number=number, start=first_day, dry_run=dry_run)
    if as_json:
        echo_json(asdict(report) | {"counts": report.counts()})
    else:
        typer.echo("\n".join(fahrplan_lines(report)))


@cohort_app.command("check")
def cohort_check(
    files: Annotated[list[Path], typer.Argument(help="Fahrplan template files.")],
) -> None:
    """Check Fahrplan template files; every problem as FILE:LINE: field: message."""
    error = verdicts.fahrplan_templates(files)
    if error is not None:
        raise error
    typer.echo(
        ngettext("{n} Fahrplan template: OK", "{n} Fahrplan templates: OK", len(files)).format(
            n=len(files)
        )
    )


def _day(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(
            _("{option}: {text!r} is not a date (write YYYY-MM-DD)").format(
                option=option, text=text
            )
        ) from None


# -- match --------------------------------------------------------------------------------

match_app = typer.Typer(
    help="Matching support: the council matches, the tool assists.", no_args_is_help=True
)
app.add_typer(match_app, name="match")


@match_app.command("candidates")
def match_candidates(
    ctx: typer.Context,
    mentee: Annotated[str, typer.Argument(metavar="MENTEE", help="The mentee's e-mail or uid.")],
    cohort: Annotated[
        str | None, typer.Option("--cohort", help="Cohort uid (needed if several).")
    ] = None,
    everyone: Annotated[
        bool, typer.Option("--all", help="Also list mentors the rules exclude, with the reason.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Mentors who could be paired with MENTEE, beside the mentee's goals. Pairs nobody."""
    with options(ctx).open_store() as store:
        found = candidates(store, mentee, cohort, everyone=everyone)
    if as_json:
        echo_json(asdict(found))
    else:
        typer.echo("\n".join(candidate_lines(found)))


@match_app.command("check")
def match_check(
    ctx: typer.Context,
    cohort: Annotated[str, typer.Option("--cohort", help="Cohort uid, e.g. mim-10.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Check every tandem of a cohort against the rules; exit 3 if any breaks one."""
    with options(ctx).open_store() as store:
        result = check_cohort(store, cohort)
    if as_json:
        echo_json(asdict(result))
    else:
        typer.echo("\n".join(check_lines(result)))
    error = verdicts.tandems(result, listed=as_json)
    if error is not None:
        raise error


# -- forget -------------------------------------------------------------------------------


@app.command()
def forget(
    ctx: typer.Context,
    person: Annotated[
        str | None,
        typer.Argument(metavar="PERSON", help="E-mail or uid; omit to finish pending erasures."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show, delete nothing.")] = False,
    due: Annotated[
        bool, typer.Option("--due", help="Applicants not selected, past their retention period.")
    ] = False,
    yes: Annotated[
        bool,
        typer.Option("--yes", help="With --due: erase them (also past the mass-deletion guard)."),
    ] = False,
    today: TodayOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Erase a person from the store and from every target; keep a receipt without names."""
    config = options(ctx).resolve()
    with store_lock(config.store), _prepare(ctx, today) as run:
        output = forget_command(
            run, config, person, dry_run=dry_run, due=due, yes=yes, today=_today(today)
        )
    if as_json:
        echo_json(output.data)
    else:
        typer.echo("\n".join(output.lines))


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
        # A hint given as a class attribute is marked with N_() and looked up here.
        typer.echo(_("hint: {hint}").format(hint=_(error.hint)), err=True)


def main() -> None:
    """Entry point of the ``connector`` command: run the app, map errors to exit codes.

    Usage errors (unknown option, bad KIND) are typer's own and exit 2 before any command runs.
    """
    try:
        with named_only(app, sys.argv[1:]):
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
