"""The ``xlcrm`` command: each command parses its arguments and calls one public function.

Start-up stays as quick as typer and rich alone: this module imports nothing of xlcrm's but
the lazy facade (:mod:`xlcrm`, whose names import their module on first use), the errors and
the version. A command imports what it needs inside its function (the facade's function, or
``from . import terminal`` to print), so ``xlcrm --help`` never loads pandas. A new command
follows the same rule: no module-level import of anything heavier than this module's own.

The command-line modules (this one, :mod:`xlcrm.cli_copies`, :mod:`xlcrm.cli_privacy`) do not
use postponed annotations: typer reads every command's signature on each run, twice, and
string annotations made it evaluate some 650 strings before ``--version`` could answer (43 ms
of a 150 ms start; 11 ms with the annotations already objects).
"""

import datetime as dt
from pathlib import Path
from typing import Annotated, Optional

import typer

import xlcrm

from ._version import __version__
from .cli_copies import register_copies_commands
from .cli_options import (
    DONE,
    EXIT_CODES,
    PROBLEMS,
    REFUSED,
    ForceOpt,
    FormatOpt,
    LocaleOpt,
    OutputFormat,
    PresetOpt,
    console,
    err,
)
from .cli_options import as_exit as _as_exit
from .cli_options import busy as _busy
from .cli_options import fail as _fail
from .cli_options import flag as _flag
from .cli_options import not_future as _not_future
from .cli_privacy import PasswordOpt, register_privacy_commands
from .cli_privacy import password_from_env as _secret

app = typer.Typer(
    help="A small team's CRM in an Excel workbook.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
#: Each command's twin in the library: the one public function it calls.
TWINS = {
    "init": "init", "demo": "demo", "attach": "attach", "update": "update",
    "baseline": "set_baseline", "check": "check", "macros": "macro_workbook",
    "report": "report", "agenda": "agenda", "export": "export", "import": "import_leads",
    "adopt": "adopt", "clean": "clean", "score": "score", "assign": "assign",
    "protect": "protect", "unprotect": "unprotect", "person": "person", "forget": "forget",
    "diff": "diff", "merge": "merge",
}
#: The commands that can also end with PROBLEMS; every other command ends DONE or REFUSED.
FINDS_PROBLEMS = frozenset({"check", "export", "diff", "merge"})



def _version(value: bool) -> None:
    if value:
        console.print(f"xlcrm {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[Optional[bool], _flag(  # noqa: UP045 - typer needs Optional
        "--version", callback=_version, is_eager=True, help="Show the version.")] = None,
) -> None:
    """A small team's CRM in an Excel workbook."""


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="The .xlsx workbook to create.")],
    preset: PresetOpt = "dealer",
    locale: LocaleOpt = "en",
    currency: Annotated[Optional[str], typer.Option(  # noqa: UP045
        help="ISO code of the currency of amounts (default: the preset's).")] = None,
    force: Annotated[bool, _flag("--force", help="Overwrite an existing file.")] = False,
    macros: Annotated[bool, _flag(
        "--macros", help="Also write the macro workbook (.xlsm) with the Excel buttons.")]
    = False,
    pw_env: PasswordOpt = None,
) -> None:
    """Create a new, empty CRM workbook."""
    with _as_exit():
        written = xlcrm.init(path, preset=preset, locale=locale, currency=currency,
                             force=force, password=_secret(pw_env))
        made = xlcrm.macro_workbook(written, force=force,
                                    password=_secret(pw_env)) if macros else None
    console.print(f"Created {written} ({preset.casefold()} preset, {locale.casefold()}).")
    if made is not None:
        console.print(f"Created {made.workbook} with the Excel buttons, and {made.module}.")


@app.command()
def demo(
    directory: Annotated[Path, typer.Argument(help="Folder to write the demo into.")] = Path(
        "xlcrm-demo"),
    preset: PresetOpt = "dealer",
    leads: Annotated[int, typer.Option(min=1, help="Number of leads (contacts for b2b).")] = 1000,
    seed: Annotated[int, typer.Option(help="Same seed, same data.")] = 7,
    locale: LocaleOpt = "en",
    today: Annotated[Optional[dt.datetime], typer.Option(  # noqa: UP045
        formats=["%Y-%m-%d"], help="Pretend today is this day (YYYY-MM-DD).")] = None,
    force: Annotated[bool, _flag(
        "--force", help="Replace an earlier demo workbook in the folder.")] = False,
    pw_env: PasswordOpt = None,
) -> None:
    """Write a populated demo workbook with realistic data."""
    with _as_exit(), _busy(f"Generating {leads:,} leads..."):
        written = xlcrm.demo(directory, preset=preset, leads=leads, seed=seed, locale=locale,
                             today=_not_future(today, "--today"), force=force,
                             password=_secret(pw_env))
    reports = sorted(written.parent.glob(f"{written.stem}-report-*.html"))
    from . import terminal

    terminal.print_demo(console, written, preset=preset, locale=locale, leads=leads,
                        report=reports[-1].name if reports else None)


@app.command()
def attach(
    path: Annotated[Path, typer.Argument(help="The team's existing .xlsx or .xlsm workbook.")],
    preset: PresetOpt = "dealer",
    locale: LocaleOpt = "en",
    force: ForceOpt = False,
    backups: Annotated[int, typer.Option(min=0, help="Earlier versions to keep.")] = 5,
    pw_env: PasswordOpt = None,
) -> None:
    """Add xlcrm's Settings, data sheets and owned sheets to an existing workbook.

    The team's own sheets, charts, pivot tables, macros and styles stay exactly as they are.
    """
    with _as_exit():
        result = xlcrm.attach(path, preset=preset, locale=locale, force=force, backups=backups,
                              password=_secret(pw_env))
    console.print(f"Attached the {preset} CRM sheets to {result.path}"
                  + (f" (previous version kept as {result.backup})" if result.backup else ""))


@app.command()
def update(
    path: Annotated[Path, typer.Argument(help="The CRM workbook.")],
    today: Annotated[Optional[dt.datetime], typer.Option(  # noqa: UP045
        formats=["%Y-%m-%d"], help="Run as if today were this day (YYYY-MM-DD).")] = None,
    dry_run: Annotated[bool, _flag(
        "--dry-run", help="Show every cell the run would change; write nothing.")] = False,
    force: ForceOpt = False,
    backups: Annotated[int, typer.Option(min=0, help="Earlier versions to keep.")] = 5,
    output: FormatOpt = OutputFormat.text,
    shown: Annotated[int, typer.Option(
        "--show", min=0, help="With --dry-run: changed cells listed per sheet.")] = 10,
    pw_env: PasswordOpt = None,
) -> None:
    """Run the weekly update: tally, baseline, funnel, dashboard and stage history, written
    into the owned sheets (nothing else in the workbook is touched)."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from .commands.update import STEPS_OF_UPDATE

    steps = len(STEPS_OF_UPDATE) - 1  # a run either compares or writes
    columns = (SpinnerColumn(), TextColumn("{task.description:<38}"), BarColumn(),
               TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn())
    quiet = output is OutputFormat.json or not err.is_terminal  # (a log gets no bar)
    with _as_exit(), Progress(*columns, console=err, transient=True, disable=quiet) as bar:
        task = bar.add_task("Starting", total=steps)

        def progress(step: str) -> None:
            if bar.tasks[task].description != "Starting":
                bar.advance(task)
            bar.update(task, description=step)

        result = xlcrm.update(path, today=_not_future(today, "--today"), force=force,
                              dry_run=dry_run, backups=backups, progress=progress,
                              password=_secret(pw_env))
    from . import terminal

    if output is OutputFormat.json:
        print(terminal.update_json(result, dry_run))
        return
    terminal.print_update_summary(console, result)
    if dry_run:
        terminal.print_update_changes(console, result, shown)
    terminal.print_update_done(console, result, dry_run=dry_run)


@app.command()
def baseline(
    path: Annotated[Path, typer.Argument(help="The CRM workbook.")],
    start: Annotated[dt.datetime, typer.Option("--from", formats=["%Y-%m-%d"],
                                               help="First day of the baseline period.")],
    end: Annotated[dt.datetime, typer.Option("--to", formats=["%Y-%m-%d"],
                                             help="Last day of the baseline period.")],
    force: ForceOpt = False,
    today: Annotated[Optional[dt.datetime], typer.Option(  # noqa: UP045
        formats=["%Y-%m-%d"], help="Run as if today were this day (YYYY-MM-DD).")] = None,
    pw_env: PasswordOpt = None,
) -> None:
    """Re-baseline: measure every week against a new period; the old baselines are kept.

    A period in the future, or with no lead in its full weeks, is refused.
    """
    with _as_exit():
        result = xlcrm.set_baseline(path, start.date(), end.date(), force=force,
                                    today=today.date() if today else None,
                                    password=_secret(pw_env))
    from . import terminal

    console.print(terminal.baseline_line(result, start.date(), end.date()), highlight=False)


@app.command()
def check(
    path: Annotated[Path, typer.Argument(help="The CRM workbook to check.")],
    output: FormatOpt = OutputFormat.text,
    pw_env: PasswordOpt = None,
) -> None:
    """Check a CRM workbook: every problem as Sheet!Cell: what is wrong.

    Exit code 0 when there is no error, 1 when there are errors, 2 when the file can't be read.
    """
    with _as_exit():
        result = xlcrm.check(path, password=_secret(pw_env))
    if output is OutputFormat.json:
        print(result.to_json())
    else:
        from .sheets.words import owned_text_of

        words = owned_text_of(result.locale).words  # the severities in the language
        for issue in result.issues:
            style = "red" if issue.severity == "error" else "yellow"
            severity = words.get(f"quality_severity_{issue.severity}", issue.severity)
            console.print(f"[{style}]{severity:<7}[/] {issue}", markup=True,
                          soft_wrap=True, highlight=False)
        console.print(("[green]" if result.ok else "[red]") + result.summary() + "[/]")
    raise typer.Exit(DONE if result.ok else PROBLEMS)


@app.command()
def macros(
    path: Annotated[Path, typer.Argument(help="The CRM workbook (.xlsx; only read).")],
    out: Annotated[Optional[Path], typer.Option(  # noqa: UP045
        "--out", "-o", help="The .xlsm to write (default: beside it).")] = None,
    python: Annotated[Optional[str], typer.Option(  # noqa: UP045
        help="The Python interpreter Excel should run (default: this one).")] = None,
    force: Annotated[bool, _flag("--force", help="Overwrite an existing .xlsm.")]
    = False,
    pw_env: PasswordOpt = None,
) -> None:
    """Write a macro-enabled copy with buttons: weekly update, report, agenda, check, import."""
    with _as_exit():
        made = xlcrm.macro_workbook(path, out, python=python, force=force, password=_secret(pw_env))
    console.print(f"Wrote {made.workbook} and {made.module} (keep them in the same folder). "
                  "Open the workbook in Excel, enable macros, press Weekly update.")


@app.command()
def report(
    path: Annotated[Path, typer.Argument(help="The CRM workbook (only read).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the report files.")]
    = Path("reports"),
    week: Annotated[Optional[str], typer.Option(  # noqa: UP045
        help="The week, YYYY-Www (default: the last full week).")] = None,
    html: Annotated[bool, _flag("--html", help="Also write the HTML page.")] = False,
    pdf: Annotated[bool, _flag("--pdf", help="Also write a PDF (LibreOffice).")] = False,
    eml: Annotated[bool, _flag("--eml", help="Also write the e-mail, ready to send.")]
    = False,
    smtp: Annotated[Optional[str], typer.Option(  # noqa: UP045
        help="Send the e-mail through this server, HOST or HOST:PORT.")] = None,
    smtp_user: Annotated[Optional[str], typer.Option(  # noqa: UP045
        help="SMTP login; the password is read from XLCRM_SMTP_PASSWORD.")] = None,
    starttls: Annotated[bool, _flag(help="Use STARTTLS before logging in.")] = True,
    mail_from: Annotated[str, typer.Option(help="The e-mail's sender.")] = "xlcrm@localhost",
    mail_to: Annotated[Optional[list[str]], typer.Option(  # noqa: UP045
        help="A recipient (repeat for more).")] = None,
    templates: Annotated[Optional[Path], typer.Option(  # noqa: UP045
        help="A folder of templates that override the built-in ones.")] = None,
    today: Annotated[Optional[dt.datetime], typer.Option(  # noqa: UP045
        formats=["%Y-%m-%d"], help="Make the report as if today were this day.")] = None,
    pw_env: PasswordOpt = None,
) -> None:
    """Write the weekly report: a workbook with charts, and the HTML page, PDF or e-mail."""
    settings = None
    if smtp:
        host, _, port = smtp.partition(":")
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise typer.BadParameter(f'"{port}" is not a port number; give HOST or HOST:PORT, '
                                     "for example smtp.example.com:587", param_hint="--smtp")
        settings = xlcrm.SmtpSettings(host, int(port) if port else (587 if starttls else 25),
                                starttls=starttls, user=smtp_user)
    with _as_exit(), _busy("Counting the week and writing the report..."):
        result = xlcrm.report(path, out, week=week, html=html, pdf=pdf, eml=eml, smtp=settings,
                      sender=mail_from, to=mail_to or [], templates=templates,
                      today=_not_future(today, "--today"), password=_secret(pw_env))
    data = result.report
    from . import terminal

    # a sheet with no records, a week not over
    terminal.print_missing(console, data.notes, data.locale)
    terminal.print_report(console, data)
    for made in (result.workbook, result.html, result.pdf, result.eml):
        if made is not None:
            terminal.print_written(console, data.locale, made)
    if result.sent_to:
        console.print(f"Sent to {', '.join(result.sent_to)}")


@app.command()
def agenda(
    path: Annotated[Path, typer.Argument(help="The CRM workbook.")],
    date: Annotated[Optional[str], typer.Option(  # noqa: UP045
        help="tomorrow, today, or YYYY-MM-DD.")] = "tomorrow",
    rep: Annotated[Optional[str], typer.Option(help="Only this salesperson.")] = None,  # noqa: UP045
    out: Annotated[Optional[Path], typer.Option(  # noqa: UP045
        help="Also write the agenda as an HTML page into this folder (or .html file).")] = None,
    sheet: Annotated[bool, _flag(help="Write the Agenda sheet into the workbook.")]
    = True,
    templates: Annotated[Optional[Path], typer.Option(  # noqa: UP045
        help="A folder of templates that override the built-in ones.")] = None,
    force: ForceOpt = False,
    pw_env: PasswordOpt = None,
) -> None:
    """Show each salesperson's agenda: tasks due, overdue, records with no next step, new leads
    still waiting for a first contact."""
    now = dt.datetime.now().replace(microsecond=0)
    text = (date or "tomorrow").strip().lower()
    try:
        day = {"tomorrow": now.date() + dt.timedelta(days=1), "today": now.date()}.get(text) \
            or dt.date.fromisoformat(text)
    except ValueError:
        err.print(f'[bold red]error:[/] --date "{date}" is not tomorrow, today or YYYY-MM-DD')
        raise typer.Exit(REFUSED) from None
    with _as_exit():
        result = xlcrm.agenda(path, day=day, rep=rep, now=now, out=out, write_sheet=sheet,
                      templates=templates, force=force, password=_secret(pw_env))
    from . import terminal

    terminal.print_agenda(console, result, day)
    if result.html is not None:
        terminal.print_written(console, result.locale, result.html)
    if result.saved is not None:
        terminal.print_written(console, result.locale, result.saved.path, agenda_sheet=True)


@app.command()
def export(
    path: Annotated[Path, typer.Argument(help="The CRM workbook (only read).")],
    to: Annotated[str, typer.Option(
        "--to", "-t", help="hubspot, salesforce, pipedrive, zoho or dynamics.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the import files.")]
    = Path("export"),
    mapping: Annotated[Optional[Path], typer.Option(  # noqa: UP045
        "--mapping", help="Your own mapping file instead of the shipped one.")] = None,
    pw_env: PasswordOpt = None,
) -> None:
    """Write the import files of a commercial CRM, a manifest and a validation report.

    Exit code 0 when every record passes the target's rules, 1 when the validation report
    lists errors, 2 when the export can't be made (an unmapped stage, a wrong mapping file).
    """
    with _as_exit():
        result = xlcrm.export(path, to, out, mapping=mapping, password=_secret(pw_env))
    for f in result.files:
        part = f" (part {f.part} of {f.parts})" if f.parts > 1 else ""
        console.print(f"{f.load_order}. {result.out / f.file}: {f.rows:,} {f.object}{part}")
    if result.issues:  # in one call, each line read as print reads it: thousands of lines
        console.print(*(console.render_str(  # cost more in calls than in rendering
            f"[{'red' if i.severity == 'error' else 'yellow'}]{i.severity:<7}[/] {i}")
            for i in result.issues), sep="\n")
    console.print(f"Manifest {result.manifest}; validation report {result.report}: "
                  f"{len(result.errors)} errors, {len(result.issues) - len(result.errors)} "
                  "warnings.")
    archive = f"; upload {result.archive}" if result.archive else ""
    console.print(f"Step by step: {result.guide}{archive}")
    raise typer.Exit(PROBLEMS if result.errors else DONE)


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="The CRM workbook to add the records to.")],
    file: Annotated[Path, typer.Argument(
        help="A CSV/TXT/XLSX lead file, or a folder written by xlcrm export.")],
    map_: Annotated[Optional[Path], typer.Option(  # noqa: UP045
        "--map", help="A saved column mapping (NAME.xlcrm-map.json) to use.")] = None,
    source: Annotated[Optional[str], typer.Option(  # noqa: UP045
        "--source", help="Lead source stamped on new records that have none.")] = None,
    dry_run: Annotated[bool, _flag(
        "--dry-run", help="Show what would happen; write nothing.")] = False,
    force: ForceOpt = False,
    pw_env: PasswordOpt = None,
) -> None:
    """Add or update leads from a file: matched by e-mail or phone, never duplicated.

    Prints the column mapping (saved beside the file for next time), each skipped row with its
    line and reason, and the counts added, updated, skipped.
    """
    with _as_exit():
        result = xlcrm.import_leads(path, file, mapping=map_, source=source, dry_run=dry_run,
                                    force=force, password=_secret(pw_env))
    for m in result.mapping:
        console.print(f"  {m}")
    if result.mapping_file:
        console.print(f"Mapping saved to {result.mapping_file} (reuse it with --map).")
    for row in result.rows:
        style = "yellow" if row.severity == "warning" else "dim"
        console.print(f"[{style}]{row.severity:<8}[/] {row}")
    console.print(f"{file.name}: {result.summary()}"
                  + (" (dry run: nothing written)" if dry_run else "")
                  + (f"; previous version kept as {result.backups[0]}" if result.backups
                     else ""))


@app.command()
def adopt(
    old: Annotated[Path, typer.Argument(help="The team's existing spreadsheet (only read).")],
    new: Annotated[Path, typer.Argument(help="The xlcrm workbook to write.")],
    preset: PresetOpt = "dealer",
    locale: LocaleOpt = "en",
    force: Annotated[bool, _flag("--force", help="Overwrite NEW if it exists.")] = False,
    map_: Annotated[Optional[Path], typer.Option(  # noqa: UP045
        "--map", help="A saved adoption mapping (OLD.xlcrm-adopt.json), changed where a "
                      "choice was wrong.")] = None,
    pw_env: PasswordOpt = None,
) -> None:
    """Turn an existing ad-hoc CRM spreadsheet into an xlcrm workbook.

    Prints where each sheet went with its column mapping and confidence, and everything that
    could not be placed (unmatched columns are kept as extra columns).
    """
    with _as_exit():
        result = xlcrm.adopt(old, new, preset=preset, locale=locale, force=force, mapping=map_,
                             password=_secret(pw_env))
    for sheet in result.sheets:
        if sheet.sheet is None:
            continue
        console.print(f'"{sheet.old}" (header on row {sheet.header_row}) -> {sheet.sheet}: '
                      f"{sheet.rows:,} records")
        for m in sheet.mapping:
            console.print(f"  {m}")
    for line in result.unplaced:
        console.print(f"[yellow]not placed[/] {line}")
    if result.mapping_file is not None:
        console.print(f"Every choice is saved in {result.mapping_file}: change one there and "
                      f"run again with --map {result.mapping_file.name} (and --force).")
    console.print(f"Wrote {result.path}: " + ", ".join(
        f"{n:,} {k}" for k, n in result.records.items()) + ".")


@app.command()
def clean(
    path: Annotated[Path, typer.Argument(help="The CRM workbook.")],
    apply: Annotated[bool, _flag(
        "--apply", help="Merge the duplicates marked in the Data quality sheet's Merge column.")]
    = False,
    undo: Annotated[bool, _flag(
        "--undo", help="Put back the workbook as it was before the last --apply.")] = False,
    output: FormatOpt = OutputFormat.text,
    today: Annotated[Optional[dt.datetime], typer.Option(  # noqa: UP045
        formats=["%Y-%m-%d"], help="Judge dead records as if today were this day.")] = None,
    dry_run: Annotated[bool, _flag("--dry-run", help="Find and show; write nothing.")]
    = False,
    force: ForceOpt = False,
    pw_env: PasswordOpt = None,
) -> None:
    """Find duplicates, unreachable, dead and unowned records; merge what a person marked.

    The findings go to the Data quality sheet. Put x in its Merge column beside the records
    of a group that are one, then run with --apply; --undo restores the pre-merge file.
    """
    if apply and undo:
        raise _fail("--apply and --undo can't be used together")
    with _as_exit(), _busy("Looking for duplicates and problems..."):
        result = xlcrm.clean(path, apply=apply, undo=undo, dry_run=dry_run, force=force,
                                today=_not_future(today, "--today"), password=_secret(pw_env))
    if output is OutputFormat.json:
        print(result.to_json())
        return
    from . import terminal

    terminal.print_clean(console, result, apply=apply, dry_run=dry_run)


@app.command()
def score(
    path: Annotated[Path, typer.Argument(help="The CRM workbook.")],
    output: FormatOpt = OutputFormat.text,
    today: Annotated[Optional[dt.datetime], typer.Option(  # noqa: UP045
        formats=["%Y-%m-%d"], help="Score as if today were this day (YYYY-MM-DD).")] = None,
    dry_run: Annotated[bool, _flag("--dry-run", help="Compute and show; write nothing.")]
    = False,
    force: ForceOpt = False,
    pw_env: PasswordOpt = None,
) -> None:
    """Score leads with the Settings rules (MQL, SQL) and rank customers by RFM."""
    import json

    with _as_exit(), _busy("Scoring leads and customers..."):
        result = xlcrm.score(path, today=_not_future(today, "--today"), dry_run=dry_run,
                             force=force, password=_secret(pw_env))
    # the open leads only: a lead already sold or lost is nobody's next call
    top = result.scores[result.scores["open"]].sort_values("score", ascending=False,
                                                          kind="stable")
    if output is OutputFormat.json:
        print(json.dumps({"file": str(result.path), "counts": result.counts(),
                          "unknown_rules": result.unknown_fields,
                          "scores": top.to_dict("records"),
                          "rfm": result.rfm.reset_index().to_dict("records")},
                         ensure_ascii=False, indent=2, default=str))
        return
    from . import terminal

    terminal.print_missing(console, result.missing, result.locale)
    terminal.print_score(console, result, top, dry_run=dry_run)


@app.command()
def assign(
    path: Annotated[Path, typer.Argument(help="The CRM workbook.")],
    apply: Annotated[bool, _flag(
        "--apply", help="Write the proposed owners into the data sheets.")] = False,
    output: FormatOpt = OutputFormat.text,
    force: ForceOpt = False,
    pw_env: PasswordOpt = None,
) -> None:
    """Propose owners for records without one, by the Settings territory rules; --apply
    writes them."""
    with _as_exit():
        result = xlcrm.assign(path, apply=apply, force=force, password=_secret(pw_env))
    if output is OutputFormat.json:
        print(result.to_json())
        return
    from . import terminal

    terminal.print_assign(console, result)


def exit_codes(command: str) -> dict[int, str]:
    """Return the exit codes ``command`` can end with, and what each means."""
    codes = (DONE, PROBLEMS, REFUSED) if command in FINDS_PROBLEMS else (DONE, REFUSED)
    return {code: EXIT_CODES[code] for code in codes}


def _document_exit_codes() -> None:
    """Append each command's exit codes to its ``--help``, from the one table above."""
    for info in app.registered_commands:
        name = info.name or (info.callback.__name__ if info.callback else "")
        info.epilog = "Exit codes: " + "; ".join(
            f"{code} {what}" for code, what in exit_codes(name).items()) + "."


register_privacy_commands(app, _as_exit, console)  # protect, unprotect, person, forget
register_copies_commands(app, _as_exit, console)  # diff, merge
_document_exit_codes()  # after the last command


def main() -> None:
    """Run the command line."""
    app()


if __name__ == "__main__":
    main()
