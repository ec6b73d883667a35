"""xlcrm's benchmark harness: one line per figure, ``name<TAB>value<TAB>unit``.

Run from the repository (after ``pip install -e .``):

    python benchmarks/bench.py                  # every figure at 1k, 10k and 100k leads
    python benchmarks/bench.py --leads 10000    # one size
    python benchmarks/bench.py --only init      # figures whose name starts with "init"

Every timing comes with a reference measured in the same run on the same machine, and the
ratio between them, so figures from different machines compare. Each size runs in its own
process, so its peak memory is its own. Later features add their figures in ``FIGURES``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

Figure = tuple[str, float, str]
TODAY = dt.date(2026, 11, 23)


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _peak_rss_mib() -> float:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 2**20


def _calamine_lists(path: Path, names: list[str]) -> int:
    """The reference read: python-calamine turning the named sheets into Python lists."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    return sum(len(book.get_sheet_by_name(n).to_python(skip_empty_area=False)) for n in names)


def demo_figures(leads: int, preset: str, workdir: Path) -> Iterator[Figure]:
    """Generating and writing the demo; reference: python-calamine reading the same file."""
    from python_calamine import CalamineWorkbook

    from xlcrm import generate_demo
    from xlcrm.sheets.workbook import write_new_workbook

    tag = f"{preset}_{leads // 1000}k"
    gen_s, data = _timed(lambda: generate_demo(preset, leads=leads, seed=1, today=TODAY))
    assert hasattr(data, "data")
    path = workdir / f"demo-{tag}.xlsx"
    write_s, _ = _timed(lambda: write_new_workbook(path, data.schema, data.data,
                                                   options=data.options,
                                                   settings_rows=data.settings_rows))
    cells = sum(len(cols) * data.rows(sheet) for sheet, cols in data.data.items())

    def read_all() -> int:
        book = CalamineWorkbook.from_path(str(path))
        return sum(len(book.get_sheet_by_name(n).to_python()) for n in book.sheet_names)

    read_s, _ = _timed(read_all)
    total = gen_s + write_s
    yield f"demo_generate_{tag}", gen_s, "s"
    yield f"demo_write_{tag}", write_s, "s"
    yield f"demo_total_{tag}", total, "s"
    yield f"demo_activities_{tag}", float(data.rows("activities")), "rows"
    yield f"demo_cells_{tag}", float(cells), "cells"
    yield f"demo_file_size_{tag}", path.stat().st_size / 2**20, "MiB"
    yield f"ref_calamine_read_{tag}", read_s, "s"
    yield f"demo_total_vs_calamine_read_{tag}", total / read_s, "ratio"
    yield f"demo_peak_memory_{tag}", _peak_rss_mib(), "MiB"


def load_figures(leads: int, workdir: Path) -> Iterator[Figure]:
    """``load`` on the demo workbook; reference: python-calamine reading the same sheets into
    Python lists (the issue's target is a ratio within 1.3)."""

    import xlcrm

    path = xlcrm.demo(workdir, leads=leads, seed=1, today=TODAY)
    schema = xlcrm.load_schema("dealer")
    names = [s.name for s in schema.data_sheets] + [schema.settings_sheet.name]

    tag = f"{leads // 1000}k"
    ref = min(_timed(lambda: _calamine_lists(path, names))[0] for _ in range(3))
    ours = min(_timed(lambda: xlcrm.load(path))[0] for _ in range(3))
    yield f"ref_calamine_lists_{tag}", ref, "s"
    yield f"load_{tag}", ours, "s"
    yield f"load_vs_calamine_lists_{tag}", ours / ref, "ratio"
    check_s = min(_timed(lambda: xlcrm.check(path, today=TODAY))[0] for _ in range(2))
    yield f"check_{tag}", check_s, "s"
    yield f"check_vs_calamine_lists_{tag}", check_s / ref, "ratio"
    yield f"load_peak_memory_{tag}", _peak_rss_mib(), "MiB"


def update_figures(leads: int, workdir: Path) -> Iterator[Figure]:
    """Rewriting the owned sheets of the demo workbook with the lossless writer; reference:
    openpyxl ``load_workbook`` + ``save`` of the same file (the issue's target: 10x faster)."""
    import openpyxl
    import xlsxwriter
    from xlsxwriter.worksheet import Worksheet

    from xlcrm.xlsx.writer import write_owned_sheets

    # made in another process, so this one's peak memory is the update's own
    subprocess.run([sys.executable, "-m", "xlcrm.cli", "demo", str(workdir), "--leads",
                    str(leads), "--seed", "1", "--today", TODAY.isoformat()], check=True,
                   capture_output=True)
    path = workdir / "demo-dealer.xlsx"

    def owned(book: xlsxwriter.Workbook, ws: Worksheet) -> None:
        for r in range(60):  # a tally's worth of weeks
            ws.write_row(r, 0, [f"2026-W{r % 52 + 1:02d}", r, r * 0.5, r / 60])
        chart = book.add_chart({"type": "line"})
        chart.add_series({"values": f"='{ws.name}'!$B$1:$B$60"})
        ws.insert_chart("F2", chart)

    tag = f"{leads // 1000}k"
    ours = min(_timed(lambda: write_owned_sheets(path, {"Tally": owned, "Dashboard": owned},
                                                 backups=1))[0] for _ in range(2))
    peak = _peak_rss_mib()
    ref_s, _ = _timed(lambda: openpyxl.load_workbook(path).save(workdir / "openpyxl.xlsx"))
    yield f"update_owned_{tag}", ours, "s"
    yield f"ref_openpyxl_load_save_{tag}", ref_s, "s"
    yield f"update_owned_speedup_vs_openpyxl_{tag}", ref_s / ours, "ratio"
    yield f"update_owned_peak_memory_{tag}", peak, "MiB"


def weekly_figures(leads: int, workdir: Path) -> Iterator[Figure]:
    """``xlcrm update`` (the weekly run) against python-calamine reading the same sheets into
    Python lists (target: within 1.5x) and against the same tally done with pandas + openpyxl:
    read the sheets, count, write a Tally sheet, save (target: at least 10x slower than ours)."""
    import openpyxl
    import pandas as pd

    from xlcrm.metrics.tally import TallyInput, activity_weeks

    subprocess.run([sys.executable, "-m", "xlcrm.cli", "demo", str(workdir), "--leads",
                    str(leads), "--seed", "1", "--today", TODAY.isoformat()], check=True,
                   capture_output=True)
    path = workdir / "demo-dealer.xlsx"
    # The reference reads every sheet the update reads, each into Python lists: the data
    # sheets and Settings, which load types, and the owned sheets the update reads back to
    # append to (Stage history, Baseline). The big data sheets alone, the reference of
    # earlier runs, are timed too, so figures compare across versions.
    data_names = ["Leads", "Activities", "Tasks", "Settings"]
    names = [*data_names, "Plans", "Stage history", "Baseline"]

    from xlcrm.commands.update import update

    tag = f"{leads // 1000}k"
    # one update first, in this fresh process: its peak memory is what a user's run needs
    # (a process that has already read the workbook keeps some of that memory)
    first = _timed(lambda: update(path, today=TODAY, backups=0))[0]
    peak = _peak_rss_mib()
    ref = min(_timed(lambda: _calamine_lists(path, names))[0] for _ in range(2))
    data_ref = min(_timed(lambda: _calamine_lists(path, data_names))[0] for _ in range(2))
    ours = min(first, _timed(lambda: update(path, today=TODAY, backups=0))[0])

    def pandas_openpyxl() -> None:
        frames = pd.read_excel(path, sheet_name=["Leads", "Activities"], engine="openpyxl")
        leads_frame = frames["Leads"]
        steps = pd.DataFrame({"lead": leads_frame["Created"],
                              "contact": leads_frame["Two-way contact"],
                              "appointment": leads_frame["Appointment set"],
                              "show": leads_frame["Appointment shown"],
                              "sale": leads_frame["Sold"]}).apply(pd.to_datetime)
        weeks = activity_weeks(TallyInput(steps), today=TODAY)
        book = openpyxl.load_workbook(path)
        sheet = book["Tally"]
        for r, (week, row) in enumerate(weeks.iterrows(), 5):
            sheet.cell(r, 1, week.to_pydatetime())
            for c, value in enumerate(row.tolist(), 2):
                sheet.cell(r, c, None if value != value else value)
        book.save(workdir / "openpyxl-tally.xlsx")

    slow = _timed(pandas_openpyxl)[0]
    yield f"ref_calamine_lists_{tag}", ref, "s"
    yield f"weekly_update_{tag}", ours, "s"
    yield f"weekly_update_vs_calamine_lists_{tag}", ours / ref, "ratio"
    yield f"ref_calamine_data_sheets_{tag}", data_ref, "s"
    yield f"weekly_update_vs_calamine_data_sheets_{tag}", ours / data_ref, "ratio"
    yield f"ref_pandas_openpyxl_tally_{tag}", slow, "s"
    yield f"weekly_update_speedup_vs_pandas_openpyxl_{tag}", slow / ours, "ratio"
    yield f"weekly_update_peak_memory_{tag}", peak, "MiB"


def init_figures(workdir: Path) -> Iterator[Figure]:
    """Writing an empty workbook; reference: an empty XlsxWriter workbook of one sheet."""
    import xlsxwriter

    import xlcrm

    def empty() -> None:
        book = xlsxwriter.Workbook(str(workdir / "empty.xlsx"))
        book.add_worksheet()
        book.close()

    ref_s = min(_timed(empty)[0] for _ in range(5))
    yield "ref_empty_xlsxwriter_book", ref_s * 1000, "ms"
    for preset in xlcrm.available_presets():
        path = workdir / f"init-{preset}.xlsx"
        best = min(_timed(lambda p=path, pr=preset: xlcrm.init(  # type: ignore[misc]
            p, preset=pr, force=True))[0] for _ in range(5))
        yield f"init_time_{preset}", best * 1000, "ms"
        yield f"init_time_{preset}_vs_empty_book", best / ref_s, "ratio"
        yield f"init_file_size_{preset}", path.stat().st_size / 1024, "KiB"


def _child(kind: str, leads: int, preset: str) -> None:
    with tempfile.TemporaryDirectory(prefix="xlcrm-bench-") as tmp:
        figures = (demo_figures(leads, preset, Path(tmp)) if kind == "demo"
                   else load_figures(leads, Path(tmp)) if kind == "load"
                   else update_figures(leads, Path(tmp)) if kind == "update"
                   else weekly_figures(leads, Path(tmp)) if kind == "weekly"
                   else init_figures(Path(tmp)))
        print(json.dumps(list(figures)))


def _run_child(kind: str, leads: int = 0, preset: str = "dealer") -> list[Figure]:
    out = subprocess.run([sys.executable, __file__, "--child", kind, "--leads", str(leads),
                          "--preset", preset], capture_output=True, text=True, check=True)
    return [tuple(f) for f in json.loads(out.stdout.strip().splitlines()[-1])]  # type: ignore[misc]


def main(argv: list[str] | None = None) -> None:
    """Print every selected figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, action="append",
                        help="lead counts to run (repeatable; default 1000, 10000, 100000)")
    parser.add_argument("--only", help="run only figures whose name starts with this")
    parser.add_argument("--preset", default=None, help="demo preset (default: both)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, (args.leads or [0])[0], args.preset or "dealer")
        return
    sizes = args.leads or [1000, 10_000, 100_000]
    presets = [args.preset] if args.preset else ["dealer", "b2b"]
    jobs: list[tuple[str, int, str]] = [("init", 0, "dealer")]
    jobs += [("demo", n, p) for n in sizes for p in presets]
    jobs += [("load", n, "dealer") for n in sizes]
    jobs += [("update", n, "dealer") for n in sizes]
    jobs += [("weekly", n, "dealer") for n in sizes]
    for kind, leads, preset in jobs:
        if args.only and not (kind.startswith(args.only) or args.only.startswith(kind)):
            continue
        for name, value, unit in _run_child(kind, leads, preset):
            if args.only and not name.startswith(args.only) and not name.startswith("ref_"):
                continue
            print(f"{name}\t{value:.4g}\t{unit}", flush=True)


if __name__ == "__main__":
    main()
