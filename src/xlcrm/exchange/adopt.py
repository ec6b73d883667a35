"""Turn a team's own CRM spreadsheet into an xlcrm workbook: ``xlcrm.adopt``.

Every sheet of the old workbook is read; its header row is found below any title rows (merged
or not) as the row whose cells best match the preset's column names; the sheet goes to the data
sheet whose columns it matches best (people to Leads or Contacts, companies to Accounts, deals
to Deals); each column is mapped by label, alias or similarity, with a confidence. Full names
are split, phones become E.164, dates are read in the order the sheet uses; a company named on
a contact becomes a link to that account (created when the sheet of companies lacks it); owners
and sources found in the data join the Settings lists. Columns that match nothing are kept as
extra columns beside the table, and everything that could not be placed is listed.
"""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ImportFileError
from ..issues import column_letter
from ..metrics.identity import phone_key, stored_email, stored_phone
from ..read import sheet_header_names
from ..schema import Schema, load_schema, normalize_header
from ..sheets.workbook import write_new_workbook
from ..xlsx.bounds import bounded_reader
from ..xlsx.crypto import with_password
from ..xlsx.parts import read_outline
from ..xlsx.save import prepare_target, safe_save
from .matching import ColumnMatch, match_columns, put_full_name
from .oldsheets import (
    REP_FROM_TAB,
    YES,
    date_yes_marks,
    kept_columns,
    rep_key_of,
    reps_by_sheet,
    won_stage,
    yes_no_dates,
)
from .sources import HEADER_SCAN_ROWS, check_sheet_file, detect_date_order

__all__ = ["AdoptResult", "AdoptedSheet", "adopt"]

MIN_COLUMNS = 2  # a sheet needs this many recognised columns to be taken


@dataclass
class AdoptedSheet:
    """One sheet of the old workbook and where it went."""

    old: str
    sheet: str | None
    header_row: int
    rows: int
    mapping: list[ColumnMatch] = field(default_factory=list)


@dataclass
class AdoptResult:
    """The new workbook, what went where, and what could not be placed."""

    path: Path
    sheets: list[AdoptedSheet] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)
    records: dict[str, int] = field(default_factory=dict)
    #: where each choice was saved (sheet, header row, columns, salesperson), to change and
    #: pass again with ``mapping``
    mapping_file: Path | None = None


def _read_grids(path: Path) -> dict[str, list[list[Any]]]:
    from python_calamine import CalamineError

    check_sheet_file(path)  # the zip and XML limits every file xlcrm opens is held to
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        outline = read_outline(path)
        if outline.identities or "xlcrm_preset" in outline.properties:
            raise ImportFileError(f"{path.name}: is already an xlcrm workbook; use it as it "
                                  "is (xlcrm check, xlcrm update), nothing to adopt")
    try:
        with bounded_reader(path) as book:
            return {name: book.get_sheet_by_name(name).to_python(skip_empty_area=False)
                    for name in book.sheet_names}
    except (CalamineError, OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ImportFileError(f"{path.name}: can't be read as a workbook ({first})") from None


def _best_header(grid: list[list[Any]], schema: Schema, saved: dict[str, Any] | None = None
                 ) -> tuple[int, str | None, list[ColumnMatch]]:
    """Find the header row and the data sheet it fits best: (row index, sheet key, mapping).

    A ``saved`` choice (from a mapping file: ``sheet``, ``header_row``, ``columns``) wins."""
    if saved is not None and "sheet" in saved:
        key = saved["sheet"] if saved["sheet"] in {s.key for s in schema.data_sheets} else None
        r = int(saved.get("header_row") or 1) - 1
        if key is None or not 0 <= r < len(grid):
            return -1, None, []
        texts = [str(v).strip() if v not in (None, "") else "" for v in grid[r]]
        return r, key, match_columns(texts, schema.sheet(key),
                                     sheet_header_names(schema.preset, key),
                                     saved.get("columns") or {})
    best: tuple[float, int, str | None, list[ColumnMatch]] = (0.0, -1, None, [])
    for r, row in enumerate(grid[:HEADER_SCAN_ROWS]):
        texts = [str(v).strip() if v not in (None, "") else "" for v in row]
        if sum(1 for t in texts if t) < MIN_COLUMNS:
            continue  # a title row (merged across the table) or a blank one
        for sheet in schema.data_sheets:
            names = sheet_header_names(schema.preset, sheet.key)
            matches = match_columns(texts, sheet, names)
            score = sum(m.confidence for m in matches if m.column)
            if sheet.key == schema.lead_sheet:
                score += 0.5  # people lists are the usual ad-hoc CRM
            if sum(1 for m in matches if m.column) >= MIN_COLUMNS and score > best[0]:
                best = (score, r, sheet.key, matches)
    return best[1], best[2], best[3]


@with_password
def adopt(old: str | Path, new: str | Path, *, preset: str = "dealer", locale: str = "en",
          force: bool = False, today: dt.date | None = None,
          mapping: str | Path | None = None, password: str | None = None) -> AdoptResult:
    """Write ``new``, an xlcrm workbook holding the records of the spreadsheet ``old``.

    Args:
        old: the team's existing spreadsheet (only read).
        new: the xlcrm workbook to write.
        preset: ``dealer`` or ``b2b``.
        locale: language of the new workbook's labels.
        force: overwrite ``new`` when it exists.
        today: the date stamped as created on records that have none.
        mapping: a mapping file of an earlier adoption, changed by hand where a choice was
            wrong (by default ``OLD.xlcrm-adopt.json`` beside ``old``, when it exists); every
            choice made is saved there for next time.
        password: the workbook's password when it is encrypted; it is decrypted in
            memory only and every workbook written is encrypted with it.

    Returns:
        Where each old sheet went with its column mapping, and what could not be placed.

    Raises:
        ImportFileError: ``old`` can't be read, or no sheet of it looks like CRM records.
    """
    old, schema = Path(old), load_schema(preset, locale)
    target = prepare_target(new, force=force)
    stamp = dt.datetime.combine(today or dt.date.today(), dt.time())
    grids = _read_grids(old)
    result = AdoptResult(target)
    saved_path = Path(mapping) if mapping else old.with_name(old.stem + ".xlcrm-adopt.json")
    saved: dict[str, Any] = {}
    if mapping or saved_path.exists():
        try:
            saved = dict(json.loads(saved_path.read_text(encoding="utf-8"))["sheets"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ImportFileError(f"{saved_path}: not a saved xlcrm adoption mapping ({exc})"
                                  ) from None
    data: dict[str, dict[str, list[Any]]] = {
        s.key: {c.key: [] for c in s.columns} for s in schema.data_sheets}
    extras: dict[str, dict[str, list[Any]]] = {}
    account_names: dict[str, str] = {}
    region = str(schema.option("phone_region"))
    from ..read import Coercer

    found_any = False
    placed = {name: _best_header(grid, schema, saved.get(name)) for name, grid in grids.items()}
    reps = reps_by_sheet(placed, schema, saved)
    won = won_stage(next((lst.rows for lst in schema.lists if lst.key == "stages"), ()))
    choices: dict[str, Any] = {}
    rank = {s.key: i for i, s in enumerate(schema.data_sheets)}  # parents (accounts) first
    for name in sorted(grids, key=lambda n: rank.get(placed[n][1] or "", 99)):
        grid = grids[name]
        r, key, matches = placed[name]
        if key is None:
            choices[name] = {"sheet": None}
            if any(any(v not in (None, "") for v in row) for row in grid):
                result.unplaced.append(f'sheet "{name}": no columns a CRM sheet has; not taken')
            result.sheets.append(AdoptedSheet(name, None, 0, 0))
            continue
        found_any = True
        sheet = schema.sheet(key)
        columns = data[key]
        body = [(i + 1, row) for i, row in enumerate(grid[r + 1:], start=r + 1)
                if any(v not in (None, "") for v in row)]
        dates = [i for i, m in enumerate(matches) if m.column and m.column != "full_name"
                 and sheet.column(m.column).type in ("date", "datetime")]
        order = detect_date_order([row[i] for _, row in body for i in dates if i < len(row)],
                                  str(schema.option("date_order")))
        coercer = Coercer(date_order=order, date1904=False, yes=schema.locale.yes,
                          no=schema.locale.no)
        yes_no = yes_no_dates(sheet, matches, body, coercer)
        marked = dict.fromkeys(yes_no, 0)
        rep = reps.get(name)
        rep_key = rep_key_of(sheet)
        company_col = _company_column(grid[r], matches, schema, key)
        extra_cols = [(i, m.header) for i, m in enumerate(matches)
                      if not m.column and m.header and i != company_col]
        for _, header in extra_cols:
            result.unplaced.append(f'{name}!{header}: no matching column; kept as an extra '
                                   f"column of {sheet.name}")
        # kept columns line up with the records of every old sheet going to this data sheet:
        # a header first seen on a later sheet is empty on the records before it
        sheet_extras = extras.setdefault(key, {})
        for _, header in extra_cols:
            sheet_extras.setdefault(header, [None] * len(columns["id"]))
        taken = 0
        for line, row in body:
            values: dict[str, Any] = {}
            for i, m in enumerate(matches):
                raw = row[i] if i < len(row) else None
                if not m.column or raw in (None, "") or i == company_col:
                    continue
                if m.column == "full_name":
                    put_full_name(values, raw)
                    continue
                if i in yes_no:  # "Sold?" Y/N: the step happened, on no day the sheet gives
                    if coercer.flag(raw)[0]:
                        values[m.column] = YES
                        marked[i] += 1
                    continue
                value, problem = _coerce_plain(sheet.column(m.column), raw, coercer, region)
                if problem:
                    result.unplaced.append(f'{name}!{column_letter(i)}{line} ({m.header}): '
                                           f'"{raw}" {problem}; left empty')
                elif value is not None:
                    values[m.column] = value
                    if m.column == "phone" and not phone_key(str(value), region):
                        result.unplaced.append(
                            f'{name}!{column_letter(i)}{line} ({m.header}): "{raw}" is not a '
                            f"phone number of {region} or with a country code; kept as typed "
                            "for you to fix")
            if company_col is not None and company_col < len(row) and row[company_col]:
                values["account"] = _account_id(str(row[company_col]).strip(), data,
                                                account_names, schema, stamp)
            required = [c.key for c in sheet.columns
                        if c.required and c.key not in ("id", "created", "source")]
            if not any(k in values for k in required):
                result.unplaced.append(f"{name}!row {line}: no {', '.join(required)}; "
                                       "row not taken")
                continue
            values.setdefault("created", stamp if sheet.has_column("created") else None)
            if rep and rep_key and not values.get(rep_key):
                values[rep_key] = rep  # one sheet per salesperson: the tab names the rep
            date_yes_marks(values, sheet, schema, won)
            if sheet.has_column("source") and sheet.column("source").required:
                values.setdefault("source", old.stem)  # first touch: the adopted sheet
            for col in sheet.columns:
                columns[col.key].append(values.get(col.key))
            here = {header: row[i] if i < len(row) else None for i, header in extra_cols}
            for header, kept_values in sheet_extras.items():
                kept_values.append(here.get(header))
            taken += 1
        for i, n_yes in marked.items():
            step = sheet.column(str(matches[i].column)).header
            result.unplaced.append(
                f"{name}!{matches[i].header}: yes/no, read as {step}: "
                f"{n_yes} yes dated with the record's created day, as the sheet gives no day "
                "(correct it where you know it)")
        shown = list(matches)
        if rep and rep_key:
            mine = bool(saved.get(name, {}).get("salesperson"))  # a person's choice: certain
            shown.append(ColumnMatch(f"(sheet name) {rep}", rep_key,
                                     1.0 if mine else REP_FROM_TAB,
                                     "saved" if mine else "sheet name"))
        choices[name] = {"sheet": key, "header_row": r + 1,
                         "columns": {m.header: m.column for m in matches if m.header},
                         "salesperson": rep if rep_key else None}
        result.sheets.append(AdoptedSheet(name, key, r + 1, taken, shown))
    if not found_any:
        raise ImportFileError(f"{old.name}: no sheet has columns a CRM sheet has (names, "
                              "e-mails, phones, companies, deals); nothing to adopt")
    settings_rows = _fill_ids_and_lists(schema, data, result)
    result.records = {k: len(v["id"]) for k, v in data.items() if v["id"]}
    kept = {key: kept_columns(columns, str(schema.option("date_order")))
            for key, columns in extras.items() if columns}
    safe_save(target, lambda tmp: write_new_workbook(tmp, schema, data, extras=kept,
                                                     settings_rows=settings_rows), force=force)
    saved_path.write_text(json.dumps({"sheets": choices}, indent=2, ensure_ascii=False) + "\n",
                          encoding="utf-8")
    result.mapping_file = saved_path
    return result


def _coerce_plain(col: Any, raw: Any, coercer: Any, region: str) -> tuple[Any, str | None]:
    """Coerce without a Crm: like the importer, lists left as typed (they join Settings)."""
    if isinstance(raw, str):
        raw = raw.strip()
    value, problem = (coercer.date(raw) if col.type == "date" else
                      coercer.datetime(raw) if col.type == "datetime" else
                      coercer.number(raw, percent=col.type == "percent")
                      if col.type in ("money", "number", "integer", "percent") else
                      coercer.flag(raw) if col.type == "flag" else coercer.text(raw))
    if problem or value is None:
        return value, problem
    if col.type == "phone":
        value = stored_phone(str(value), region)
    if col.type == "email":
        value = stored_email(str(value))
    return value, None


def _company_column(header_row: list[Any], matches: list[ColumnMatch], schema: Schema,
                    key: str) -> int | None:
    """The column naming a contact's company, on a sheet whose records link to accounts."""
    sheet = schema.sheet(key)
    if key == "accounts" or not sheet.has_column("account"):
        return None
    for i, m in enumerate(matches):
        if m.column == "account":  # an old sheet names the company; xlcrm links by id
            return i
    names = {n for n, k in sheet_header_names(schema.preset, "accounts").items() if k == "name"}
    for i, v in enumerate(header_row):
        if isinstance(v, str) and normalize_header(v) in names:
            return i
    return None


def _account_id(company: str, data: dict[str, dict[str, list[Any]]],
                account_names: dict[str, str], schema: Schema, stamp: dt.datetime) -> str:
    wanted = normalize_header(company)
    if wanted in account_names:
        return account_names[wanted]
    accounts = data["accounts"]
    for i, name in enumerate(accounts["name"]):
        if isinstance(name, str) and normalize_header(name) == wanted:
            if not accounts["id"][i]:
                accounts["id"][i] = f"{schema.sheet('accounts').id_prefix}-new-{i}"
            account_names[wanted] = accounts["id"][i]
            return str(accounts["id"][i])
    ident = f"{schema.sheet('accounts').id_prefix}-new-{len(accounts['name'])}"
    for col in accounts:
        accounts[col].append({"id": ident, "name": company,
                              "created": stamp.date()}.get(col))
    account_names[wanted] = ident
    return ident


def _fill_ids_and_lists(schema: Schema, data: dict[str, dict[str, list[Any]]],
                        result: AdoptResult) -> dict[str, list[tuple[Any, ...]]]:
    """Give every record an id, fix the links to them, and add found owners and sources."""
    renamed: dict[str, str] = {}
    for sheet in schema.data_sheets:
        cols = data[sheet.key]
        used = {str(i) for i in cols["id"] if i and "-new-" not in str(i)}
        n = 0
        for i, ident in enumerate(cols["id"]):
            if ident and "-new-" not in str(ident):
                continue
            while True:
                n += 1
                fresh = f"{sheet.id_prefix}-{n:06d}"
                if fresh not in used:
                    break
            if ident:
                renamed[str(ident)] = fresh
            cols["id"][i] = fresh
    for sheet in schema.data_sheets:
        for col in sheet.columns:
            if col.type == "link":
                values = data[sheet.key][col.key]
                data[sheet.key][col.key] = [renamed.get(str(v), v) if v else v for v in values]
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for lst in schema.lists:
        if lst.key in ("stages", "outcomes", "scoring"):  # stages need a probability
            continue
        list_key = lst.key
        have = {normalize_header(str(r[0])) for r in lst.rows}
        found: list[str] = []
        for sheet in schema.data_sheets:
            for col in sheet.columns:
                if col.list == list_key:
                    for v in data[sheet.key][col.key]:
                        if isinstance(v, str) and v and normalize_header(v) not in have:
                            have.add(normalize_header(v))
                            found.append(v)
        if found:
            fill = {"reps": (None, None, True), "sources": (0,)}.get(list_key, ())
            extra = [tuple([v, *fill, *[None] * len(lst.columns)][: len(lst.columns)])
                     for v in found]
            rows[list_key] = [*lst.rows, *extra]
            result.unplaced.append(f"Settings {lst.title}: added " + ", ".join(found))
    return rows
