"""The lossless writer on real files: attach, then update the owned sheets, and everything the
team had is still there, byte for byte; what xlcrm writes validates and recalculates."""

from __future__ import annotations

import contextlib
import re
import shutil
import stat
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from lxml import etree
from python_calamine import CalamineWorkbook
from xlsxwriter.worksheet import Worksheet

import xlcrm
from xlcrm import WorkbookError, XlcrmError
from xlcrm.commands.attach import attach
from xlcrm.errors import TransplantError
from xlcrm.xlsx.libreoffice import find_soffice
from xlcrm.xlsx.writer import write_owned_sheets

from ._helpers import CORPUS_RESULTS, TODAY, Office, copy_of, corpus_files, corpus_names

# parts the writer must change; each keeps every element it had
ALLOWED = {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
           "xl/styles.xml", "docProps/custom.xml", "_rels/.rels", "docProps/app.xml"}


def tally(book: xlsxwriter.Workbook, ws: Worksheet) -> None:
    """An owned sheet like the weekly tally: styles, a table, a live formula, a chart."""
    head = book.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": "#548235"})
    pct = book.add_format({"num_format": "0.0%"})
    ws.write_string(0, 0, "Owned by xlcrm: rewritten by `xlcrm update`", head)
    ws.write_row(2, 0, ["Week", "Leads", "Contacts", "Contact rate"])
    for i in range(6):
        leads, contacts = 40 + 3 * i, 19 + i
        ws.write_row(3 + i, 0, [f"2026-W{i + 1:02d}", leads, contacts])
        ws.write_formula(3 + i, 3, f"=C{4 + i}/B{4 + i}", pct, contacts / leads)
    ws.add_table(2, 0, 8, 3, {"name": f"xlcrm_{ws.name}", "columns": [
        {"header": h} for h in ("Week", "Leads", "Contacts", "Contact rate")]})
    ws.write_formula(10, 1, f"=SUM(xlcrm_{ws.name}[Leads])", head,
                     sum(40 + 3 * i for i in range(6)))
    chart = book.add_chart({"type": "line"})
    chart.add_series({"name": "Leads", "categories": f"='{ws.name}'!$A$4:$A$9",
                      "values": f"='{ws.name}'!$B$4:$B$9"})
    ws.insert_chart("F3", chart)
    ws.freeze_panes(3, 0)
    ws.set_column(0, 0, 14)


def _signature(data: bytes) -> Counter[str]:
    """Every element of an XML part with its attributes, for 'still holds' comparisons."""
    out: Counter[str] = Counter()
    root = etree.fromstring(data)
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        attrs = {k: v for k, v in el.attrib.items() if k != "count"}
        if etree.QName(el).localname == "calcPr":
            attrs.pop("fullCalcOnLoad", None)
        if "calcChain" in str(attrs.get("Type", "")) + str(attrs.get("PartName", "")):
            continue  # dropped on purpose: Excel rebuilds it
        out[f"{etree.QName(el).localname}{sorted(attrs.items())}"] += 1
    return out


def _sheet_values(path: Path) -> dict[str, Any]:
    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception:  # noqa: BLE001 - a file calamine can't read has nothing to compare
        return {}
    values = {}
    for name in book.sheet_names:
        try:
            values[name] = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception:  # noqa: BLE001 - chart sheets and macro sheets have no cells
            continue
    return values


def _assert_faithful(original: Path, result: Path) -> None:
    with zipfile.ZipFile(original) as a, zipfile.ZipFile(result) as b:
        names_b = b.namelist()
        kept = [n for n in a.namelist() if n != "xl/calcChain.xml"]
        assert [n for n in names_b if n in set(kept)] == kept, "original part order changed"
        for info in a.infolist():
            name = info.filename
            if name == "xl/calcChain.xml":
                continue
            if name in ALLOWED:
                before, after = _signature(a.read(name)), _signature(b.read(name))
                assert not before - after, f"{name} lost {sorted(before - after)[:3]}"
            else:
                assert a.read(name) == b.read(name), f"{name} changed"
                assert b.getinfo(name).compress_type == info.compress_type, name
    before_values, after_values = _sheet_values(original), _sheet_values(result)
    for sheet, values in before_values.items():
        assert after_values[sheet] == values, f"sheet {sheet} reads differently"


def _attach_and_update(original: Path, folder: Path) -> Path:
    """A copy of a corpus workbook, attached, with its owned sheets written twice."""
    work = folder / original.name
    shutil.copyfile(original, work)
    work.chmod(stat.S_IRUSR | stat.S_IWUSR)
    attach(work, preset="dealer", backups=1)
    for _ in range(2):
        write_owned_sheets(work, {"Tally": tally, "Dashboard": tally}, backups=1)
    return work


class CorpusOpener:
    """Opens the corpus tests' results in LibreOffice, a batch at a time in the background
    while the tests go on: LibreOffice works on one core while the tests use another."""

    BATCH = 24

    def __init__(self, office: Office | None, out: Path) -> None:
        self.office, self.out = office, out
        self.results = out.parent / "results"
        self.results.mkdir()
        self.pending: list[Path] = []
        self.sent: list[Path] = []
        self.pool = ThreadPoolExecutor(max_workers=1)  # one LibreOffice at a time

    def add(self, work: Path) -> None:
        """Keep an updated workbook, to be opened with the next batch."""
        self.pending.append(Path(shutil.copyfile(work, self.results / work.name)))
        if len(self.pending) >= self.BATCH:
            self._send()

    def _send(self) -> None:
        batch, self.pending = self.pending, []
        self.sent += batch
        if self.office is not None:
            self.pool.submit(self._open, self.office, batch)

    def _open(self, office: Office, batch: list[Path]) -> None:
        with contextlib.suppress(WorkbookError):  # finish() names every file not opened
            office.convert_many(batch, "csv", self.out)

    def finish(self) -> list[Path]:
        """Open what is left, wait for LibreOffice; return every result sent to it."""
        if self.pending:
            self._send()
        self.pool.shutdown(wait=True)
        return self.sent


@pytest.fixture(scope="module")
def corpus_opener(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorpusOpener]:
    """Where each corpus test leaves its updated workbook for LibreOffice (when installed:
    the fidelity tests themselves need no LibreOffice)."""
    office = request.getfixturevalue("office") if find_soffice() else None
    opener = CorpusOpener(office, tmp_path_factory.mktemp("corpus") / "lo")
    yield opener
    opener.pool.shutdown(wait=True)


@pytest.mark.parametrize("name", corpus_names() or ["corpus-missing"])
def test_corpus_fidelity(name: str, tmp_path: Path, corpus_opener: CorpusOpener) -> None:
    """Attach, then update the owned sheets twice, on one real workbook of the corpus: every
    part it had is still there; only Strict Open XML, damaged and unreadable files are refused,
    with one line."""
    original = next(p for p in corpus_files() if p.name == name)
    try:
        work = _attach_and_update(original, tmp_path)
    except XlcrmError as exc:
        assert original.name in str(exc) and "\n" not in str(exc)
        # refused on purpose: Strict Open XML; a zip holding one part twice (damaged); a
        # workbook the cell reader can't open, which no command could read after attaching
        assert any(reason in str(exc) for reason in (
            "Strict Open XML", "appears twice in the package", "could not read this workbook"))
        CORPUS_RESULTS["refused"].append(f"{original.name}: {exc}")
        return
    _assert_faithful(original, work)
    if _sheet_values(original):  # python-calamine reads the original: so must xlcrm
        crm = xlcrm.load(work)
        assert crm.sheet_names["tally"] == "Tally" and crm.schema.preset == "dealer"
    corpus_opener.add(work)
    CORPUS_RESULTS["passed"].append(original.name)


@pytest.mark.libreoffice
def test_libreoffice_opens_every_corpus_result(office: Office, corpus_opener: CorpusOpener,
                                               tmp_path: Path) -> None:
    """LibreOffice opens every workbook the corpus tests above updated (to CSV: opening is
    what is tested, and writing CSV costs little); nine in ten are kept."""
    files = corpus_files()
    done = {p.name for p in corpus_opener.sent + corpus_opener.pending}
    for original in files:  # those this run's corpus tests did not leave (run on its own)
        if original.name not in done:
            with contextlib.suppress(XlcrmError):
                corpus_opener.add(_attach_and_update(original, tmp_path))
    results = corpus_opener.finish()
    assert len(results) >= 0.9 * len(files), sorted({f.name for f in files}
                                                     - {f.name for f in results})
    missing = [f.name for f in results if not (corpus_opener.out / f"{f.stem}.csv").exists()]
    assert not missing, f"LibreOffice could not open {missing}"


def test_written_parts_validate_against_the_schemas(tmp_path: Path) -> None:
    """What attach and the owned-sheet writer produce is valid ECMA-376 transitional XML."""
    from openxml_audit import OpenXmlValidator

    validator = OpenXmlValidator()
    for name in ("poi__WithChartSheet.xlsx", "closedxml__xlsx__universal-content.xlsx",
                 "xlsxwriter__table30.xlsx"):
        original = next(p for p in corpus_files() if p.name == name)
        work = tmp_path / name
        shutil.copyfile(original, work)
        work.chmod(0o644)
        before = {str(e) for e in validator.validate(work).errors}
        attach(work, preset="b2b", backups=0)
        write_owned_sheets(work, {"Tally": tally}, backups=0)
        after = {str(e) for e in validator.validate(work).errors}
        assert after <= before, sorted(after - before)[:5]


def test_validator_is_not_vacuous(tmp_path: Path) -> None:
    """The schema check above does catch a misplaced element."""
    from openxml_audit import OpenXmlValidator

    good = xlcrm.init(tmp_path / "good.xlsx")
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/workbook.xml":
                data = data.replace(b"<sheets>", b'<calcPr fullCalcOnLoad="1"/><sheets>')
            zout.writestr(info, data)
    assert OpenXmlValidator().validate(good).is_valid
    assert not OpenXmlValidator().validate(bad).is_valid


@pytest.mark.libreoffice
def test_owned_formulas_recalculate_to_cached_values(office: Office, demo_book: Callable[..., Path],
                                                     tmp_path: Path) -> None:
    work = copy_of(demo_book("dealer", 50, 2), tmp_path)
    write_owned_sheets(work, {"Tally": tally}, backups=0)
    ours = CalamineWorkbook.from_path(str(work)).get_sheet_by_name("Tally").to_python()
    theirs_path = office.convert(work, "xlsx", tmp_path / "lo")
    theirs = CalamineWorkbook.from_path(str(theirs_path)).get_sheet_by_name("Tally").to_python()
    assert len(ours) == len(theirs)
    for mine, recalculated in zip(ours, theirs):  # LibreOffice keeps 15 significant digits
        assert recalculated == [pytest.approx(v, rel=1e-12) if isinstance(v, float) else v
                                for v in mine]
    assert ours[10][1] == theirs[10][1] == 285.0
    assert theirs[4][3] == pytest.approx(20 / 43)


def test_updates_do_not_grow_the_workbook(tmp_path: Path,
                                         demo_book: Callable[..., Path]) -> None:
    work = copy_of(demo_book("b2b", 40, 1), tmp_path)
    sizes = []
    for _ in range(4):
        write_owned_sheets(work, {"Tally": tally, "Funnel": tally}, backups=0)
        with zipfile.ZipFile(work) as zf:
            sizes.append((len(zf.namelist()), zf.read("xl/styles.xml"),
                          zf.read("[Content_Types].xml")))
    assert sizes[1] == sizes[2] == sizes[3]
    assert xlcrm.check(work, today=TODAY).ok


def test_attach_refuses_a_sheet_name_clash(tmp_path: Path) -> None:
    work = tmp_path / "team.xlsx"
    book = xlsxwriter.Workbook(str(work))
    book.add_worksheet("Leads").write(0, 0, "our own leads list")
    book.close()
    before = work.read_bytes()
    with pytest.raises(TransplantError, match='already has sheet named "Leads"'):
        attach(work)
    assert work.read_bytes() == before


def test_attach_twice_is_refused(tmp_path: Path) -> None:
    work = tmp_path / "team.xlsx"
    book = xlsxwriter.Workbook(str(work))
    book.add_worksheet("Pipeline").write(0, 0, "ours")
    book.close()
    attach(work, preset="b2b")
    assert xlcrm.check(work, today=TODAY).ok
    with pytest.raises(TransplantError, match="already attached"):
        attach(work, preset="b2b")


def test_attach_command(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from xlcrm.cli import app

    work = tmp_path / "team.xlsx"
    book = xlsxwriter.Workbook(str(work))
    book.add_worksheet("Numbers").write(0, 0, 42)
    book.close()
    result = CliRunner().invoke(app, ["attach", str(work), "--preset", "b2b", "--locale", "it"])
    assert result.exit_code == 0, result.output
    names = CalamineWorkbook.from_path(str(work)).sheet_names
    assert names[0] == "Numbers" and "Impostazioni" in names
    assert (tmp_path / ".xlcrm-backups").is_dir()
    again = CliRunner().invoke(app, ["attach", str(work)])
    assert again.exit_code == 2 and "already attached" in again.output


def test_patch_appends_rows_and_grows_the_table(tmp_path: Path,
                                                demo_book: Callable[..., Path]) -> None:
    import datetime as dt

    from openxml_audit import OpenXmlValidator

    from xlcrm.xlsx.writer import patch_sheet

    work = copy_of(demo_book("b2b", 30, 3), tmp_path)
    before = xlcrm.load(work)
    deals = before["deals"]
    last = int(deals.index.max())
    schema = before.schema.sheet("deals")
    col = {c.key: before.columns["deals"][c.key] for c in schema.columns}
    new = {(last, col["id"]): "D-009001", (last, col["name"]): "Rossi: new press",
           (last, col["stage"]): "Request sent", (last, col["amount"]): 18500.0,
           (last, col["created"]): dt.date(2026, 11, 20)}
    new[(last - 2, col["next_step"])] = "Call back on Friday"  # an edit in place
    with zipfile.ZipFile(work) as zf:
        original_parts = {n: zf.read(n) for n in zf.namelist()}
    patch_sheet(work, "Deals", new, backups=0)
    after = xlcrm.load(work)
    added = after["deals"].loc[last + 1]
    assert (added["id"], added["stage"], added["amount"]) == ("D-009001", "Request sent", 18500)
    assert added["created"] == dt.datetime(2026, 11, 20)
    assert after["deals"].loc[last - 1, "next_step"] == "Call back on Friday"
    assert len(after["deals"]) == len(deals) + 1
    assert xlcrm.check(work, today=TODAY).ok
    with zipfile.ZipFile(work) as zf:
        table = next(n for n in zf.namelist() if n.startswith("xl/tables/") and
                     b'name="Deals"' in zf.read(n))
        assert f'ref="A1:P{last + 1}"'.encode() in zf.read(table)
        changed = {n for n in zf.namelist() if zf.read(n) != original_parts.get(n)}
        deals_part = next(n for n in changed if n.startswith("xl/worksheets/"))
        row_xml = re.search(rf'<row r="{last + 1}".*?</row>'.encode(), zf.read(deals_part))
    assert row_xml and b"<f>IFERROR(INDEX(Stages" in row_xml.group(0)  # formula column filled
    # the sheet and its table change; the workbook only for the recalculation flag
    assert {deals_part, table} <= changed <= {deals_part, table, "xl/workbook.xml",
                                               "[Content_Types].xml",
                                               "xl/_rels/workbook.xml.rels"}
    assert OpenXmlValidator().validate(work).is_valid



@pytest.mark.libreoffice
def test_pivot_and_chart_made_in_libreoffice_survive_ten_updates(
        office: Office, uno_python: str, demo_book: Callable[..., Path],
        tmp_path: Path) -> None:
    import subprocess

    python = uno_python
    # before any update, so the only charts are the ones LibreOffice adds
    demo = demo_book("dealer", 200, 5, updated=False)
    work = tmp_path / "team.xlsx"
    with office.lock:  # the session's profile, which one LibreOffice at a time may use
        subprocess.run([python, str(Path(__file__).with_name("lo_pivot_chart.py")), str(demo),
                        str(work), "Leads", str(office.profile)], check=True,
                       capture_output=True, timeout=300)
    with zipfile.ZipFile(work) as zf:
        theirs = {n: zf.read(n) for n in zf.namelist()
                  if n.startswith(("xl/pivotTables/", "xl/pivotCache/", "xl/charts/",
                                   "xl/drawings/"))}
    assert any(n.startswith("xl/pivotTables/") for n in theirs)
    assert any(n.startswith("xl/charts/") for n in theirs)
    pivot_values = CalamineWorkbook.from_path(str(work)).get_sheet_by_name(
        "Team pivot").to_python()
    for _ in range(10):
        write_owned_sheets(work, {"Tally": tally, "Funnel": tally, "Dashboard": tally},
                           backups=2)
    with zipfile.ZipFile(work) as zf:
        for name, data in theirs.items():
            assert zf.read(name) == data, name
    assert CalamineWorkbook.from_path(str(work)).get_sheet_by_name(
        "Team pivot").to_python() == pivot_values
    assert xlcrm.check(work, today=TODAY).ok
    reopened = office.convert(work, "xlsx", tmp_path / "lo")  # LibreOffice saves it again
    with zipfile.ZipFile(reopened) as zf:
        assert any(n.startswith("xl/pivotTables/") for n in zf.namelist())
        assert any(n.startswith("xl/charts/") for n in zf.namelist())
    assert len(list((tmp_path / ".xlcrm-backups").iterdir())) == 2
