"""The values of an export's files: each record's cells mapped to the target's formats, and
each value checked against the target's rules (:mod:`xlcrm.exchange.export` writes them).

Work goes column by column: a column's values are read from the workbook's table once (as
``DataFrame.to_dict("records")`` would give them), and each distinct value of a column is
formatted and checked once: at 100,000 leads and 300,000 activities that is a few hundred
thousand formattings instead of millions of cells each looked up anew.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
from typing import Any

import pandas as pd

from ..errors import ExportError
from ..issues import Issue
from ..metrics.identity import is_email, phone_key, stored_email
from ..metrics.person import ERASED
from ..read import Crm
from ..schema import Column, item_labels, normalize_header
from .mapping import ColumnSpec, FileSpec, Mapping_
from .records import Columns, Records, Row, Spec, columns_of, is_empty, spec_values
from .safety import TRIGGERS, neutralize

__all__ = ["Rows", "check_value_maps", "export_rows", "format_number", "item_key"]

_NUMBER_TYPES = frozenset({"money", "number", "integer", "percent"})
#: the workbook column types an export formats as themselves
_KINDS = {"date": "date", "datetime": "datetime", "flag": "flag", "phone": "phone",
          "email": "email"}


def check_value_maps(crm: Crm, spec: Mapping_, files: Iterable[FileSpec]) -> None:
    """Raise one error naming every workbook value (a stage) the mapping can't translate."""
    missing: dict[str, set[str]] = {}
    for fs in files:
        table = crm.tables.get(fs.sheet)
        for col in fs.columns:
            if table is None or col.map in (None, "reps") or col.value not in table:
                continue
            values = spec.values.get(col.values_table, {})
            for v in table[col.value].dropna().unique():
                if item_key(col.map or "", str(v), dict(values)) is None:
                    missing.setdefault(col.values_table, set()).add(str(v))
    if missing:
        parts = [f"{key}: " + ", ".join(f'"{v}"' for v in sorted(vals))
                 for key, vals in sorted(missing.items())]
        tables = ", ".join(f"[values.{key}]" for key in sorted(missing))
        raise ExportError(f"{spec.path.name}: no {spec.name} value for " + "; ".join(parts)
                          + f"; copy {spec.path} to a file of your own, add each under "
                          f"{tables} with the {spec.name} value it stands for, and pass that "
                          "file with --mapping FILE")


def format_number(v: Any) -> str:
    """Return a number with a dot decimal, no symbols or separators (``-1250.5``)."""
    x = float(v)
    return str(int(x)) if x.is_integer() else f"{x:.2f}".rstrip("0")


#: an export file before it is written: its header, its columns (a text per row in each) and
#: each row's record (sheet title, sheet row)
Rows = tuple[list[str], list[list[str]], list[tuple[str, int]]]


def export_rows(crm: Crm, spec: Mapping_, fs: FileSpec, plugin: ModuleType | None,
                issues: list[Issue]) -> Rows:
    """The file's header, columns (a text per row in each) and rows' records, worked out
    column by column (each distinct value of a column formatted and checked once); its
    problems go to ``issues`` record by record, column by column."""
    table = crm.tables.get(fs.sheet)
    header = [c.header for c in fs.columns]
    if table is None:
        return header, [[] for _ in header], []
    sheet = crm.schema.sheet(fs.sheet)
    title = crm.sheet_names.get(fs.sheet, sheet.name)
    reps = _rep_emails(crm)
    records = Records(crm)
    region = str(crm.settings.options.get("phone_region") or "US")
    columns = Columns(table)
    n = len(table)
    wanted = _wanted(crm, fs)
    if fs.where:
        where = columns.get(fs.where) or [None] * n
        keys = [(v.__class__, v) for v in where]  # a stage is judged once, not once a record
        keep = {key: not is_empty(key[1]) and (
            wanted is None or normalize_header(str(key[1])) in wanted)
            for key in dict.fromkeys(keys)}
        kept = [k for k, key in enumerate(keys) if keep[key]]
    else:  # (``where_in`` goes with ``where``)
        kept = list(range(n))
    row_nos = [int(r) for r in table.index]
    last_names = columns.get("last_name")
    erased = [] if last_names is None else [
        p for p, k in enumerate(kept) if str(last_names[k] or "") == ERASED]
    found: list[tuple[int, int, Issue]] = []
    texts: list[list[str]] = []
    targets: dict[str, Any] = {}  # where each link leads, shared by the link's columns
    for i, col in enumerate(fs.columns):
        raws: list[Any]
        ctypes: list[str] | str
        srcs: list[str] | str
        dates = None if erased and col.value in _CONSENT_KEYS else _dates(
            table, col, columns_of(crm)[sheet.key].get(str(col.value)), kept, spec, plugin)
        if dates is not None:
            out, flagged = dates
            raws, ctypes, srcs = [], "date", str(col.value)
        elif col.kind == "consent":
            values = spec.values[col.table or "consent"]
            raws = _consent_states(columns, kept, values)
            ctypes, srcs = "text", "marketing_consent"
        else:
            raws, ctypes, srcs = _resolved(crm, sheet.key, col, columns, kept, records, targets)
            if erased and col.value in _CONSENT_KEYS:
                # the consent went with the person: an erased record is exported opted out
                ctypes = ctypes if isinstance(ctypes, list) else [ctypes] * len(kept)
                srcs = srcs if isinstance(srcs, list) else [srcs] * len(kept)
                for p in erased:
                    raws[p], ctypes[p], srcs[p] = None, "text", str(col.value)
        if dates is None:
            out, flagged = _settled(raws, ctypes, col, spec, reps, region, plugin)
        texts.append(out)
        for pos, problem in flagged:
            row_no = row_nos[kept[pos]]
            src = srcs if isinstance(srcs, str) else srcs[pos]
            found.append((pos, i, Issue(title, crm.cell(fs.sheet, src, row_no),
                                        problem[0], problem[1],
                                        f"{fs.file} {col.header}: {problem[2]}", row_no)))
    found.sort(key=lambda f: f[:2])  # in the order of the records, then of the columns
    issues += [issue for _, _, issue in found]
    return header, texts, [(title, row_nos[k]) for k in kept]


Problem = tuple[Any, str, str]


def _settled(raws: list[Any], ctypes: list[str] | str, col: ColumnSpec, spec: Mapping_,
             reps: dict[str, str], region: str, plugin: ModuleType | None
             ) -> tuple[list[str], list[tuple[int, Problem]]]:
    """One column's texts, and its problems by position; stages, reps, sources and dates
    repeat, so each distinct value (and type) is formatted and checked once, the distinct
    values of a column in one pass each (formatting, then checking) rather than one call
    chain per value."""
    linked = "." in str(col.value)
    check = _checker(col, spec, plugin)
    if check is None and isinstance(ctypes, str) and not col.map and (
            col.kind or _KINDS.get(ctypes) or ("number" if ctypes in _NUMBER_TYPES else "text")
            ) == "text" and set(map(type, raws)) == {str}:
        # texts with nothing to check (IDs, names): as the text formatter writes them, with
        # no need to find the distinct ones first, and as they are when none is blank and
        # none starts with a character a spreadsheet would run (most columns)
        if all(map(str.strip, raws)) and not _may_start_with_trigger(raws):
            return list(raws), []
        return [("'" + raw if raw.startswith(TRIGGERS) else raw) if raw.strip() else ""
                for raw in raws], []
    keys: list[Any] = raws if isinstance(ctypes, str) else list(zip(raws, ctypes))
    try:
        distinct = list(dict.fromkeys(keys))
    except TypeError:  # an unhashable cell value: the column goes value by value
        return _settled_one_by_one(raws, ctypes, col, spec, reps, region, check)
    if isinstance(ctypes, str):
        texts = list(map(_formatter(col, ctypes, spec, reps, region), distinct))
        pairs: Iterable[tuple[Any, str]] = ((raw, ctypes) for raw in distinct)
    else:
        formats: dict[str, Callable[[Any], str]] = {}
        for ctype in dict.fromkeys(c for _, c in distinct):
            formats[ctype] = _formatter(col, ctype, spec, reps, region)
        texts = [formats[ctype](raw) for raw, ctype in distinct]
        pairs = distinct
    bad: dict[Any, Problem] = {}
    if check is not None:
        for key, problem in zip(distinct, map(check, texts)):
            if problem and not (linked and problem[0] == "warning"):
                bad[key] = problem  # a linked record's warning: its own row reports it once
    if not linked and (col.kind == "phone" or (not col.kind and "phone" in (
            [ctypes] if isinstance(ctypes, str) else ctypes))):
        for key, (raw, ctype), text in zip(distinct, pairs, texts):
            if text == "" and (col.kind or ctype) == "phone" and not is_empty(raw):
                bad[key] = ("warning", "export-phone", "")  # the message: the cell's own value
    out = list(map(dict(zip(distinct, texts)).__getitem__, keys))
    if not bad:
        return out, []
    flagged = []
    for p, key in enumerate(keys):
        if key in bad:
            problem = bad[key]
            if problem[1] == "export-phone":  # the value as this cell holds it
                raw = key if isinstance(ctypes, str) else key[0]
                problem = (problem[0], problem[1], f'"{raw}" is not a phone number, left out '
                           "(fix it in the workbook)")
            flagged.append((p, problem))
    return out, flagged


#: the strftime codes a date column is written with a whole column at a time (pandas writes
#: them as ``Timestamp.strftime`` does; others, such as locale names, go value by value)
_VECTOR_CODES = re.compile(r"(%[YmdHMS]|[^%])*")


def _dates(table: pd.DataFrame, col: ColumnSpec, column: Column | None, kept: list[int],
           spec: Mapping_, plugin: ModuleType | None
           ) -> tuple[list[str], list[tuple[int, Problem]]] | None:
    """:func:`_settled` of a date column of the record itself, written by pandas a whole
    column at a time (each distinct date once); None for any other column."""
    value = col.value
    if (col.const is not None or col.map or not value or col.fallback or " " in value
            or "." in value or value not in table.columns):
        return None
    series = table[value]
    kind = col.kind or _KINDS.get(column.type if column else "text")
    if series.dtype != "datetime64[ns]" or kind not in ("date", "datetime"):
        return None
    pattern = spec.date_format if kind == "date" else spec.datetime_format
    if not _VECTOR_CODES.fullmatch(pattern):
        return None
    codes, days = pd.factorize(series.to_numpy()[kept] if len(kept) < len(series)
                               else series.to_numpy())
    when = pd.DatetimeIndex(days)
    if len(when) and not 1000 <= when.year.min() <= when.year.max() <= 9999:
        return None  # four-digit years only: strftime's own width elsewhere
    texts = [*when.strftime(pattern), ""]  # the last one for no date (code -1)
    out = list(map(texts.__getitem__, codes.tolist()))
    check = _checker(col, spec, plugin)
    bad = {c: problem for c, problem in enumerate(map(check, texts)) if problem} \
        if check is not None else {}
    if not bad:
        return out, []
    last = len(texts) - 1
    return out, [(p, bad[last if c < 0 else c]) for p, c in enumerate(codes.tolist())
                 if (last if c < 0 else c) in bad]


def _may_start_with_trigger(texts: list[str]) -> bool:
    """Tell whether one of ``texts`` may start with a character :func:`neutralize` guards
    (a line break inside a text may answer yes where none does: then they go one by one)."""
    lines = "\n" + "\n".join(texts)
    return any("\n" + trigger in lines for trigger in TRIGGERS)


def _settled_one_by_one(raws: list[Any], ctypes: list[str] | str, col: ColumnSpec,
                        spec: Mapping_, reps: dict[str, str], region: str,
                        check: Callable[[str], Problem | None] | None
                        ) -> tuple[list[str], list[tuple[int, Problem]]]:
    """:func:`_settled` of a column holding an unhashable value: value by value, each one
    remembered when it can be."""
    linked = "." in str(col.value)
    formats: dict[str, Callable[[Any], str]] = {}

    def settle(raw: Any, ctype: str) -> tuple[str, Problem | None]:
        fmt = formats.get(ctype)
        if fmt is None:
            fmt = formats[ctype] = _formatter(col, ctype, spec, reps, region)
        text = fmt(raw)
        problem = check(text) if check is not None else None
        if problem and linked and problem[0] == "warning":
            problem = None  # the linked record's own row reports it once
        if text == "" and not linked and (col.kind or ctype) == "phone" and not is_empty(raw):
            problem = ("warning", "export-phone",
                       f'"{raw}" is not a phone number, left out (fix it in the workbook)')
        return text, problem

    pairs = zip(raws, [ctypes] * len(raws) if isinstance(ctypes, str) else ctypes)
    seen: dict[tuple[Any, str], tuple[str, Problem | None]] = {}
    done = [_settle_one(settle, seen, raw, ctype) for raw, ctype in pairs]
    return ([text for text, _ in done],
            [(p, problem) for p, (_, problem) in enumerate(done) if problem])


def _settle_one(settle: Callable[[Any, str], tuple[str, Problem | None]],
                memo: dict[tuple[Any, str], tuple[str, Problem | None]], raw: Any, ctype: str
                ) -> tuple[str, Problem | None]:
    """``settle`` of one value, remembered when the value can be."""
    try:
        return memo[raw, ctype]
    except KeyError:
        memo[raw, ctype] = settle(raw, ctype)
        return memo[raw, ctype]
    except TypeError:
        return settle(raw, ctype)


def _resolved(crm: Crm, sheet_key: str, col: ColumnSpec, columns: Columns,
              kept: list[int], records: Records, targets: dict[str, Any]) -> Spec:
    """The value, workbook column type and source column key of one spec for each kept
    record (a type or key the same for all of them once).

    ``targets`` keeps where each link leads, for the file's other columns through the same
    link (:func:`xlcrm.exchange.records.spec_values`)."""
    find = records.find
    if col.const is not None or not col.value:
        raw, ctype, src = _resolve(crm, sheet_key, col, Row(columns, 0), find)
        return [raw] * len(kept), ctype, src
    if " " not in col.value and "." not in col.value and not col.fallback:
        # a column of the record itself: its values as they are
        spec = columns_of(crm)[sheet_key].get(col.value)
        values = columns.get(col.value)
        return ([None] * len(kept) if values is None else [values[k] for k in kept],
                spec.type if spec else "text", col.value)
    try:
        got = spec_values(crm, sheet_key, col.value, col.fallback, columns, kept, records,
                          targets)
    except TypeError:  # an unhashable cell value: record by record below
        got = None
    if got is not None:
        return got
    # several links away: the answer depends on the record's values in those columns only,
    # so each distinct combination is worked out once (by type too: 1 is not "1")
    links = sorted({key.partition(".")[0]
                    for key in f"{col.value} {col.fallback or ''}".split()})
    deps = [columns.get(link) or [None] * (max(kept) + 1 if kept else 0) for link in links]
    if len(deps) == 1:
        keys: list[Any] = [(type(v), v) for v in map(deps[0].__getitem__, kept)]
    else:
        keys = [tuple((type(d[k]), d[k]) for d in deps) for k in kept]
    try:
        # each key's first record (the reversed pairs leave the first one last written)
        first = dict(zip(reversed(keys), reversed(kept)))
    except TypeError:  # an unhashable cell value
        got_each = [_resolve(crm, sheet_key, col, Row(columns, k), find) for k in kept]
    else:
        memo = {key: _resolve(crm, sheet_key, col, Row(columns, k), find)
                for key, k in first.items()}
        got_each = [memo[key] for key in keys]
    return [g[0] for g in got_each], [g[1] for g in got_each], [g[2] for g in got_each]


#: the workbook's consent columns: what they say of a person is void once the person is erased
_CONSENT_KEYS = frozenset({"marketing_consent", "consent_source"})


def _consent_states(columns: Columns, kept: list[int], values: Mapping[str, str]
                    ) -> list[str]:
    """The key of ``[values.consent]`` for each kept person.

    ``erased`` (``xlcrm forget`` anonymised them), ``no_email`` (only when the vendor's field
    belongs to an e-mail address and the mapping lists that key), ``given`` (a consent date)
    or ``none``: no date means no consent, never a subscription.
    """
    def of(key: str) -> list[Any]:
        got = columns.get(key)
        return [None] * len(kept) if got is None else [got[k] for k in kept]

    no_email = "no_email" in values
    states = []
    for mail, last, consent in zip(of("email"), of("last_name"), of("marketing_consent")):
        if no_email and not stored_email(str(mail or "")):
            states.append("no_email")  # first: an erased person has no e-mail left either
        elif str(last or "") == ERASED:
            states.append("erased")
        else:
            states.append("none" if is_empty(consent) else "given")
    return states


def _wanted(crm: Crm, fs: FileSpec) -> set[str] | None:
    """The spellings (keys and every language's labels) of the list items ``where_in`` keeps."""
    if not fs.where_in or not fs.where:
        return None
    col = columns_of(crm)[fs.sheet].get(fs.where)
    list_key = col.list if col is not None and col.list else fs.where
    return {normalize_header(x) for key in fs.where_in
            for x in [key, *item_labels(list_key, key)]}


def _resolve(crm: Crm, sheet_key: str, col: ColumnSpec, record: Row,
             find: Callable[[str, str], Row | None]) -> tuple[Any, str, str]:
    """Return (value, workbook column type, source column key) of one spec for one record."""
    if col.const is not None:
        return col.const, "text", "id"
    if not col.value:
        return None, "text", "id"
    if " " in col.value or (col.fallback and is_empty(_resolve_one(crm, sheet_key, col.value,
                                                                 record, find)[0])):
        keys = col.value if " " in col.value else str(col.fallback)
        parts = [_resolve_one(crm, sheet_key, k, record, find)[0] for k in keys.split()]
        text = " ".join(str(p).strip() for p in parts if not is_empty(p))
        return text or None, "text", keys.split()[0]
    return _resolve_one(crm, sheet_key, col.value, record, find)


def _resolve_one(crm: Crm, sheet_key: str, value: str, record: Row,
                 find: Callable[[str, str], Row | None]) -> tuple[Any, str, str]:
    columns = columns_of(crm)
    link, _, field_key = value.partition(".")
    col = columns[sheet_key].get(link)
    if not field_key:
        return record.get(link), col.type if col else "text", link
    linked = record.get(link)
    if is_empty(linked) or col is None:
        return None, "text", link
    for ref in col.ref:
        target = find(ref, str(linked))
        if target is not None and "." in field_key:  # two links away: contact.account.name
            return _resolve_one(crm, ref, field_key, target, find)[:2] + (link,)
        if target is not None:
            ref_col = columns[ref].get(field_key)
            return target.get(field_key), ref_col.type if ref_col else "text", link
    return None, "text", link


def _rep_emails(crm: Crm) -> dict[str, str]:
    frame = crm.settings.lists.get("reps")
    if frame is None or "email" not in frame:
        return {}
    return {normalize_header(str(r)): str(e) for r, e in zip(frame.iloc[:, 0], frame["email"])
            if not is_empty(r) and not is_empty(e)}


def _format(raw: Any, col: ColumnSpec, ctype: str, spec: Mapping_, reps: dict[str, str],
            region: str) -> str:
    if is_empty(raw):
        return ""
    kind = col.kind or _KINDS.get(ctype) or ("number" if ctype in _NUMBER_TYPES else "text")
    if kind == "consent":  # raw is a key of [values.consent], checked when the mapping loads
        return neutralize(spec.values[col.table or "consent"][str(raw)])
    if col.map == "reps":
        users = spec.values.get(col.table or "", {})
        user = next((u for r, u in users.items() if normalize_header(r) == normalize_header(
            str(raw)) or normalize_header(u) == normalize_header(str(raw))), None)
        return neutralize(user or reps.get(normalize_header(str(raw)), str(raw)))
    if col.map:
        table = dict(spec.values.get(col.values_table, {}))
        key = item_key(col.map, str(raw), table)
        return neutralize(table[key] if key is not None else str(raw))
    if kind in ("date", "datetime"):
        try:
            when = pd.Timestamp(raw)
        except (TypeError, ValueError):  # a date typed as text the reader could not read
            return neutralize(str(raw))
        fmt = spec.date_format if kind == "date" else spec.datetime_format
        return str(when.strftime(fmt))
    if kind == "number":
        try:
            return neutralize(format_number(raw), kind="number")
        except (TypeError, ValueError):
            return neutralize(str(raw))
    if kind == "flag":
        return spec.true if bool(raw) else spec.false
    if kind == "phone":
        # only a number phonenumbers can place goes out: "n/a", "12345" and "0000000000" are
        # reported on their row instead of reaching the target as a bogus "+00000000"
        return neutralize(phone_key(str(raw), region) or "", kind="phone")
    if kind == "email":
        return neutralize(stored_email(str(raw)) or "")
    if kind == "domain":
        host = re.sub(r"^[a-z]+://", "", str(raw).strip().lower()).split("/")[0]
        return neutralize(host.removeprefix("www."))
    if isinstance(raw, (dt.date, pd.Timestamp)):
        return str(pd.Timestamp(raw).strftime(spec.date_format))
    return neutralize(str(raw))


def item_key(list_key: str, value: str, table: dict[str, str]) -> str | None:
    if value in table:
        return value
    wanted = normalize_header(value)
    for key in table:
        if normalize_header(key) == wanted or any(
                normalize_header(label) == wanted for label in item_labels(list_key, key)):
            return key
    return None


def _checker(col: ColumnSpec, spec: Mapping_, plugin: ModuleType | None
             ) -> Callable[[str], Problem | None] | None:
    """The check of one column's texts, its settings looked up once (not once per value);
    None when the column has nothing to check."""
    required, longest, choices, forbidden = col.required, col.max_length, col.choices, \
        spec.forbidden
    mail = col.kind == "email" or "mail" in col.header.lower()
    plug = plugin.check_value if plugin is not None and hasattr(plugin, "check_value") and (
        not hasattr(plugin, "checks") or plugin.checks(col)) else None
    if not (required or longest or choices or forbidden or mail or plug):
        return None

    def check(text: str) -> Problem | None:
        if not text:
            if required:
                return "error", "export-required", "required by the target and empty"
            return None
        if longest and len(text) > longest:
            return ("error", "export-too-long",
                    f"{len(text)} characters, the target takes at most {longest}")
        if choices and text not in choices:
            return ("error", "export-picklist",
                    f'"{text}" is not one of the target\'s values ({", ".join(choices)})')
        bad = sorted(set(text).intersection(forbidden)) if forbidden else []
        if bad:
            return ("error", "export-character",
                    f"contains {' '.join(bad)}, which the target's importer refuses")
        if mail and "@" in text and not is_email(text):
            return "warning", "export-email", f'"{text}" is not a valid e-mail address'
        if plug is not None:
            message = plug(col, text)
            if message:
                return "error", "export-" + spec.key, str(message)
        return None
    return check


def _formatter(col: ColumnSpec, ctype: str, spec: Mapping_, reps: dict[str, str],
               region: str) -> Callable[[Any], str]:
    """:func:`_format` of one column and workbook type; a text column's texts straight."""
    kind = col.kind or _KINDS.get(ctype) or ("number" if ctype in _NUMBER_TYPES else "text")
    if col.map:
        return lambda raw: _format(raw, col, ctype, spec, reps, region)
    if kind in ("date", "datetime"):
        pattern = spec.date_format if kind == "date" else spec.datetime_format

        def when(raw: Any) -> str:
            if raw.__class__ is pd.Timestamp:  # as pd.Timestamp(raw) would write it (not NaT)
                return str(raw.strftime(pattern))
            return _format(raw, col, ctype, spec, reps, region)
        return when
    if kind == "email":
        def mail(raw: Any) -> str:
            if raw.__class__ is str and raw.strip():  # not empty, as _format would check
                return neutralize(stored_email(raw) or "")
            return _format(raw, col, ctype, spec, reps, region)
        return mail
    if kind == "phone":
        def phone(raw: Any) -> str:
            if raw.__class__ is str and raw.strip():  # not empty, as _format would check
                return neutralize(phone_key(raw, region) or "", kind="phone")
            return _format(raw, col, ctype, spec, reps, region)
        return phone
    if kind != "text":
        return lambda raw: _format(raw, col, ctype, spec, reps, region)

    def text(raw: Any) -> str:
        if raw.__class__ is str:  # as _empty, then neutralize, would answer
            if not raw.strip():
                return ""
            return "'" + raw if raw.startswith(TRIGGERS) else raw
        return _format(raw, col, ctype, spec, reps, region)
    return text
