"""Write a populated demo workbook, updated, cleaned, scored and reported: ``xlcrm demo``.

The records come from :func:`xlcrm.demodata.generate_demo` (the same seed, preset, size and date
always give the same workbook); this command writes them into a new workbook, then runs the
weekly update, ``clean``, ``score`` and the report on it as a team's week would.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from ..demodata import generate_demo
from ..forked import give_back_memory, one_process
from ..schema import load_schema
from ..sheets.workbook import write_new_workbook
from ..xlsx.crypto import with_password
from ..xlsx.save import prepare_target, safe_save

if TYPE_CHECKING:
    from ..crm import Crm

__all__ = ["demo"]


@with_password
def demo(directory: str | Path = "xlcrm-demo", *, preset: str = "dealer", leads: int = 1000,
         seed: int = 7, locale: str = "en", today: dt.date | None = None,
         run_update: bool = True, run_report: bool | None = None,
         force: bool = False, password: str | None = None) -> Path:
    """Write a populated demo workbook into ``directory`` and return its path.

    The file is ``DIRECTORY/demo-PRESET.xlsx``; an earlier demo of the same name is refused,
    as ``init`` refuses an existing workbook, unless ``force`` is true (it is then kept as a
    backup). The workbook opens on its Dashboard.
    Unless ``run_update`` is false, the weekly update then fills its Tally, Baseline and
    Dashboard, ``clean`` and ``score`` fill Data quality, Lead scores and RFM, and (unless
    ``run_report`` is false) the weekly report of the last full week is written beside it:
    ``demo-PRESET-report-YYYY-Www.xlsx`` and ``.html``. See
    :func:`generate_demo` for the other arguments.

    Args:
        password: the workbook's password when it is encrypted; it is decrypted in
            memory only and every workbook written is encrypted with it.
    """
    preset = load_schema(preset, locale).preset  # unknown: refused before any work; any case
    locale = locale.strip().casefold()
    target = prepare_target(Path(directory) / f"demo-{preset}.xlsx", force=force)
    # the records are let go once written: the commands below read the workbook back
    today = _write_demo(target, preset, leads, seed, locale, today, force)
    if run_update:
        _week_of(target, today, run_report is None or run_report)
    return target


def _week_of(target: Path, today: dt.date, run_report: bool) -> None:
    """Run the team's week on the new workbook: update, clean, score and the report.

    The data sheets are read once and lent to each command (:func:`held_reading`): none of
    them changes a data sheet or Settings, only its owned sheets, which each reads back from
    the file as the one before left it. So each step is the command itself, as a team runs it.
    """
    import gc

    from ..read import bulk_work, load

    _give_back_memory()
    with bulk_work():
        crm = load(target)  # each command reads back the owned sheets it asks for
    # the reading lives through every step: the collector need not walk its millions of
    # objects again at each step's end
    gc.freeze()
    try:
        _steps(target, today, crm, run_report)
    finally:
        gc.unfreeze()
    del crm
    _give_back_memory()


def _steps(target: Path, today: dt.date, crm: Crm, run_report: bool) -> None:
    """Update, clean, score and report ``target``, each lent the reading ``crm``."""
    from ..read import held_reading
    from .clean import clean
    from .score import score
    from .update import update

    # one process: the steps share the reading, and a forked child's copy of the pages it
    # touches would come on top of it
    with held_reading(crm), one_process():
        update(target, today=today, backups=0)
        _give_back_memory()
        clean(target, today=today, backups=0)  # the planted duplicates, listed
        _give_back_memory()
        score(target, today=today, backups=0)
        if run_report:
            from .report import report

            _give_back_memory()
            report(target, target.parent, html=True, today=today)


def _give_back_memory() -> None:
    """Hand the memory the last step freed back to the system before the next step: each
    step of a 100k-lead demo peaks at its own size beside the reading they share, not on top
    of what the steps before it left in the allocator."""
    import gc

    gc.collect()
    give_back_memory()


def _write_demo(target: Path, preset: str, leads: int, seed: int, locale: str,
                today: dt.date | None, force: bool) -> dt.date:
    """Generate the records and write the new workbook; return the demo's today."""
    data = generate_demo(preset, leads=leads, seed=seed, locale=locale, today=today)
    safe_save(target, lambda tmp: write_new_workbook(
        tmp, data.schema, data.data, options=data.options, settings_rows=data.settings_rows,
        active="dashboard"), force=force, backups=1 if force else 0)
    return data.today
