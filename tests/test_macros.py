"""Run it from Excel: the macro workbook is valid, its buttons reach the right Python, and the
Excel back end (exercised through a test double of xlwings) gives the owned sheets the file
back end gives."""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

import xlcrm
from xlcrm import macros
from xlcrm.excel.macrobook import BUTTONS, CONTROL_SHEET, macro_workbook, vba_source
from xlcrm.excel.vba import compress, decompress, module_source
from xlcrm.macros import FileSheets, owned_sheet_cells

from . import xlwings_double as xw
from ._helpers import TODAY, Office

pytest.importorskip("xlwings", reason="the macro workbook takes its VBA from xlwings")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return xlcrm.demo(tmp_path_factory.mktemp("macros"), leads=250, seed=9, today=TODAY,
                      run_report=False)


@pytest.fixture(scope="module")
def made(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return macro_workbook(demo, tmp_path_factory.mktemp("xlsm") / "crm.xlsm",
                          python="C:\\Python312\\python.exe")


def test_compression_agrees_with_an_independent_decompressor() -> None:
    """Our compressor's output, read by olevba's own MS-OVBA decompressor, and the modules
    xlwings ships, read by ours, both give back the exact text."""
    import io

    import olefile
    from oletools.olevba import decompress_stream

    from xlcrm.excel.macrobook import xlwings_project
    from xlcrm.excel.vba import _modules

    text = (b'Attribute VB_Name = "Module1"\r\n' + b"Sub A()\r\n    x = 1\r\nEnd Sub\r\n" * 400
            + bytes(range(256)) * 40)  # repetitive, then incompressible: both chunk kinds
    packed = compress(text)
    assert len(packed) < len(text)
    assert decompress(packed) == text
    assert bytes(decompress_stream(bytearray(packed))) == text
    ole = olefile.OleFileIO(io.BytesIO(xlwings_project()))
    try:
        for module in _modules(decompress(ole.openstream("VBA/dir").read())):
            stored = ole.openstream(f"VBA/{module.stream}").read()[module.offset:]
            assert decompress(stored) == bytes(decompress_stream(bytearray(stored)))
            assert decompress(stored).startswith(f'Attribute VB_Name = "{module.name}"'.encode())
    finally:
        ole.close()


def test_macro_workbook_is_a_valid_xlsm(made: Any) -> None:
    with zipfile.ZipFile(made.workbook) as zf:
        names = set(zf.namelist())
        types = zf.read("[Content_Types].xml").decode()
        rels = zf.read("xl/_rels/workbook.xml.rels").decode()
        book = zf.read("xl/workbook.xml").decode()
        project = zf.read("xl/vbaProject.bin")
        vml = [zf.read(n).decode() for n in names if n.endswith(".vml")]
    assert "xl/vbaProject.bin" in names
    assert "application/vnd.ms-excel.sheet.macroEnabled.main+xml" in types
    assert 'Extension="bin" ContentType="application/vnd.ms-office.vbaProject"' in types
    assert "relationships/vbaProject" in rels
    assert 'codeName="ThisWorkbook"' in book
    assert project.startswith(b"\xd0\xcf\x11\xe0")
    # the VBA module with the buttons' procedures, and xlwings' own module beside it
    assert module_source(project, "Module1").replace("\r\n", "\n").strip() == \
        vba_source().strip()
    assert "Function RunPython" in module_source(project, "xlwings")
    # every button calls a procedure of the project
    called = re.findall(r"<x:FmlaMacro>\[0\]!(\w+)</x:FmlaMacro>", "".join(vml))
    assert called == [b.procedure for b in BUTTONS]
    assert made.module.name == "xlcrm_buttons.py"


def test_olevba_finds_each_procedure_with_its_runpython_call(made: Any) -> None:
    from oletools.olevba import VBA_Parser

    parser = VBA_Parser(str(made.workbook))
    try:
        assert parser.detect_vba_macros()
        code = {name: text for _, _, name, text in parser.extract_macros()}
    finally:
        parser.close()
    module = code["Module1.bas"]
    for b in BUTTONS:
        body = re.search(rf"Sub {b.procedure}\(\)\s*(.*?)End Sub", module, re.S)
        assert body, b.procedure
        assert body.group(1).strip() == \
            f'RunPython "import xlcrm_buttons; xlcrm_buttons.{b.function}()"'
    assert "Sub RunPython" in code["xlwings.bas"] or "Function RunPython" in code["xlwings.bas"]


def test_buttons_module_calls_the_library(made: Any) -> None:
    spec = importlib.util.spec_from_file_location("xlcrm_buttons", made.module)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for b in BUTTONS:
        assert callable(getattr(module, b.function))
        assert callable(getattr(macros, b.function))


def test_xlwings_conf_names_the_interpreter(made: Any) -> None:
    rows = FileSheets(made.workbook).read("xlwings.conf")
    conf = {r[0]: r[1] for r in rows if r and r[0]}
    assert conf["Interpreter_Win"] == "C:\\Python312\\python.exe"
    assert conf["Interpreter_Mac"] == "C:\\Python312\\python.exe"


def test_control_sheet_opens_first_and_data_stays(demo: Path, made: Any) -> None:
    before = xlcrm.load(demo)
    after = xlcrm.load(made.workbook)
    for key, frame in before.tables.items():
        assert after.tables[key].equals(frame), key
    with zipfile.ZipFile(made.workbook) as zf:
        book = etree.fromstring(zf.read("xl/workbook.xml"))
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    names = [s.get("name") for s in book.iterfind("m:sheets/m:sheet", ns)]
    view = book.find("m:bookViews/m:workbookView", ns)
    assert view is not None and names[int(view.get("activeTab", "0"))] == CONTROL_SHEET


def test_libreoffice_opens_the_macro_workbook(made: Any, tmp_path: Path, office: Office) -> None:
    pdf = office.convert(made.workbook, "pdf", tmp_path)
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert "Press a button" in text and "Interpreter_Win" in text


def test_refuses_a_workbook_with_its_own_macros(made: Any, tmp_path: Path) -> None:
    before = made.workbook.read_bytes()
    with pytest.raises(xlcrm.WorkbookError, match="already holds its own VBA project"):
        macro_workbook(made.workbook, tmp_path / "again.xlsm")
    assert made.workbook.read_bytes() == before
    assert not (tmp_path / "again.xlsm").exists()


def test_init_with_macros_writes_both_files(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from xlcrm.cli import app

    result = CliRunner().invoke(app, ["init", str(tmp_path / "crm.xlsx"), "--macros"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "crm.xlsx").exists() and (tmp_path / "crm.xlsm").exists()
    assert (tmp_path / "xlcrm_buttons.py").exists()


# ----- the Excel back end, through the test double ---------------------------------------------
def _excel_double(path: Path) -> xw.Book:
    """The workbook as Excel would show it through xlwings."""
    source = FileSheets(path)
    return xw.Book.from_grids(path.name, {n: source.read(n) for n in source.sheet_names()})


def test_weekly_update_in_excel_equals_the_file_run(demo: Path, tmp_path: Path) -> None:
    on_disk = tmp_path / "file.xlsx"
    shutil.copy(demo, on_disk)
    book = _excel_double(demo)  # the same workbook, open in "Excel"
    original = demo.read_bytes()
    from xlcrm.commands.update import update

    result = update(on_disk, today=TODAY, backups=0)
    message = macros.weekly_update(book, today=TODAY)
    assert message.startswith("Weekly update done")
    assert book.app.alerts and book.app.alerts[-1][1] == "xlcrm"
    for sheet in result.sheets:
        expected, _ = owned_sheet_cells(on_disk, sheet)
        got = book.sheets[sheet].grid()
        assert _trimmed(got) == _trimmed([[_as_excel(v) for v in row] for row in expected]), \
            sheet
    assert demo.read_bytes() == original  # the file on disk was never touched
    status = book.sheets[CONTROL_SHEET].cells.get((2, 3)) if CONTROL_SHEET in [
        s.name for s in book.sheets] else None
    assert status is None  # the demo has no control sheet: nothing written there


def _as_excel(value: Any) -> Any:
    return xw._normalise(value)


def _trimmed(rows: list[list[Any]]) -> list[list[Any]]:
    out = [list(r) for r in rows]
    for r in out:
        while r and r[-1] is None:
            r.pop()
    while out and not out[-1]:
        out.pop()
    return out


def test_owned_formulas_reach_excel_as_formulas(demo: Path) -> None:
    book = _excel_double(demo)
    macros.weekly_update(book, today=TODAY)
    tally = book.sheets["Tally"]
    formulas = [v for v in tally.cells.values() if isinstance(v, str) and v.startswith("=")]
    assert any(f.startswith("=COUNTIFS(Leads[") for f in formulas)
    assert tally.formats, "number formats travel with the cells"


def test_agenda_button_fills_the_agenda_sheet(demo: Path) -> None:
    book = _excel_double(demo)
    message = macros.agenda_tomorrow(book, now=dt.datetime(2026, 11, 23, 18, 0))
    assert message.startswith("Agenda for Tuesday 24 November")
    rows = book.sheets["Agenda"].grid()
    header = next(i for i, r in enumerate(rows) if r and r[0] == "Salesperson")
    expected = xlcrm.agenda(demo, now=dt.datetime(2026, 11, 23, 18, 0), write_sheet=False)
    assert len([r for r in rows[header + 1:] if r and r[0]]) == len(expected.items)


def test_check_button_lists_problems_on_the_control_sheet(made: Any, tmp_path: Path) -> None:
    book = _excel_double(made.workbook)
    leads = book.sheets["Leads"]
    leads.cells[(3, 2)] = "31/02/2026"  # a date that does not exist, typed as text
    message = macros.check_data(book, today=TODAY)
    assert "1 error" in message
    listed = [r for r in book.sheets[CONTROL_SHEET].grid() if r and r[0] == "error"]
    assert len(listed) == 1 and "Leads!B3" in listed[0][2]
    assert book.sheets[CONTROL_SHEET].cells[(2, 3)].endswith(message)


def test_import_button_asks_for_a_file_when_none_is_named(made: Any) -> None:
    book = _excel_double(made.workbook)
    message = macros.import_leads(book)
    assert "cell C4" in message


def test_metrics_and_entry_points_import_without_xlwings_or_readers() -> None:
    """Where only pandas exists (xlwings Lite, say), the metrics still run."""
    code = ("import sys\n"
            "for name in ('xlwings', 'openpyxl', 'python_calamine', 'olefile'):\n"
            "    sys.modules[name] = None\n"
            "import pandas as pd, xlcrm, xlcrm.macros, xlcrm.cli\n"
            "from xlcrm.metrics.tally import TallyInput, activity_weeks\n"
            "steps = pd.DataFrame({'lead': pd.to_datetime(['2026-11-16', '2026-11-17']),\n"
            "    'contact': pd.to_datetime(['2026-11-16', None]), 'appointment': pd.NaT,\n"
            "    'show': pd.NaT, 'sale': pd.NaT, 'source': 'Web', 'rep': 'Ann'})\n"
            "print(activity_weeks(TallyInput(steps)).iloc[0]['contact_rate'])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0.5"


def test_reader_falls_back_to_openpyxl_without_calamine_or_threads(demo: Path) -> None:
    """In xlwings Lite (Pyodide) python-calamine can't be installed and threads can't start;
    the reader then reads the same typed tables with openpyxl, one sheet after the other."""
    code = ("import sys\n"
            "sys.modules['python_calamine'] = None\n"
            "import xlcrm, pickle\n"
            "load = xlcrm.load  # the facade imports the reader (and pandas) when asked\n"
            "sys.platform = 'emscripten'  # after the imports: only the reader asks\n"
            f"crm = load({str(demo)!r})\n"
            "sys.stdout.buffer.write(pickle.dumps({k: v for k, v in crm.tables.items()}))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    import pickle

    fallback = pickle.loads(done.stdout)
    usual = xlcrm.load(demo)
    assert set(fallback) == set(usual.tables)
    for key, frame in usual.tables.items():
        assert fallback[key].equals(frame), key


def test_xlwings_lite_scripts_run_the_same_entry_points(demo: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """workbooks/main.py, loaded with a stand-in for xlwings Lite's `script` decorator, runs
    each script on the test double of a book."""
    import types

    registered: list[str] = []
    lite = types.ModuleType("xlwings")
    lite.Book = xw.Book  # type: ignore[attr-defined]

    def script(fn: Any) -> Any:
        registered.append(fn.__name__)
        return fn
    lite.script = script  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "xlwings", lite)
    path = Path(__file__).parents[1] / "workbooks" / "main.py"
    spec = importlib.util.spec_from_file_location("lite_main", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert registered == ["weekly_update", "agenda_tomorrow", "check_data"]
    book = _excel_double(demo)
    module.weekly_update(book)
    assert book.app.alerts[-1][0].startswith("Weekly update done")
    module.check_data(book)
    assert "checked" in book.app.alerts[-1][0]


def test_import_button_adds_leads_without_duplicates(made: Any, tmp_path: Path) -> None:
    leads_file = tmp_path / "web-form.csv"
    leads_file.write_text("First name;Last name;E-mail;Source\n"
                          "Anna;Verdi;anna.verdi@example.com;Dealer website\n"
                          "Anna;Verdi;ANNA.VERDI@example.com;Dealer website\n",
                          encoding="cp1252")
    book = _excel_double(made.workbook)
    before = len([r for r in book.sheets["Leads"].grid()[1:] if r and r[0]])
    book.sheets[CONTROL_SHEET].cells[(4, 3)] = str(leads_file)
    message = macros.import_leads(book)
    assert "added 1" in message, message
    rows = [r for r in book.sheets["Leads"].grid()[1:] if r and r[0]]
    assert len(rows) == before + 1
    assert any("anna.verdi@example.com" in [str(v).lower() for v in r] for r in rows)
    again = macros.import_leads(book)
    assert "added 0" in again and len(
        [r for r in book.sheets["Leads"].grid()[1:] if r and r[0]]) == before + 1
