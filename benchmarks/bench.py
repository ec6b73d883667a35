"""xlcrm's benchmark harness: one line per figure, ``name<TAB>value<TAB>unit``.

Run from the repository (after ``pip install -e .``):

    python benchmarks/bench.py                  # every figure at 1k, 10k and 100k leads
    python benchmarks/bench.py --leads 10000    # one size
    python benchmarks/bench.py --only init      # figures whose name starts with "init"
    python benchmarks/bench.py --only cmd --leads 100000   # every command, as a user runs it
    python benchmarks/bench.py --only startup   # xlcrm --help and --version
    python benchmarks/bench.py --only growth --growth      # update, check, clean at 10k-300k

Every timing comes with a reference measured in the same run on the same machine, and the
ratio between them, so figures from different machines compare. Each size runs in its own
process, so its peak memory is its own. Later features add their figures in ``FIGURES``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
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


# ----- every command, as a user runs it: a fresh ``xlcrm`` process each ---------------------
#: The sheets each command reads (dealer preset); its reference is python-calamine reading
#: exactly these into Python lists, in a fresh process, just before the command runs.
_DATA = ["Leads", "Activities", "Tasks", "Settings"]
COMMAND_SHEETS = {
    "check": _DATA, "agenda": _DATA, "score": _DATA, "report": _DATA, "report_html": _DATA,
    "export": _DATA, "clean": [*_DATA, "Data quality"],
    "update": [*_DATA, "Plans", "Stage history", "Baseline"],
}
TARGETS = ["hubspot", "salesforce", "pipedrive", "zoho", "dynamics"]


def _run_measured(argv: list[str], cwd: Path | None = None, *, together: bool = False
                  ) -> tuple[float, float, int]:
    """Run ``argv`` in a fresh process: wall seconds, peak memory (MiB), exit code.

    The peak memory is the process's own peak resident size or, with ``together`` and when it
    is higher, the peak of what the process and the children it forks hold together (their
    proportional set sizes summed, sampled every 100 ms from /proc on Linux while a child
    runs): a child that works beside the command on a second core holds its own copy of every
    page either of them writes. Sampling walks the processes' page tables, which slows them:
    a run that samples is not one to time."""
    import os
    import threading

    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            if _children(proc.pid):  # alone, its own peak tells
                peak[0] = max(peak[0], _tree_pss_mib(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    if together:
        sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    if together:
        sampler.join()
    together_peak = peak[0]
    proc.returncode = os.waitstatus_to_exitcode(status)
    errors = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(argv)} ended {proc.returncode}: {errors[-500:]}")
    return wall, max(usage.ru_maxrss / 1024, together_peak), proc.returncode


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(k) for k in f.read().split()]
    except (OSError, ValueError):
        return []


def _tree_pss_mib(pid: int) -> float:
    """The proportional set sizes of process ``pid`` and its descendants, summed (MiB); 0
    where /proc can't tell (not Linux, or the process has ended)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += _children(p)
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                total += next((int(line.split()[1]) for line in f if line.startswith("Pss:")), 0)
        except (OSError, ValueError):
            continue
    return total / 1024


_CALAMINE_SNIPPET = (
    "import sys\nfrom python_calamine import CalamineWorkbook\n"
    "book = CalamineWorkbook.from_path(sys.argv[1])\n"
    "names = sys.argv[2:] or book.sheet_names\n"
    "print(sum(len(book.get_sheet_by_name(n).to_python(skip_empty_area=False)) "
    "for n in names if n in book.sheet_names))\n")


def _calamine_fresh(path: Path, names: list[str]) -> float:
    """The reference: a fresh Python process in which python-calamine reads ``names``
    (every sheet when empty) of ``path`` into lists; its wall time, start-up included, as the
    commands' times include theirs."""
    return _run_measured([sys.executable, "-c", _CALAMINE_SNIPPET, str(path), *names])[0]


def _lead_csv(book: Path, out: Path, n: int) -> Path:
    """A lead file of ``n`` rows for ``xlcrm import``: one in five matches an existing lead's
    e-mail (an update), the rest are new people."""
    import csv

    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(book)).get_sheet_by_name("Leads").to_python()
    emails = [r[4] for r in rows[1:] if r[4]]
    firsts = ["Anna", "Luca", "Marta", "Paolo", "Sara", "Giorgio", "Elena", "Marco"]
    lasts = ["Rossi", "Bianchi", "Verdi", "Neri", "Gallo", "Costa", "Fabbri", "Ricci"]
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["First name", "Last name", "Email", "Phone", "Source", "Lead date"])
        for i in range(n):
            mail = emails[i * 7 % len(emails)] if i % 5 == 0 else f"buyer{i}@example.net"
            w.writerow([firsts[i % 8], lasts[i // 8 % 8], mail, f"+39 347 {i:07d}",
                        "Web form", f"2026-11-{i % 20 + 1:02d}"])
    return out


def _command_argv(name: str, book: Path, workdir: Path) -> list[str]:
    cli = [sys.executable, "-m", "xlcrm.cli"]
    day = TODAY.isoformat()
    if name.startswith("export_"):
        return [*cli, "export", str(book), "--to", name[7:], "--out", str(workdir / name)]
    return {
        "check": [*cli, "check", str(book)],
        "agenda": [*cli, "agenda", str(book), "--date", "2026-11-24", "--force"],
        "score": [*cli, "score", str(book), "--today", day, "--force"],
        "report": [*cli, "report", str(book), "--out", str(workdir / "rep"), "--today", day],
        "report_html": [*cli, "report", str(book), "--out", str(workdir / "reph"), "--html",
                        "--today", day],
        "clean": [*cli, "clean", str(book), "--today", day, "--force"],
        "update": [*cli, "update", str(book), "--today", "2026-11-30", "--backups", "0",
                   "--force"],
    }[name]


def command_figures(leads: int, workdir: Path, names: list[str] | None = None,
                    with_demo: bool = True, source: Path | None = None,
                    repeat: int = 1) -> Iterator[Figure]:
    """Every command at ``leads`` leads, each a fresh ``xlcrm`` process on its own copy of
    the demo workbook, beside python-calamine reading the sheets that command needs in a
    fresh process just before it: time, peak memory and the ratio between the two times.
    ``source``: a demo workbook made earlier (``xlcrm demo --seed 1 --today 2026-11-23``)
    to use instead of making one, which is then not timed. ``repeat``: how many times each
    pair (reference, command) runs, one after the other on a fresh copy; the best time of
    each is kept (what the machine's load did not slow) and the highest peak memory."""
    import shutil

    tag = f"{leads // 1000}k"
    if source is None:
        demo_dir = workdir / "demo"
        wall, peak, _ = _run_measured([sys.executable, "-m", "xlcrm.cli", "demo",
                                       str(demo_dir), "--leads", str(leads), "--seed", "1",
                                       "--today", TODAY.isoformat()], together=True)
        source = demo_dir / "demo-dealer.xlsx"
        if with_demo:  # (target at 100k: under 60 s and 1 GiB, update, clean, score and
            # the report included; the ratio is to python-calamine reading what it wrote)
            ref = _calamine_fresh(source, [])
            yield f"ref_calamine_demo_{tag}", ref, "s"
            yield f"cmd_demo_{tag}", wall, "s"
            yield f"cmd_demo_vs_calamine_{tag}", wall / ref, "ratio"
            yield f"cmd_demo_peak_memory_{tag}", peak, "MiB"
    chosen = [n for n in names if n != "demo"] if names else [
        *(c for c in COMMAND_SHEETS if c != "export"), *(f"export_{t}" for t in TARGETS),
        "import"]
    for name in chosen:
        book = workdir / f"{name}.xlsx"
        refs, walls, peaks = [], [], []
        if name == "import":
            csv_file = _lead_csv(source, workdir / "leads-10k.csv", 10_000)
        # the memory of the command and the children it forks, sampled in one more run
        # (sampling slows what it samples), after the timed ones
        for attempt in range(max(1, repeat) + 1):
            shutil.copyfile(source, book)
            if name == "import":
                refs.append(_calamine_fresh(book, []))
                argv = [sys.executable, "-m", "xlcrm.cli", "import", str(book), str(csv_file),
                        "--force"]
            else:
                refs.append(_calamine_fresh(book, COMMAND_SHEETS.get(name.partition("_")[0],
                                                                     _DATA)))
                argv = _command_argv(name, book, workdir)
            timed = attempt < max(1, repeat)
            wall, peak, _ = _run_measured(argv, together=not timed)
            if timed:
                walls.append(wall)
            peaks.append(peak)
        ref, wall, peak = min(refs), min(walls), max(peaks)
        yield f"ref_calamine_{name}_{tag}", ref, "s"
        yield f"cmd_{name}_{tag}", wall, "s"
        yield f"cmd_{name}_vs_calamine_{tag}", wall / ref, "ratio"
        yield f"cmd_{name}_peak_memory_{tag}", peak, "MiB"
        book.unlink()


def startup_figures() -> Iterator[Figure]:
    """``xlcrm --version`` and ``--help`` against a Python that imports typer and rich alone
    (best of five fresh processes each)."""
    base = min(_run_measured([sys.executable, "-c", "import typer, rich.console"])[0]
               for _ in range(5))
    yield "ref_import_typer_rich", base * 1000, "ms"
    # what typer's own help renderer costs: a two-command typer app's --help
    app = ("import typer\napp = typer.Typer()\n@app.command()\ndef one(name: str = 'x') -> None:"
           "\n    \"One.\"\"\"\n@app.command()\ndef two() -> None:\n    \"Two.\"\"\"\napp()\n")
    typer_help = min(_run_measured([sys.executable, "-c", app, "--help"])[0] for _ in range(5))
    yield "ref_typer_app_help", typer_help * 1000, "ms"
    for flag in ("--version", "--help"):
        ours = min(_run_measured([sys.executable, "-m", "xlcrm.cli", flag])[0]
                   for _ in range(5))
        yield f"startup{flag[1:]}", ours * 1000, "ms"
        yield f"startup{flag[1:]}_vs_typer_rich", ours / base, "ratio"
    yield "startup-help_vs_typer_app_help", ours / typer_help, "ratio"


def growth_figures(sizes: list[int], workdir: Path, books: Path | None = None,
                   repeat: int = 1) -> Iterator[Figure]:
    """update, check and clean at each size, and the ratio of each step's time to the
    previous size's (a linear step grows by the ratio of the sizes). ``books``: a folder of
    demo workbooks made earlier (``xlcrm demo --seed 1 --today 2026-11-23``), one per size,
    named by its lead count (``300000.xlsx``), used instead of making each size's demo."""
    previous: dict[str, tuple[int, float]] = {}
    for leads in sizes:
        made = books / f"{leads}.xlsx" if books else None
        (workdir / str(leads)).mkdir(parents=True, exist_ok=True)
        figures = list(command_figures(leads, workdir / str(leads),
                                       ["update", "check", "clean"], with_demo=False,
                                       source=made if made and made.exists() else None,
                                       repeat=repeat))
        yield from figures
        for name in ("update", "check", "clean"):
            t = next(v for f, v, _ in figures if f == f"cmd_{name}_{leads // 1000}k")
            if name in previous:
                n0, t0 = previous[name]
                yield (f"growth_{name}_{n0 // 1000}k_to_{leads // 1000}k", t / t0,
                       f"x for {leads / n0:g}x leads")
                if name == "clean":  # the bound each step must stay within
                    yield (f"growth_limit_{n0 // 1000}k_to_{leads // 1000}k",
                           leads * math.log(leads) / (n0 * math.log(n0)), "x (n log n)")
            previous[name] = (leads, t)


def _child(kind: str, leads: int, preset: str, workbook: Path | None = None,
           commands: list[str] | None = None, repeat: int = 1) -> None:
    with tempfile.TemporaryDirectory(prefix="xlcrm-bench-") as tmp:
        figures = (demo_figures(leads, preset, Path(tmp)) if kind == "demo"
                   else load_figures(leads, Path(tmp)) if kind == "load"
                   else update_figures(leads, Path(tmp)) if kind == "update"
                   else weekly_figures(leads, Path(tmp)) if kind == "weekly"
                   else command_figures(leads, Path(tmp), commands, source=workbook,
                                        repeat=repeat)
                   if kind == "cmd"
                   else startup_figures() if kind == "startup"
                   else growth_figures([10_000, 100_000, 300_000], Path(tmp), workbook,
                                       repeat)
                   if kind == "growth"
                   else init_figures(Path(tmp)))
        for figure in figures:  # one line each, as soon as it is measured
            print(json.dumps(figure), flush=True)


def _run_child(kind: str, leads: int = 0, preset: str = "dealer",
               extra: list[str] | None = None) -> Iterator[Figure]:
    """Run one kind of figures in a fresh process, yielding each figure as it is printed."""
    with subprocess.Popen([sys.executable, __file__, "--child", kind, "--leads", str(leads),
                           "--preset", preset, *(extra or [])], stdout=subprocess.PIPE,
                          text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("["):
                name, value, unit = json.loads(line)
                yield name, value, unit
    if proc.returncode:
        raise SystemExit(f"the {kind} figures at {leads} leads failed ({proc.returncode})")


def main(argv: list[str] | None = None) -> None:
    """Print every selected figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, action="append",
                        help="lead counts to run (repeatable; default 1000, 10000, 100000)")
    parser.add_argument("--only", help="run only figures whose name starts with this")
    parser.add_argument("--preset", default=None, help="demo preset (default: both)")
    parser.add_argument("--growth", action="store_true",
                        help="also update, check and clean at 10k, 100k and 300k leads")
    parser.add_argument("--workbook", type=Path,
                        help="cmd figures: use this demo workbook of --leads leads (made with "
                             "--seed 1 --today 2026-11-23) instead of making one; growth "
                             "figures: a folder of such workbooks named by their lead count "
                             "(10000.xlsx, 100000.xlsx, 300000.xlsx)")
    parser.add_argument("--commands", help="cmd figures: only these, comma-separated "
                                           "(check,agenda,score,report,report_html,export_zoho,"
                                           "clean,update,import; demo alone: the demo's "
                                           "figures only)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="cmd and growth figures: run each reference and command this "
                             "many times, one pair after the other, and keep the best time of "
                             "each (default 3; a busy minute then slows no ratio)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, (args.leads or [0])[0], args.preset or "dealer", args.workbook,
               args.commands.split(",") if args.commands else None, args.repeat)
        return
    sizes = args.leads or [1000, 10_000, 100_000]
    presets = [args.preset] if args.preset else ["dealer", "b2b"]
    jobs: list[tuple[str, int, str]] = [("init", 0, "dealer")]
    jobs += [("demo", n, p) for n in sizes for p in presets]
    jobs += [("load", n, "dealer") for n in sizes]
    jobs += [("update", n, "dealer") for n in sizes]
    jobs += [("weekly", n, "dealer") for n in sizes]
    jobs += [("startup", 0, "dealer")]
    jobs += [("cmd", n, "dealer") for n in sizes]
    if args.growth:
        jobs += [("growth", 0, "dealer")]
    for kind, leads, preset in jobs:
        if args.only and not (kind.startswith(args.only) or args.only.startswith(kind)):
            continue
        extra = [*(["--workbook", str(args.workbook)] if args.workbook else []),
                 *(["--commands", args.commands] if args.commands else [])]
        passed = [*(extra if kind == "cmd" else extra[:2] if kind == "growth" else []),
                  *(["--repeat", str(args.repeat)] if kind in ("cmd", "growth") else [])]
        for name, value, unit in _run_child(kind, leads, preset, passed):
            if (args.only and kind != "growth" and not name.startswith(args.only)
                    and not name.startswith("ref_")):
                continue  # (growth prints the timings its ratios are made of)
            print(f"{name}\t{value:.4g}\t{unit}", flush=True)


if __name__ == "__main__":
    main()
