"""The ``xlcrm`` command: each command parses its arguments and calls one public function."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from . import __version__
from .assign import assign as assign_workbook
from .check import check as check_workbook
from .clean import clean as clean_workbook
from .demo import demo as make_demo
from .errors import UnreadableWorkbookError, WorkbookExistsError, XlcrmError
from .score import score as score_workbook
from .update import set_baseline
from .update import update as update_workbook
from .workbook import init as init_workbook
from .write import attach as attach_workbook

app = typer.Typer(
    help="A small team's CRM in an Excel workbook.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(highlight=False, soft_wrap=True)  # long paths stay on one line
err = Console(stderr=True, highlight=False, soft_wrap=True)

PresetOpt = Annotated[str, typer.Option("--preset", "-p", help="dealer or b2b.")]
LocaleOpt = Annotated[str, typer.Option("--locale", "-l", help="Language of labels: en, it.")]


def _fail(exc: XlcrmError, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc}")
    return typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        console.print(f"xlcrm {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[Optional[bool], typer.Option(  # noqa: UP045 - typer needs Optional
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
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Create a new, empty CRM workbook."""
    try:
        written = init_workbook(path, preset=preset, locale=locale, currency=currency,
                                force=force)
    except WorkbookExistsError as exc:
        raise _fail(exc) from None
    except XlcrmError as exc:
        raise _fail(exc, 2) from None
    console.print(f"Created {written} ({preset} preset, {locale}).")


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
) -> None:
    """Write a populated demo workbook with realistic data."""
    try:
        with console.status(f"Generating {leads:,} leads..."):
            written = make_demo(directory, preset=preset, leads=leads, seed=seed,
                                locale=locale, today=today.date() if today else None)
    except XlcrmError as exc:
        raise _fail(exc, 2) from None
    console.print(f"Wrote {written}: {leads:,} {'contacts' if preset == 'b2b' else 'leads'} "
                  "over half a year, already tallied. Open it and start on the Dashboard tab.")


@app.command()
def attach(
    path: Annotated[Path, typer.Argument(help="The team's existing .xlsx or .xlsm workbook.")],
    preset: PresetOpt = "dealer",
    locale: LocaleOpt = "en",
    force: Annotated[bool, typer.Option(
        "--force", help="Write even though Excel or LibreOffice has it open.")] = False,
    backups: Annotated[int, typer.Option(min=0, help="Earlier versions to keep.")] = 5,
) -> None:
    """Add xlcrm's Settings, data sheets and owned sheets to an existing workbook.

    The team's own sheets, charts, pivot tables, macros and styles stay exactly as they are.
    """
    try:
        result = attach_workbook(path, preset=preset, locale=locale, force=force,
                                 backups=backups)
    except UnreadableWorkbookError as exc:
        raise _fail(exc, 2) from None
    except XlcrmError as exc:
        raise _fail(exc) from None
    console.print(f"Attached the {preset} CRM sheets to {result.path}"
                  + (f" (previous version kept as {result.backup})" if result.backup else ""))


@app.command()
def update(
    path: Annotated[Path, typer.Argument(help="The CRM workbook.")],
    today: Annotated[Optional[dt.datetime], typer.Option(  # noqa: UP045
        formats=["%Y-%m-%d"], help="Run as if today were this day (YYYY-MM-DD).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Compute and show; write nothing.")]
    = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Write even though Excel or LibreOffice has it open.")] = False,
    backups: Annotated[int, typer.Option(min=0, help="Earlier versions to keep.")] = 5,
) -> None:
    """Run the weekly update: tally, baseline and dashboard, written into the owned sheets."""
    from rich.table import Table

    try:
        with console.status("Reading the workbook and counting the weeks..."):
            result = update_workbook(path, today=today.date() if today else None, force=force,
                                     dry_run=dry_run, backups=backups)
    except UnreadableWorkbookError as exc:
        raise _fail(exc, 2) from None
    except XlcrmError as exc:
        raise _fail(exc) from None
    table = Table(title=f"Week of {result.this_week:%Y-%m-%d}" if result.this_week is not None
                  else "No full week yet")
    for column in ("", "This week", "Last week", "Baseline"):
        table.add_column(column, justify="right" if column else "left")
    for name, now, before, base in result.summary():
        rate = name.endswith("rate") or name == "sales_per_lead"

        def show(v: object, rate: bool = rate) -> str:
            if v is None or v != v:  # None or NaN
                return "-"
            return f"{float(v):.1%}" if rate else f"{float(v):,.0f}"  # type: ignore[arg-type]
        table.add_row(name.replace("_", " "), show(now), show(before), show(base))
    console.print(table)
    changes = f"{result.stage_changes:,} stage change{'s' * (result.stage_changes != 1)}"
    if dry_run:
        console.print(f"Dry run: would rewrite {', '.join(result.sheets)} in {result.path} "
                      f"and add {changes} to the stage history; nothing was written")
    else:
        console.print(f"Updated {', '.join(result.sheets)} in {result.path}; "
                      f"{changes} added to the stage history")


@app.command()
def baseline(
    path: Annotated[Path, typer.Argument(help="The CRM workbook.")],
    start: Annotated[dt.datetime, typer.Option("--from", formats=["%Y-%m-%d"],
                                               help="First day of the baseline period.")],
    end: Annotated[dt.datetime, typer.Option("--to", formats=["%Y-%m-%d"],
                                             help="Last day of the baseline period.")],
    force: Annotated[bool, typer.Option(
        "--force", help="Write even though Excel or LibreOffice has it open.")] = False,
) -> None:
    """Re-baseline: measure every week against a new period; the old baselines are kept."""
    try:
        result = set_baseline(path, start.date(), end.date(), force=force)
    except UnreadableWorkbookError as exc:
        raise _fail(exc, 2) from None
    except (XlcrmError, ValueError) as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from None
    base = result.baseline
    console.print(f"Baseline {start:%Y-%m-%d} to {end:%Y-%m-%d}: {int(base['leads']):,} leads, "
                  f"contact rate {base['contact_rate']:.1%}, appointment rate "
                  f"{base['appointment_rate']:.1%}, sales per lead {base['sales_per_lead']:.1%}; "
                  f"{len(result.baselines)} baselines in the history")


class OutputFormat(str, Enum):
    """How ``check`` prints its findings."""

    text = "text"
    json = "json"


@app.command()
def check(
    path: Annotated[Path, typer.Argument(help="The CRM workbook to check.")],
    output: Annotated[OutputFormat, typer.Option("--format", "-f",
                                                 help="text for people, json for programs.")]
    = OutputFormat.text,
) -> None:
    """Check a CRM workbook: every problem as Sheet!Cell: what is wrong.

    Exit code 0 when there is no error, 1 when there are errors, 2 when the file can't be read.
    """
    try:
        result = check_workbook(path)
    except (UnreadableWorkbookError, XlcrmError) as exc:
        raise _fail(exc, 2) from None
    except Exception as exc:  # a bad file must never end in a traceback
        err.print(f"[bold red]error:[/] {path.name}: could not be read ({type(exc).__name__}: "
                  f"{exc}); if it opens in Excel, please report this as a bug in xlcrm")
        raise typer.Exit(2) from None
    if output is OutputFormat.json:
        print(result.to_json())
    else:
        for issue in result.issues:
            style = "red" if issue.severity == "error" else "yellow"
            console.print(f"[{style}]{issue.severity:<7}[/] {issue}", markup=True,
                          soft_wrap=True, highlight=False)
        console.print(("[green]" if result.ok else "[red]") + result.summary() + "[/]")
    raise typer.Exit(0 if result.ok else 1)


@app.command()
def clean(
    path: Annotated[Path, typer.Argument(help="The CRM workbook.")],
    apply: Annotated[bool, typer.Option(
        "--apply", help="Merge the duplicates marked in the Data quality sheet's Merge column.")]
    = False,
    undo: Annotated[bool, typer.Option(
        "--undo", help="Put back the workbook as it was before the last --apply.")] = False,
    output: Annotated[OutputFormat, typer.Option("--format", "-f",
                                                 help="text for people, json for programs.")]
    = OutputFormat.text,
    today: Annotated[Optional[dt.datetime], typer.Option(  # noqa: UP045
        formats=["%Y-%m-%d"], help="Judge dead records as if today were this day.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Find and show; write nothing.")]
    = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Write even though Excel or LibreOffice has it open.")] = False,
) -> None:
    """Find duplicates, unreachable, dead and unowned records; merge what a person marked.

    The findings go to the Data quality sheet. Put x in its Merge column beside the records
    of a group that are one, then run with --apply; --undo restores the pre-merge file.
    """
    if apply and undo:
        err.print("[bold red]error:[/] --apply and --undo can't be used together")
        raise typer.Exit(2)
    try:
        with console.status("Looking for duplicates and problems..."):
            result = clean_workbook(path, apply=apply, undo=undo, dry_run=dry_run, force=force,
                                    today=today.date() if today else None)
    except UnreadableWorkbookError as exc:
        raise _fail(exc, 2) from None
    except XlcrmError as exc:
        raise _fail(exc) from None
    if output is OutputFormat.json:
        print(result.to_json())
        return
    if result.undone:
        console.print(f"Restored {result.path} as it was before the merge"
                      + (f" (the merged version is kept as {result.saved.backup})"
                         if result.saved and result.saved.backup else ""))
        return
    for group in result.groups[:20]:
        console.print(f"[bold]{group.sheet}[/] {' = '.join(group.ids)} "
                      f"({group.score:.0%}): {'; '.join(sorted(set(group.reasons.values())))}")
    if len(result.groups) > 20:
        console.print(f"... and {len(result.groups) - 20:,} more groups on the Data quality sheet")
    for finding in result.findings[:20]:
        style = "red" if finding.severity == "error" else "yellow"
        console.print(f"[{style}]{finding.severity:<7}[/] {finding}")
    if len(result.findings) > 20:
        console.print(f"... and {len(result.findings) - 20:,} more on the Data quality sheet")
    console.print(", ".join(f"{n:,} {name.lower()}" for name, n in result.counts().items()))
    for line in result.skipped:
        console.print(f"[yellow]not merged:[/] {line}")
    if result.merged_groups:
        console.print(f"Merged {result.merged_groups:,} group"
                      f"{'s' * (result.merged_groups != 1)}; every merged value is on the "
                      "Merge log sheet; `xlcrm clean --undo` puts the file back")
    elif apply:
        console.print("Nothing marked to merge: put x in the Merge column of the Data quality "
                      "sheet beside the records that are one, then run --apply again")
    if dry_run:
        console.print(f"Dry run: would rewrite {', '.join(result.sheets)}; nothing was written")
    else:
        console.print(f"Wrote {', '.join(result.sheets)} in {result.path}")


@app.command()
def score(
    path: Annotated[Path, typer.Argument(help="The CRM workbook.")],
    output: Annotated[OutputFormat, typer.Option("--format", "-f",
                                                 help="text for people, json for programs.")]
    = OutputFormat.text,
    today: Annotated[Optional[dt.datetime], typer.Option(  # noqa: UP045
        formats=["%Y-%m-%d"], help="Score as if today were this day (YYYY-MM-DD).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Compute and show; write nothing.")]
    = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Write even though Excel or LibreOffice has it open.")] = False,
) -> None:
    """Score leads with the Settings rules (MQL, SQL) and rank customers by RFM."""
    import json

    try:
        with console.status("Scoring leads and customers..."):
            result = score_workbook(path, today=today.date() if today else None,
                                    dry_run=dry_run, force=force)
    except UnreadableWorkbookError as exc:
        raise _fail(exc, 2) from None
    except XlcrmError as exc:
        raise _fail(exc) from None
    top = result.scores.sort_values("score", ascending=False, kind="stable")
    if output is OutputFormat.json:
        print(json.dumps({"file": str(result.path), "counts": result.counts(),
                          "unknown_rules": result.unknown_fields,
                          "scores": top.to_dict("records"),
                          "rfm": result.rfm.reset_index().to_dict("records")},
                         ensure_ascii=False, indent=2, default=str))
        return
    for rec in top.head(10).itertuples():
        console.print(f"{rec.id:<12} {rec.score:>5g} {rec.grade:<3} {rec.why}")
    for line in result.unknown_fields:
        console.print(f"[yellow]rule not understood:[/] {line}; fix it in Settings")
    console.print(", ".join(f"{n:,} {name.replace('_', ' ')}"
                            for name, n in result.counts().items()))
    verb = "Would rewrite" if dry_run else "Wrote"
    console.print(f"{verb} {', '.join(result.sheets)} in {result.path}")


@app.command()
def assign(
    path: Annotated[Path, typer.Argument(help="The CRM workbook.")],
    apply: Annotated[bool, typer.Option(
        "--apply", help="Write the proposed owners into the data sheets.")] = False,
    output: Annotated[OutputFormat, typer.Option("--format", "-f",
                                                 help="text for people, json for programs.")]
    = OutputFormat.text,
    force: Annotated[bool, typer.Option(
        "--force", help="Write even though Excel or LibreOffice has it open.")] = False,
) -> None:
    """Propose owners for records without one, by the Settings territory rules; --apply
    writes them."""
    try:
        result = assign_workbook(path, apply=apply, force=force)
    except UnreadableWorkbookError as exc:
        raise _fail(exc, 2) from None
    except XlcrmError as exc:
        raise _fail(exc) from None
    if output is OutputFormat.json:
        print(result.to_json())
        return
    for rec in result.proposals.head(30).itertuples():
        console.print(f"{rec.cell:<16} {rec.record:<12} -> {rec.owner} "
                      f"({rec.territory or 'no territory'}; {rec.reason})")
    if len(result.proposals) > 30:
        console.print(f"... and {len(result.proposals) - 30:,} more")
    for line in result.unknown_rules:
        console.print(f"[yellow]territory rule not understood:[/] {line}; fix it in Settings")
    n = len(result.proposals)
    if result.applied:
        console.print(f"Assigned {n:,} record{'s' * (n != 1)} in {result.path}")
    elif n:
        console.print(f"{n:,} record{'s' * (n != 1)} without an owner; run with --apply to "
                      "assign them")
    else:
        console.print("Every record has an owner")


def main() -> None:
    """Run the command line."""
    app()


if __name__ == "__main__":
    main()
