"""The owned *Data quality* sheet: what ``xlcrm clean`` found, laid out for a person to act on.

A summary by check, the possible duplicates in groups (oldest first, with a *Merge* column a
person marks with ``x``), and every other finding with a link to the cell to fix. Layout only:
the groups and findings come from :mod:`xlcrm.metrics.quality`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..crm import Crm
from ..metrics.quality import CHECK_NAMES, DuplicateGroup, Finding
from ..schema import Schema
from ..xlsx.writer import SheetBuilder
from .style import Formats, banner, cell_value
from .words import owned_text

__all__ = ["DUPLICATE_HEADER", "FINDING_HEADER", "duplicate_header", "quality_builder"]

#: the duplicates table's header; its first and last cells find the table when read back
DUPLICATE_HEADER = ("Group", "Sheet", "Record", "Name", "E-mail", "Phone", "Company", "Created",
                    "Score", "Reason", "Merge")
#: the other findings' table header
FINDING_HEADER = ("Check", "Severity", "Sheet", "Cell", "Record", "Problem")
#: the columns' keys, for their headers in the workbook's language (``quality_<key>``)
_DUPLICATE_KEYS = ("group", "sheet", "record", "name", "email", "phone", "company", "created",
                   "score", "reason", "merge")
_FINDING_KEYS = ("check", "severity", "sheet", "cell", "record", "problem")
#: a summary row's name -> its check (the summary counts by name)
_CHECK_OF = {name: check for check, name in CHECK_NAMES.items()}


def duplicate_header(schema: Schema) -> tuple[str, ...]:
    """The duplicates table's header in ``schema``'s language (:data:`DUPLICATE_HEADER` in
    English)."""
    text = owned_text(schema)
    return tuple(text[f"quality_{key}"] for key in _DUPLICATE_KEYS)


def quality_builder(crm: Crm, groups: list[DuplicateGroup], findings: list[Finding], *,
                    counts: dict[str, int], today: dt.date,
                    marked: set[tuple[str, str]]) -> SheetBuilder:
    """Lay out the Data quality sheet.

    Args:
        crm: the loaded workbook (the duplicates' names, e-mails, phones, companies).
        groups: the possible duplicates, in the order to show them.
        findings: every other finding, in the order to show them.
        counts: how many of each check, as the summary shows them.
        today: the day the findings are for.
        marked: (sheet name, record id) of the records whose Merge cell keeps its ``x``.
    """
    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> None:
        f = Formats(book, crm.schema)
        mark = book.add_format({"bg_color": "#FFF2CC", "border": 1, "border_color": "#BF9000",
                                "align": "center"})
        first = book.add_format({"top": 1, "top_color": "#A9D08E"})
        link = book.add_format({"font_color": "#0563C1", "underline": 1})
        group_fmt = {True: book.add_format({"align": "center", "top": 1,
                                            "top_color": "#A9D08E"}),
                     False: book.add_format({"align": "center"})}
        text = owned_text(crm.schema)
        banner(ws, crm.schema, f, text["quality_title"],
               text.get("quality_note", today=f"{today:%Y-%m-%d}", merge=text["quality_merge"]),
               key="data_quality")
        ws.write_string(0, 0, text.get("quality_banner", merge=text["quality_merge"]),
                        f.banner)
        ws.write_string(3, 3, text["quality_merge_note"], f.note)
        ws.write_string(3, 0, text["quality_summary"], f.title)
        for i, (name, n) in enumerate(counts.items()):
            label = name.capitalize() if name[0].islower() else name
            check = _CHECK_OF.get(name, name)
            ws.write_string(4 + i, 0, text.words.get(f"quality_check_{_key(check)}", label))
            ws.write_number(4 + i, 1, n, f.int)
        row = 5 + len(counts)
        ws.write_string(row, 0, text["quality_duplicates"], f.title)
        ws.write_row(row + 1, 0, list(duplicate_header(crm.schema)), f.head)
        ws.freeze_panes(0, 0)
        row += 2
        row_of: dict[str, dict[Any, Any]] = {}  # per sheet, built once: id -> row
        for g_no, group in enumerate(groups, 1):
            sheet_name = crm.sheet_names[group.sheet]
            frame = crm.tables[group.sheet]
            if group.sheet not in row_of:
                row_of[group.sheet] = {v: r for r, v in frame["id"].items()}
            by_id = row_of[group.sheet]
            for k, rid in enumerate(group.ids):
                rec = frame.loc[by_id[rid]]
                fmt = first if k == 0 else None
                name = (" ".join(str(rec[c]) for c in ("first_name", "last_name")
                                 if c in rec and isinstance(rec[c], str))
                        if group.sheet != "accounts" else str(rec.get("name") or ""))
                company = _company(crm, group.sheet, rec)
                values = [g_no, sheet_name, rid, name, _text(rec.get("email")),
                          _text(rec.get("phone")), company]
                for c, v in enumerate(values):
                    if isinstance(v, int):
                        ws.write_number(row, c, v, group_fmt[k == 0])
                    elif c == 2:
                        cell = crm.cell(group.sheet, "id", int(by_id[rid]))
                        where = f"internal:{_ref(sheet_name)}!{cell}"
                        ws.write_url(row, c, where, link, string=str(v))
                    else:
                        ws.write_string(row, c, str(v or ""), fmt)
                created = cell_value(rec.get("created"))
                if isinstance(created, dt.datetime):
                    ws.write_datetime(row, 7, created, f.date)
                else:
                    ws.write_blank(row, 7, None, fmt)
                if k == 0:
                    ws.write_number(row, 8, group.score, f.pct)
                    ws.write_string(row, 9, text["quality_oldest_kept"], fmt)
                else:
                    ws.write_blank(row, 8, None)
                    ws.write_string(row, 9, group.reasons.get(rid, ""))
                ws.write_string(row, 10, "x" if (sheet_name, rid) in marked else "", mark)
                row += 1
        if not groups:
            ws.write_string(row, 0, text["quality_no_duplicates"], f.note)
            row += 1
        row += 1
        ws.write_string(row, 0, text["quality_other_findings"], f.title)
        ws.write_row(row + 1, 0, [text[f"quality_{key}"] for key in _FINDING_KEYS], f.head)
        row += 2
        for finding in findings:
            ws.write_string(row, 0, text.words.get(f"quality_check_{_key(finding.check)}",
                                                   CHECK_NAMES.get(finding.check,
                                                                   finding.check)))
            ws.write_string(row, 1, text.words.get(f"quality_severity_{finding.severity}",
                                                   finding.severity))
            ws.write_string(row, 2, finding.sheet)
            ws.write_url(row, 3, f"internal:{_ref(finding.sheet)}!{finding.cell}", link,
                         string=finding.cell)
            ws.write_string(row, 4, finding.record)
            ws.write_string(row, 5, finding.message)
            row += 1
        if not findings:
            ws.write_string(row, 0, text["quality_nothing_else"], f.note)
        ws.set_column(0, 0, 22)
        ws.set_column(1, 2, 12)
        ws.set_column(3, 3, 22)
        ws.set_column(4, 4, 34)
        ws.set_column(5, 5, 60)
        ws.set_column(6, 6, 26)
        ws.set_column(7, 8, 11)
        ws.set_column(9, 9, 44)
        ws.set_column(10, 10, 8)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
    return build


def _key(name: str) -> str:
    """A check's or count's name as a locale key: "no-contact-data" -> "no_contact_data"."""
    return "".join(ch if ch.isalnum() else "_" for ch in name.casefold()).strip("_")


def _ref(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


def _text(v: Any) -> str:
    return v.strip() if isinstance(v, str) else ""


def _company(crm: Crm, key: str, rec: pd.Series) -> str:
    if key == "accounts":
        return _text(rec.get("website"))
    account = rec.get("account")
    if isinstance(account, str) and "accounts" in crm.tables:
        accounts = crm.tables["accounts"]
        hit = accounts.loc[accounts["id"] == account, "name"]
        return f"{account} {hit.iloc[0]}" if len(hit) else account
    return ""
