"""An export works a whole column at a time, and writes what a record-by-record export wrote.

At 100,000 leads an export finds each spec's values for whole columns (links followed once
per distinct ID), writes date columns through pandas, and builds the CSV lines itself instead
of through the csv module. Each of these is compared here, on small workbooks with the awkward
values (links to nowhere, blank cells, non-ASCII names, quotes, commas, line breaks), with the
plain way it stands for: the record-by-record lookup, ``Timestamp.strftime`` per value,
``csv.writer`` and a line-by-line split.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

import pandas as pd
import pytest

from xlcrm import generate_demo, load
from xlcrm.exchange import export as export_module
from xlcrm.exchange.mapping import load_mapping
from xlcrm.exchange.records import Columns, Records, Row
from xlcrm.exchange.rules import Table
from xlcrm.exchange.values import _dates, _format, _resolve, _resolved, _wanted, export_rows
from xlcrm.sheets.workbook import write_new_workbook

from ._helpers import PRESETS, TODAY

TARGETS = ["dynamics", "hubspot", "pipedrive", "salesforce", "zoho"]


@pytest.fixture(scope="module")
def awkward_books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small workbook per preset with the values a column-wise shortcut could get wrong."""
    out = tmp_path_factory.mktemp("columnwise")
    books = {}
    for preset in PRESETS:
        data = generate_demo(preset, leads=60, seed=3, today=TODAY)
        for table in data.data.values():
            for column, values in table.items():
                if column in ("first_name", "name", "subject", "notes") and len(values) > 3:
                    values[0] = "Zoë, \"the\" Ñandú"  # non-ASCII, a comma and quotes
                    values[1] = "two\nlines"
                    values[2] = "   "  # blank for the export
                    values[3] = "=1+1"  # guarded against formulas
            for link in ("lead", "contact", "account", "record"):
                if link in table and len(table[link]) > 6:
                    table[link][4] = "X-404"  # a link to no record
                    table[link][5] = None
                    table[link][6] = table[link][7]  # two records linking to one
        books[preset] = write_new_workbook(out / f"{preset}.xlsx", data.schema, data.data,
                                           options=data.options,
                                           settings_rows=data.settings_rows)
    return books


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("preset", PRESETS)
def test_column_values_are_the_record_by_record_values(awkward_books: dict[str, Path],
                                                       preset: str, target: str) -> None:
    crm = load(awkward_books[preset])
    spec = load_mapping(target)
    checked = 0
    for fs in spec.files_for(preset):
        table = crm.tables[fs.sheet]
        columns, records = Columns(table), Records(crm)
        wanted = _wanted(crm, fs)
        kept = list(range(len(table))) if wanted is None else [
            k for k in range(len(table)) if str(columns.get(str(fs.where))[k]).strip().lower()
            in wanted]
        sheet = crm.schema.sheet(fs.sheet).key
        for col in fs.columns:
            if col.kind == "consent":
                continue
            raws, ctypes, srcs = _resolved(crm, sheet, col, columns, kept, records, {})
            one_by_one = [_resolve(crm, sheet, col, Row(columns, k), records.find)
                          for k in kept]
            n = len(kept)
            as_lists = list(zip(raws,
                                [ctypes] * n if isinstance(ctypes, str) else ctypes,
                                [srcs] * n if isinstance(srcs, str) else srcs))
            assert [tuple(map(repr, t)) for t in as_lists] == \
                [tuple(map(repr, t)) for t in one_by_one], (fs.file, col.header)
            checked += 1
    assert checked > 5


@pytest.mark.parametrize("target", TARGETS)
def test_date_columns_are_written_as_strftime_writes_each_date(
        awkward_books: dict[str, Path], target: str) -> None:
    crm = load(awkward_books["dealer"])
    spec = load_mapping(target)
    seen = 0
    for fs in spec.files_for("dealer"):
        table = crm.tables[fs.sheet]
        index = {c.key: c for c in crm.schema.sheet(fs.sheet).columns}
        kept = list(range(len(table)))
        for col in fs.columns:
            got = _dates(table, col, index.get(str(col.value)), kept, spec, None)
            if got is None:
                continue
            ctype = index[str(col.value)].type
            plain = [_format(v, col, ctype, spec, {}, "US")
                     for v in Columns(table).get(str(col.value)) or []]
            assert got[0] == plain, (fs.file, col.header)
            seen += 1 + sum(1 for v in table[str(col.value)] if pd.isna(v))
    assert seen > 1  # some date column, with empty cells among them


AWKWARD_ROWS = [
    ["plain", "", "with, comma", 'with "quotes"', "two\nlines", "cr\rhere", "Zoë"],
    ["  spaces  ", "\x00nul", "", "", "", "", ""],
    ["=1+1", "'quoted", "ü", "a,b\"c\r\nd", "x", "y", "z"],
]


@pytest.mark.parametrize("codec", ["utf-8", "utf-8-sig"])
@pytest.mark.parametrize("width", [1, 2, 7])
def test_csv_lines_are_the_csv_modules_lines(codec: str, width: int) -> None:
    rows = [r[:width] for r in AWKWARD_ROWS] + [[""] * width]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    lines = buf.getvalue()
    plain = codec.replace("-sig", "")
    body = export_module._Body([list(c) for c in zip(*rows)], len(rows), plain)
    assert body.text(0, len(rows)) == lines
    assert body.text(2, 2) == ""
    each = [export_module._csv_line(row) for row in rows]  # one csv.writer line per row
    assert [body.text(i, i + 1) for i in range(len(rows))] == each
    assert body.text(1, 3) == each[1] + each[2]
    assert body.sizes == [len(line.encode(plain)) for line in each]


def test_parts_are_cut_as_a_line_by_line_split_cuts_them(awkward_books: dict[str, Path],
                                                          tmp_path: Path) -> None:
    crm = load(awkward_books["dealer"])
    spec = load_mapping("hubspot")
    fs = spec.files_for("dealer")[0]
    header, columns, origins = export_rows(crm, spec, fs, None, [])
    table = Table(fs, header, columns, origins, "Leads")
    for max_bytes, max_rows in [(2_000, 1000), (700, 3), (10, 1000), (10**9, 7)]:
        small = dataclasses.replace(spec, max_bytes=max_bytes)
        folder = tmp_path / f"{max_bytes}-{max_rows}"
        folder.mkdir()
        written = export_module._write(folder, table, 1, small, max_rows)
        # the split as a person would do it: add lines to a part while they fit
        head = export_module._csv_line(header)
        parts: list[list[str]] = [[]]
        size = len(head.encode())
        for row in zip(*columns):
            line = export_module._csv_line(list(row))
            n = len(line.encode())
            if parts[-1] and (len(parts[-1]) >= max_rows or size + n > max_bytes):
                parts.append([])
                size = len(head.encode())
            parts[-1].append(line)
            size += n
        assert [f.rows for f in written] == [len(p) for p in parts]
        assert [(folder / f.file).read_bytes().decode() for f in written] == \
            [head + "".join(p) for p in parts]
