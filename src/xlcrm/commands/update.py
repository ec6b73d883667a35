"""The weekly run: the library twin of ``xlcrm update``.

It reads the workbook, computes the week once (:func:`xlcrm.week.compute_week`: the tally by
activity week and cohort, by source and by rep, the baseline and the plans against it, the
stage history and the funnel), and writes xlcrm's owned sheets (Tally, Baseline, Funnel,
Dashboard, Stage history; each laid out by its module in :mod:`xlcrm.sheets`) through the
lossless writer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ArgumentError
from ..metrics.funnel import FunnelResult
from ..metrics.tally import week_start
from ..read import bulk_work, load
from ..sheets.baseline import baseline_sheet
from ..sheets.dashboard import dashboard_sheet
from ..sheets.funnel import funnel_sheet
from ..sheets.history import history_sheet
from ..sheets.tally import tally_sheet
from ..week import OWNED_READ, STEPS_OF_WEEK, WeekResult, columns_used, compute_week, tally_input
from ..xlsx.crypto import with_password
from ..xlsx.lock import locked_command
from ..xlsx.save import SaveResult
from ..xlsx.writer import CellChange, SheetBuilder, preview_owned_sheets, write_owned_sheets

__all__ = ["STEPS_OF_UPDATE", "UpdateResult", "columns_used", "set_baseline", "tally_input",
           "update"]


@dataclass
class UpdateResult:
    """What the weekly run computed (``week``) and wrote, unless it was a dry run.

    The week's tables are also at hand as attributes of their own (``result.weeks`` is
    ``result.week.weeks``), as before the week had a result of its own.
    """

    path: Path
    week: WeekResult
    history_sheet: str | None = None  # the Stage history's name in this workbook
    #: the data sheets with no records yet, and what they would feed (one line each)
    missing: list[str] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)
    saved: SaveResult | None = None
    #: a dry run's preview: every owned-sheet cell the run would change (the stage history's
    #: appended rows are :meth:`new_history`)
    changes: list[CellChange] = field(default_factory=list)
    #: the workbook's language (its locale code), for what is printed about the run
    locale: str = "en"

    @property
    def weeks(self) -> pd.DataFrame:
        """The tally by activity week."""
        return self.week.weeks

    @property
    def cohorts(self) -> pd.DataFrame:
        """The tally by lead cohort."""
        return self.week.cohorts

    @property
    def baseline(self) -> pd.Series:
        """The baseline's counts and rates."""
        return self.week.baseline

    @property
    def by_source(self) -> pd.DataFrame:
        """The totals of all leads by source."""
        return self.week.by_source

    @property
    def by_rep(self) -> pd.DataFrame:
        """The totals of all leads by rep."""
        return self.week.by_rep

    @property
    def this_week(self) -> pd.Timestamp | None:
        """The last full week, None when the tally has no such week."""
        return self.week.this_week

    @property
    def funnel(self) -> FunnelResult | None:
        """The funnel, None without stages."""
        return self.week.funnel

    @property
    def history(self) -> pd.DataFrame | None:
        """The stage history advanced to the day of the run."""
        return self.week.history

    @property
    def plans(self) -> pd.DataFrame:
        """Each plan against the baseline."""
        return self.week.plans

    @property
    def baselines(self) -> pd.DataFrame:
        """The history of baselines."""
        return self.week.baselines

    @property
    def stage_changes(self) -> int:
        """How many rows this run adds to the Stage history."""
        return self.week.stage_changes

    def new_history(self) -> pd.DataFrame:
        """The stage changes this run adds to the Stage history (record, from, to, day)."""
        return self.week.new_history()

    def summary(self) -> list[tuple[str, Any, Any, Any]]:
        """(measure, this week, last week, baseline) for the one-screen summary."""
        return self.week.summary()


#: What :func:`update` does, in order; it tells its ``progress`` callback as each one starts
#: (a run does the last or the one before it: a dry run compares, a run writes).
STEPS_OF_UPDATE = ("Reading the workbook", *STEPS_OF_WEEK, "Comparing with the workbook",
                   "Writing the owned sheets")


@with_password
@locked_command(lambda kw: not kw.get("dry_run"))
def update(path: str | Path, *, today: dt.date | None = None, force: bool = False,
           dry_run: bool = False, backups: int = 5, preview: bool = True,
           progress: Callable[[str], None] | None = None,
           password: str | None = None) -> UpdateResult:
    """Run the weekly update: compute the tally and baseline, rewrite the owned sheets.

    Args:
        path: the CRM workbook.
        today: the day of the run (default: today); its week is not full yet, so the
            dashboard shows the week before.
        force: write even though Excel or LibreOffice has the workbook open.
        dry_run: compute and return everything, write nothing; the result lists every
            owned-sheet cell the run would change (:attr:`UpdateResult.changes`) and the
            stage changes it would add (:meth:`UpdateResult.new_history`).
        backups: how many earlier versions to keep beside the workbook.
        preview: with ``dry_run``, compare with the workbook cell by cell (a caller that
            only wants the numbers skips it).
        progress: called with each step of :data:`STEPS_OF_UPDATE` as it starts.
        password: the workbook's password when it is encrypted; it is decrypted in
            memory only and every workbook written is encrypted with it.
    """
    with bulk_work():
        return _update(path, today=today or dt.date.today(), force=force, dry_run=dry_run,
                       backups=backups, preview=preview, progress=progress)


def _update(path: str | Path, *, today: dt.date, force: bool, dry_run: bool,
            backups: int, preview: bool, progress: Callable[[str], None] | None
            ) -> UpdateResult:
    step = progress or (lambda _: None)
    step(STEPS_OF_UPDATE[0])
    # the owned sheets it appends to are read back; of the data sheets, only what it counts
    crm = load(path, owned=OWNED_READ, columns=columns_used)
    crm.require_xlcrm()
    week = compute_week(crm, today=today, progress=step)
    # the week has read the Stage history's cells: 100k rows need not stay while the sheets
    # are laid out
    crm.owned_cells.pop("stage_history", None)
    result = UpdateResult(Path(path), week, locale=crm.schema.locale.code)
    result.missing = crm.missing_records(("lead", "activities", "deals"))
    names = {s.key: crm.claim_sheet(s.key) for s in crm.schema.owned_sheets}
    builders: dict[str, SheetBuilder] = {}
    if "tally" in names:
        builders[names["tally"]] = tally_sheet(week, crm)
    if "baseline" in names:
        builders[names["baseline"]] = baseline_sheet(week, crm)
    if "funnel" in names and week.funnel is not None:
        builders[names["funnel"]] = funnel_sheet(week, week.funnel, crm)
    if "dashboard" in names and "tally" in names:
        builders[names["dashboard"]] = dashboard_sheet(week, crm, tally_name=names["tally"])
    if "stage_history" in names and week.history is not None:
        builders[names["stage_history"]] = history_sheet(week.history, crm)
        result.history_sheet = names["stage_history"]
    result.sheets = list(builders)
    step(STEPS_OF_UPDATE[3] if dry_run else STEPS_OF_UPDATE[4])
    if dry_run and preview and builders:
        result.changes = preview_owned_sheets(path, builders)
    elif not dry_run and builders:
        result.saved = write_owned_sheets(path, builders, force=force, backups=backups,
                                          identities=crm.sheet_names)
    return result


@with_password
@locked_command(lambda kw: True)
def set_baseline(path: str | Path, start: dt.date, end: dt.date, *,
                 today: dt.date | None = None, force: bool = False,
                 backups: int = 5, password: str | None = None) -> UpdateResult:
    """Re-baseline: set the baseline period in Settings, then run the update, which adds the
    new baseline to the history kept on the Baseline sheet.

    Raises:
        ArgumentError: ``start`` is after ``end``, the period starts after today, or no lead
            arrived in the full weeks it spans (nothing to measure).
        TransplantError: the workbook's Settings have no Options table with the baseline rows.

    Args:
        password: the workbook's password when it is encrypted; it is decrypted in
            memory only and every workbook written is encrypted with it.
    """
    from ..errors import TransplantError
    from ..xlsx.bounds import bounded_reader
    from ..xlsx.writer import patch_sheet

    if start > end:
        raise ArgumentError(f"the baseline can't start ({start}) after it ends ({end})")
    crm = load(path)
    crm.require_xlcrm()
    day = today or dt.date.today()
    if start > day:
        raise ArgumentError(f"the baseline period {start} to {end} is in the future (today is "
                            f"{day}): it has nothing to measure yet; choose weeks that are over")
    data = tally_input(crm)
    first_day = str(crm.settings.options.get("week_start", "monday"))
    weeks = week_start(data.steps["lead"], first_day)
    current = pd.Timestamp(week_start(day, first_day))
    chosen = weeks[(weeks >= pd.Timestamp(start)) & (weeks <= pd.Timestamp(end))
                   & (weeks < current)]
    if chosen.empty:
        raise ArgumentError(f"no lead arrived in the full weeks starting {start} to {end}: a "
                            "baseline over them would measure nothing; choose weeks with leads")
    name = crm.sheet_names.get("settings")
    with bounded_reader(Path(path)) as book:
        grid = book.get_sheet_by_name(name).to_python(skip_empty_area=False) if name else []
    cells: dict[tuple[int, int], Any] = {}
    for r, row in enumerate(grid):
        for c, value in enumerate(row[:-2] if len(row) > 2 else []):
            if value in ("baseline_from", "baseline_to"):
                cells[(r, c + 2)] = start if value == "baseline_from" else end
    if len(cells) != 2 or name is None:
        raise TransplantError(f"{Path(path).name}: Settings has no Options rows baseline_from "
                              "and baseline_to; add them (key, setting, value) and try again")
    patch_sheet(path, name, cells, force=force, backups=backups, identities=crm.sheet_names)
    return update(path, today=today, force=force, backups=backups)
