"""How results read in a terminal: the tables and lines the command line prints.

Each function takes a result of the library and a rich console; nothing here computes or
reads a workbook, so what a Python user gets from :mod:`xlcrm` is what the terminal shows.
The words are the workbook's language (the ``terminal_*`` words of the locale file's
``[owned]``, the measures and agenda words of its ``[report]``), numbers and dates as that
language writes them (Babel, as the report does).
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .commands.agenda import AgendaResult
from .commands.assign import AssignResult
from .commands.clean import CleanResult
from .commands.diff import DiffResult
from .commands.merge import MergeResult
from .commands.score import ScoreResult
from .commands.update import UpdateResult
from .errors import ArgumentError
from .metrics.agenda import SECTION_TITLES, UNASSIGNED
from .metrics.baseline import rate_interval
from .metrics.quality import CHECK_NAMES
from .metrics.tally import RATES
from .reporting.data import WeeklyReport
from .reporting.words import ReportText, report_text
from .schema import load_locale, load_schema
from .sheets.style import figure_text
from .sheets.words import OwnedText, owned_text_of

__all__ = ["baseline_line", "print_agenda", "print_assign", "print_clean", "print_demo",
           "print_diff", "print_merge", "print_missing", "print_report", "print_score",
           "print_update_changes", "print_update_done", "print_update_summary", "print_written",
           "update_json"]


def baseline_line(result: UpdateResult, start: dt.date, end: dt.date) -> str:
    """One line on a new baseline: its leads per week and rates, each rate with the range it
    likely lies in (95 %), so a small baseline shows it is small."""
    base = result.baseline
    weeks = max(int(base["weeks"]), 1)

    def rate(key: str) -> str:
        num, den = RATES[key]
        low, high = rate_interval(float(base[f"cohort_{num}"]), float(base[f"cohort_{den}"]))
        return (f"{key.replace('_', ' ')} {figure_text(base[key], 'rate')} (likely "
                f"{figure_text(low, 'rate')} to {figure_text(high, 'rate')})")
    return (f"Baseline {start:%Y-%m-%d} to {end:%Y-%m-%d}: {int(base['leads']):,} leads over "
            f"{weeks} weeks ({figure_text(base['leads'] / weeks, 'per_week')} per week), "
            f"{rate('contact_rate')}, {rate('appointment_rate')}, {rate('sales_per_lead')}; "
            f"{len(result.baselines)} baselines in the history")


def _words(code: str) -> tuple[OwnedText, ReportText]:
    return owned_text_of(code), report_text(code)


def print_update_summary(console: Console, result: UpdateResult) -> None:
    """Print the week's summary table: this week, last week and the baseline; then what is
    missing for the figures to mean something (a sheet with no records yet)."""
    print_missing(console, result.missing, result.locale)
    words, numbers = _words(result.locale)
    if not result.summary():
        console.print(words["terminal_no_full_week"])
        return
    table = Table(title=words.get("terminal_week_of", date=f"{result.this_week:%Y-%m-%d}")
                  if result.this_week is not None else words["terminal_no_full_week"])
    for column in ("", words["terminal_this_week"], words["terminal_last_week"],
                   words["terminal_baseline"]):
        table.add_column(column, justify="right" if column else "left")
    for name, now, before, base in result.summary():
        if name.endswith("rate") or name == "sales_per_lead":
            shown = [numbers.pct(v) for v in (now, before, base)]
        else:  # the baseline is a count per week, with its decimal
            shown = [numbers.count(now), numbers.count(before), numbers.decimal(base)]
        table.add_row(numbers.words.get(f"measure_{name}", name.replace("_", " ")), *shown)
    console.print(table)


def print_update_done(console: Console, result: UpdateResult, *, dry_run: bool) -> None:
    """Print the last line of an update: what was (or would be) rewritten."""
    words, numbers = _words(result.locale)
    key = "terminal_dry_run" if dry_run else "terminal_updated"
    console.print(words.get(key, sheets=", ".join(result.sheets), path=result.path,
                            count=numbers.count(result.stage_changes),
                            changes=words.plural("word_stage_change", result.stage_changes)),
                  markup=False, highlight=False)


def print_report(console: Console, report: WeeklyReport) -> None:
    """Print the report's title, its week and its headline figures."""
    numbers = report_text(report.locale)
    console.print(f"[bold]{escape(report.title)}[/] ("
                  f"{numbers.span(report.week_start, report.week_end)})")
    rows = [(rec.label, numbers.pct(rec.this_week) if rec.kind == "rate"
             else numbers.count(rec.this_week))
            for rec in report.summary.itertuples(index=False)
            if rec.key in ("leads", "contacts", "sales", "contact_rate", "close_rate")]
    width = max((len(label) for label, _ in rows), default=0)
    for label, value in rows:
        console.print(f"  {label:<{width}} {value:>8}", markup=False, highlight=False)


def print_demo(console: Console, path: object, *, preset: str, locale: str, leads: int,
               report: str | None) -> None:
    """Print what the demo wrote, in its language."""
    schema = load_schema(preset, locale)
    words, numbers = _words(schema.locale.code)
    records = schema.sheet("contacts" if schema.preset == "b2b" else "leads").name
    line = words.get("terminal_demo", path=path, records=records, count=numbers.count(leads),
                     dashboard=schema.sheet("dashboard").name)
    if report:
        line += " " + words.get("terminal_demo_report", report=report)
    console.print(line, markup=False, highlight=False)


def print_written(console: Console, code: str, path: object, *, agenda_sheet: bool = False
                  ) -> None:
    """Print that a file was written (or the Agenda sheet into a workbook)."""
    words = owned_text_of(code)
    console.print(words.get("terminal_wrote_agenda" if agenda_sheet else "terminal_wrote",
                            path=path), markup=False, highlight=False)


def print_missing(console: Console, missing: list[str], code: str = "en") -> None:
    """Print, one line each, the data sheets with no records yet and what they feed."""
    note = escape(owned_text_of(code)["terminal_note"])
    for line in missing:
        console.print(f"[yellow]{note}:[/] {escape(line)}")


def print_update_changes(console: Console, result: UpdateResult, shown: int) -> None:
    """A dry run's preview: per owned sheet, how many cells change and the first of them;
    then the stage changes the history would gain."""
    by_sheet: dict[str, list[str]] = {}
    for change in result.changes:
        by_sheet.setdefault(change.sheet, []).append(str(change))
    for sheet in result.sheets:
        lines = by_sheet.get(sheet, [])
        if sheet == result.history_sheet and not lines:
            continue  # its new rows are listed below
        console.print(f"[bold]{sheet}[/]: " + (f"{len(lines):,} cell{'s' * (len(lines) != 1)} "
                                               "would change" if lines else "no change"))
        for line in lines[:shown]:
            console.print(f"  {line}", markup=False)
        if len(lines) > shown:
            console.print(f"  ... and {len(lines) - shown:,} more")
    new = result.new_history()
    if result.history_sheet is not None:
        console.print(f"[bold]{result.history_sheet}[/]: {len(new):,} row{'s' * (len(new) != 1)} "
                      "would be added")
        for rec in new.head(shown).itertuples(index=False):
            before = rec.from_stage or "(new)"
            console.print(f"  {rec.record}: {before} -> {rec.to_stage} "
                          f"({rec.changed_on:%Y-%m-%d})", markup=False)
        if len(new) > shown:
            console.print(f"  ... and {len(new) - shown:,} more")


def update_json(result: UpdateResult, dry_run: bool) -> str:
    """Return everything the weekly run found and changed, as JSON for programs."""
    def plain(v: object) -> object:
        if v is None or (isinstance(v, float) and v != v):
            return None
        if isinstance(v, (dt.date, dt.datetime)):
            return v.isoformat()
        return v.item() if hasattr(v, "item") else v  # numpy numbers

    new = result.new_history()
    return json.dumps({
        "path": str(result.path), "dry_run": dry_run,
        "week": None if result.this_week is None else f"{result.this_week:%Y-%m-%d}",
        "summary": [{"measure": m, "this_week": plain(a), "last_week": plain(b),
                     "baseline": plain(c)} for m, a, b, c in result.summary()],
        "sheets": result.sheets,
        "changes": [{"sheet": c.sheet, "cell": c.cell, "before": plain(c.before),
                     "after": plain(c.after)} for c in result.changes],
        "stage_changes": [{"record": str(r.record), "from": r.from_stage or None,
                           "to": r.to_stage, "on": plain(r.changed_on)}
                          for r in new.itertuples(index=False)],
    }, indent=2, ensure_ascii=False)


def print_agenda(console: Console, result: AgendaResult, day: dt.date) -> None:
    """Print one table per salesperson: each section's first ten rows."""
    print_missing(console, result.missing, result.locale)
    words, numbers = _words(result.locale)
    if not result.reps:
        console.print(numbers["agenda_nothing"])
    for name in result.reps:
        shown = words["agenda_unassigned"] if name == UNASSIGNED else name
        table = Table(title=f"{shown}: {words.long_date(day)}", title_justify="left",
                      expand=False)
        for column in ("", numbers["agenda_when"], numbers["agenda_client"],
                       numbers["agenda_what"], numbers["agenda_last"]):
            table.add_column(column, overflow="fold")
        for key in SECTION_TITLES:
            title = numbers[f"agenda_{key}"]
            rows = result.section(name, key)
            for i, rec in enumerate(rows.itertuples(index=False)):
                if i == 10:
                    table.add_row("", "", words.get("terminal_more", count=len(rows) - 10),
                                  "", "")
                    break
                when = "" if rec.when != rec.when or rec.when is None else (
                    f"{rec.when:%H:%M}" if key == "due" else numbers.date(rec.when, "d MMM"))
                last = "" if rec.last_date != rec.last_date or rec.last_date is None else \
                    f"{numbers.date(rec.last_date, 'd MMM')}: {rec.last_what}"
                table.add_row(title if i == 0 else "", when, f"{rec.client} ({rec.record})",
                              str(rec.what), last)
        console.print(table)


def print_clean(console: Console, result: CleanResult, *, apply: bool, dry_run: bool) -> None:
    """Print the duplicate groups and findings (the first twenty of each) and what was done."""
    if result.undone:
        console.print(f"Restored {result.path} as it was before the merge"
                      + (f" (the merged version is kept as {result.saved.backup})"
                         if result.saved and result.saved.backup else ""))
        return
    print_missing(console, result.missing, result.locale)
    words, numbers = _words(result.locale)
    for group in result.groups[:20]:
        console.print(f"[bold]{escape(result.names.get(group.sheet, group.sheet))}[/] "
                      f"{' = '.join(group.ids)} ({numbers.whole_pct(group.score)}): "
                      f"{escape('; '.join(sorted(set(group.reasons.values()))))}")
    quality = result.names.get("data_quality", "Data quality")
    if len(result.groups) > 20:
        console.print(words.get("terminal_more_on_quality", count=numbers.count(
            len(result.groups) - 20), sheet=quality), markup=False)
    for finding in result.findings[:20]:
        style = "red" if finding.severity == "error" else "yellow"
        severity = words.words.get(f"quality_severity_{finding.severity}", finding.severity)
        console.print(f"[{style}]{severity:<7}[/] {escape(str(finding))}")
    if len(result.findings) > 20:
        console.print(words.get("terminal_more_on_quality", count=numbers.count(
            len(result.findings) - 20), sheet=quality), markup=False)
    checks = {name: check for check, name in CHECK_NAMES.items()}
    console.print(", ".join(
        f"{numbers.count(n)} " + words.words.get(
            "quality_check_" + checks.get(name, "duplicate-groups").replace("-", "_"),
            name).lower() for name, n in result.counts().items()), markup=False)
    for line in result.skipped:
        console.print(f"[yellow]not merged:[/] {line}")
    if result.dates_converted:
        n = len(result.dates_converted)
        console.print(f"Made {n:,} date{'s' * (n != 1)} typed as text real dates "
                      f"({', '.join(result.dates_converted[:5])}{' ...' if n > 5 else ''}); "
                      "each is on the Merge log sheet; `xlcrm clean --undo` puts the file back",
                      markup=False, highlight=False)
    if result.merged_groups:
        console.print(f"Merged {result.merged_groups:,} group"
                      f"{'s' * (result.merged_groups != 1)}; every merged value is on the "
                      "Merge log sheet; `xlcrm clean --undo` puts the file back")
    elif apply:
        console.print("Nothing marked to merge: put x in the Merge column of the Data quality "
                      "sheet beside the records that are one, then run --apply again")
    if dry_run:
        console.print(words.get("terminal_clean_dry_run", sheets=", ".join(result.sheets)),
                      markup=False)
    else:
        console.print(words.get("terminal_wrote_sheets", sheets=", ".join(result.sheets),
                                path=result.path), markup=False, highlight=False)


def print_score(console: Console, result: ScoreResult, top: pd.DataFrame, *,
                dry_run: bool) -> None:
    """Print the ten best open leads, the rules not understood, the counts and what was
    written, in the workbook's language."""
    words, numbers = _words(result.locale)
    for rec in top.head(10).itertuples():
        console.print(f"{rec.id:<12} {rec.name[:24]:<24} {rec.score:>5g} {rec.grade:<3} "
                      f"{rec.why}", markup=False, highlight=False)
    for line in result.unknown_fields:
        console.print(words.get("terminal_rule_not_understood", rule=line), style="yellow",
                      markup=False)
    segments = owned_text_of(result.locale)
    loc = load_locale(result.locale)
    shown = []
    for name, n in result.counts().items():
        label = (words["terminal_open_leads"] if name == "open leads" else name
                 if name in ("SQL", "MQL") else loc.value("rfm_segments", name))
        shown.append(f"{numbers.count(n)} {label}")
    console.print(", ".join(shown), markup=False, highlight=False)
    console.print(segments.get("terminal_would_write" if dry_run else "terminal_wrote_sheets",
                               sheets=", ".join(result.sheets), path=result.path),
                  markup=False, highlight=False)


def print_assign(console: Console, result: AssignResult) -> None:
    """Print the proposed owners (the first 30), rules not understood, and what was done."""
    words, numbers = _words(result.locale)
    for rec in result.proposals.head(30).itertuples():
        console.print(f"{rec.cell:<16} {rec.record:<12} -> {rec.owner} "
                      f"({rec.territory or words['assign_no_territory']}; {rec.reason})",
                      markup=False, highlight=False)
    if len(result.proposals) > 30:
        console.print(words.get("assign_more", count=numbers.count(len(result.proposals) - 30)))
    for line in result.unknown_rules:
        console.print(words.get("assign_rule_not_understood", rule=line), style="yellow",
                      markup=False)
    n = len(result.proposals)
    records = words.plural("word_record", n)
    if result.applied:
        console.print(words.get("assign_done", count=numbers.count(n), records=records,
                                path=result.path), markup=False, highlight=False)
    elif n:
        console.print(words.get("assign_proposed", count=numbers.count(n), records=records),
                      markup=False, highlight=False)
    else:
        console.print(words["assign_all_owned"])


def print_diff(console: Console, result: DiffResult, fmt: str) -> None:
    """Print what changed: as text (a line per record and per field), JSON or an HTML page.

    Raises:
        ArgumentError: ``fmt`` is not text, json or html.
    """
    if fmt not in ("text", "json", "html"):
        raise ArgumentError(f"--format {fmt}: use text, json or html")
    if fmt != "text":
        print(result.to_json() if fmt == "json" else result.to_html())
        return
    for line in result.lines():
        console.print(escape(line))
    console.print(escape(result.summary()))


def print_merge(console: Console, result: MergeResult, fmt: str) -> None:
    """Print a merge: its plan (a dry run), each conflict and how it was settled, the summary."""
    if fmt == "json":
        print(result.to_json())
        return
    if result.dry_run:
        for step in result.steps:
            console.print(escape(str(step)))
    for c in result.conflicts:
        console.print(f"[yellow]conflict[/] {escape(c.sheet)} {escape(c.record)} "
                      f"{escape(c.field)}: MINE {escape(str(c.mine))}, THEIRS "
                      f"{escape(str(c.theirs))}; {c.kept.upper()} kept ({escape(c.why)})")
    console.print(escape(result.summary()))
