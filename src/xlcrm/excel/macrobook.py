"""The macro workbook: a copy of the CRM with an "xlcrm" sheet of buttons (the library twin of
``xlcrm macros``).

Each button runs a small VBA procedure that calls xlwings' ``RunPython`` with a function of
``xlcrm_buttons.py``, written next to the workbook, which calls :mod:`xlcrm.macros`. The VBA
project is not part of xlcrm: it is taken, at run time, from the standalone quickstart workbook
of the installed xlwings package (which embeds xlwings' VBA module, so no add-in is needed),
and only its ``Module1`` is replaced with the button procedures. An ``xlwings.conf`` sheet
names the Python interpreter to use.
"""

from __future__ import annotations

import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import xlsxwriter
from lxml import etree

from ..errors import TransplantError, WorkbookError, WorkbookExistsError
from ..read import require_xlcrm_file
from ..xlsx.crypto import Place, with_password
from ..xlsx.package import Package
from ..xlsx.save import SaveResult, safe_save
from ..xlsx.transplant import transplant_sheets
from .vba import replace_module

__all__ = ["BUTTONS", "CONTROL_SHEET", "Button", "MacroResult", "buttons_module",
           "macro_workbook", "vba_source", "xlwings_project"]

CONTROL_SHEET = "xlcrm"
CONF_SHEET = "xlwings.conf"
MODULE = "xlcrm_buttons"
_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_VBA = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
_CT_VBA = "application/vnd.ms-office.vbaProject"
_CT_MACRO_BOOK = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"


@dataclass(frozen=True)
class Button:
    """One button of the control sheet.

    Attributes:
        caption: the text on the button.
        procedure: the VBA procedure it runs.
        function: the function of ``xlcrm_buttons.py`` (and :mod:`xlcrm.macros`) it calls.
        help: what it does, shown beside it.
    """

    caption: str
    procedure: str
    function: str
    help: str


BUTTONS = (
    Button("Weekly update", "XlcrmWeeklyUpdate", "weekly_update",
           "Counts the week: rewrites Tally, Baseline, Funnel, Dashboard and Stage history."),
    Button("Weekly report", "XlcrmWeeklyReport", "weekly_report",
           "Writes the last full week's report (workbook and HTML page) into a 'reports' "
           "folder beside this workbook."),
    Button("Agenda for tomorrow", "XlcrmAgenda", "agenda_tomorrow",
           "Fills the Agenda sheet: each salesperson's tasks, overdue tasks, records with no "
           "next step, leads waiting for a first contact."),
    Button("Check data", "XlcrmCheckData", "check_data",
           "Lists every problem in the data sheets below, each as Sheet!Cell: what is wrong."),
    Button("Import leads", "XlcrmImportLeads", "import_leads",
           "Adds the leads of the CSV or Excel file named in cell C4 (no duplicates)."),
)


@dataclass
class MacroResult:
    """What ``macro_workbook`` wrote: the .xlsm, the Python module beside it, the save."""

    workbook: Path
    module: Path
    saved: SaveResult


def vba_source() -> str:
    """The VBA module with one procedure per button, each a ``RunPython`` call."""
    lines = ['Attribute VB_Name = "Module1"',
             "' xlcrm buttons: each runs a function of xlcrm_buttons.py (beside this workbook),",
             "' which calls the xlcrm library through xlwings. Written by xlcrm; do not edit.",
             ""]
    for b in BUTTONS:
        lines += [f"Sub {b.procedure}()",
                  f'    RunPython "import {MODULE}; {MODULE}.{b.function}()"',
                  "End Sub", ""]
    return "\n".join(lines)


def buttons_module() -> str:
    """The Python module the buttons import (``xlcrm_buttons.py``)."""
    body = ['"""The buttons of the xlcrm macro workbook: each calls xlcrm.macros on the workbook',
            'that pressed it (written by `xlcrm macros`; keep it next to the workbook)."""',
            "", "from xlcrm import macros", ""]
    for b in BUTTONS:
        body += ["", f"def {b.function}() -> None:", f'    """{b.help}"""',
                 f"    macros.{b.function}()", ""]
    return "\n".join(body)


def xlwings_project() -> bytes:
    """The VBA project of the installed xlwings' standalone quickstart workbook.

    Raises:
        WorkbookError: xlwings is not installed, or its package has no such workbook.
    """
    try:
        import olefile  # noqa: F401 - needed to read the project, checked before any work
        import xlwings
    except ImportError:
        raise WorkbookError("the macro workbook needs xlwings and olefile: pip install "
                            "\"xlcrm[excel]\"") from None
    source = Path(xlwings.__file__).parent / "quickstart_standalone.xlsm"
    if not source.exists():
        raise WorkbookError(f"xlwings {xlwings.__version__} has no quickstart_standalone.xlsm; "
                            "install xlwings 0.30 or newer")
    with zipfile.ZipFile(source) as zf:
        return zf.read("xl/vbaProject.bin")


def _interpreter(python: str | None) -> dict[str, str]:
    path = python or sys.executable
    if python is None and not sys.platform.startswith(("win", "darwin")):
        path = ""  # this machine's Python means nothing to Excel on Windows or macOS
    return {"Interpreter_Win": path if (python or sys.platform.startswith("win")) else "",
            "Interpreter_Mac": path if (python or sys.platform == "darwin") else ""}


def _scratch(path: Path, python: str | None) -> Path:
    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet(CONTROL_SHEET)
    title = book.add_format({"bold": True, "font_size": 16, "font_color": "#2F5597"})
    note = book.add_format({"italic": True, "font_color": "#595959", "text_wrap": True,
                            "valign": "top"})
    label = book.add_format({"bold": True})
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 4)
    ws.set_column(2, 2, 70)
    ws.write_string(0, 0, "xlcrm", title)
    ws.write_string(1, 0, "Status", label)
    ws.write_string(1, 2, "Ready. Press a button; Python runs xlcrm on this workbook while it "
                          "stays open.")
    ws.write_string(3, 0, "Leads file to import", label)
    ws.write_string(3, 2, "")
    for i, b in enumerate(BUTTONS):
        row = 5 + 3 * i
        ws.insert_button(row, 0, {"macro": b.procedure, "caption": b.caption,
                                  "width": 150, "height": 36})
        ws.merge_range(row, 2, row + 1, 2, b.help, note)
    ws.write_string(5 + 3 * len(BUTTONS) + 1, 0, "Problems found by Check data", label)
    ws.activate()
    conf = book.add_worksheet(CONF_SHEET)
    conf.set_column(0, 0, 18)
    conf.set_column(1, 1, 60)
    settings = _interpreter(python) | {"PYTHONPATH": "", "Show Console": "False"}
    for r, (key, value) in enumerate(settings.items()):
        conf.write_string(r, 0, key)
        conf.write_string(r, 1, value)
    book.close()
    return path


@with_password
def macro_workbook(path: str | Path, out: str | Path | None = None, *,
                   python: str | None = None, force: bool = False,
                   password: str | None = None) -> MacroResult:
    """Write a macro-enabled copy of a CRM workbook with the xlcrm buttons.

    Args:
        path: the CRM workbook (.xlsx); it is only read.
        out: the .xlsm to write (default: beside it, same name); ``xlcrm_buttons.py`` is
            written into the same folder.
        python: the Python interpreter Excel should run (default: this one, on Windows and
            macOS; on other systems fill in ``xlwings.conf`` on the machine with Excel).
        force: overwrite an existing .xlsm.
        password: the workbook's password when it is encrypted; it is decrypted in
            memory only and every workbook written is encrypted with it.

    Raises:
        TransplantError: the workbook already holds a VBA project (its macros would be lost).
        WorkbookExistsError: ``out`` exists and ``force`` is false.
        WorkbookError: xlwings is not installed.
    """
    source = require_xlcrm_file(path)  # the buttons run xlcrm's commands: on its workbooks
    target = Path(out) if out is not None else source.with_suffix(".xlsm")
    if target.suffix.lower() != ".xlsm":
        raise WorkbookError(f"{target.name}: a macro workbook must end in .xlsm")
    if target.exists() and not force:
        raise WorkbookExistsError(f"{target} already exists; use --force to replace it")
    with Package(source) as pkg:
        if pkg.has("xl/vbaProject.bin"):
            raise TransplantError(
                f"{source.name} already holds its own VBA project (macros); xlcrm will not "
                "replace it. Add the xlcrm buttons to it by hand (see README, Run it from "
                "Excel) or run `xlcrm macros` on a copy saved as .xlsx without macros")
        taken = {name.lower() for name, _, _ in pkg.sheets()}
    clash = [n for n in (CONTROL_SHEET, CONF_SHEET) if n.lower() in taken]
    if clash:
        raise TransplantError(f'{source.name} already has a sheet named "{clash[0]}"; '
                              "rename it and try again")
    project = replace_module(xlwings_project(), "Module1", vba_source())
    with tempfile.TemporaryDirectory(prefix="xlcrm-macros-") as tmp:
        scratch = _scratch(Path(tmp) / "buttons.xlsx", python)

        def write(dest: Place) -> None:
            with Package(source) as pkg, Package(scratch) as src:
                transplant_sheets(pkg, src, [CONTROL_SHEET, CONF_SHEET], replace=False,
                                  defined_names=False)
                pkg.write("xl/vbaProject.bin", project)
                pkg.add_rel("xl/workbook.xml", _REL_VBA, "xl/vbaProject.bin")
                pkg.ensure_default("bin", _CT_VBA)
                pkg.set_content_type("xl/workbook.xml", _CT_MACRO_BOOK)
                _name_code(pkg)
                pkg.request_full_recalculation()
                pkg.save(dest)

        saved = safe_save(target, write, force=True, backups=0)
    module = target.parent / f"{MODULE}.py"
    module.write_text(buttons_module(), encoding="utf-8")
    return MacroResult(target, module, saved)


def _name_code(pkg: Package) -> None:
    """Give the workbook and its sheets the code names the VBA project's documents use
    (``ThisWorkbook``, ``Sheet1``...), and open the workbook on the control sheet."""
    m = f"{{{_NS_MAIN}}}"
    book = pkg.tree("xl/workbook.xml")
    pr = book.find(m + "workbookPr")
    if pr is None:
        pr = etree.Element(m + "workbookPr")
        anchor = book.find(m + "fileVersion")
        if anchor is not None:
            anchor.addnext(pr)
        else:
            book.insert(0, pr)
    pr.set("codeName", "ThisWorkbook")
    sheets = pkg.sheets()
    control = next(i for i, (name, _, _) in enumerate(sheets) if name == CONTROL_SHEET)
    view = book.find(f"{m}bookViews/{m}workbookView")
    if view is not None:
        view.set("activeTab", str(control))
        view.attrib.pop("firstSheet", None)
    for i, (_, part, _) in enumerate(sheets):
        root = pkg.tree(part)
        for sheet_view in root.iter(m + "sheetView"):
            if i == control:
                sheet_view.set("tabSelected", "1")
            else:
                sheet_view.attrib.pop("tabSelected", None)
        sheet_pr = root.find(m + "sheetPr")
        if sheet_pr is None:
            sheet_pr = etree.Element(m + "sheetPr")
            root.insert(0, sheet_pr)
        if sheet_pr.get("codeName") is None:
            sheet_pr.set("codeName", f"Sheet{i + 1}")
