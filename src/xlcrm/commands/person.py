"""Everything the workbook holds on one person: the twin of ``xlcrm person`` (an access or a
portability request).

The person is found by id, e-mail or phone through the one identity rule, and every row of
every sheet that refers to them is gathered (:mod:`xlcrm.metrics.person`): their records,
activities, tasks, deals, tickets, documents, stage history, merge log, data quality findings,
agenda lines and scores. Written as JSON (machine-readable) or as a workbook with one sheet per
sheet of the CRM (readable); with a password, that workbook is encrypted too.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..crm import Crm
from ..errors import ArgumentError, WorkbookExistsError
from ..metrics.person import PersonRows, find_person
from ..read import load
from ..xlsx.cells import read_book
from ..xlsx.crypto import sealed_output, with_password
from ..xlsx.writer import new_book

__all__ = ["PersonResult", "person", "read_all_sheets", "require_one_key"]


@dataclass
class PersonResult:
    """What ``person`` found on one person.

    Attributes:
        path: the CRM workbook.
        asked: what the person was looked up by (``{"email": ...}``).
        found: the person's ids and every row referring to them.
        out: the file written, if any.
    """

    path: Path
    asked: dict[str, str]
    found: PersonRows
    out: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        """The whole answer as plain data: what JSON holds."""
        sheets: dict[str, list[dict[str, Any]]] = {}
        for f in self.found.findings:
            sheets.setdefault(f.sheet, []).append({
                "row": f.row, "why": f.why, "record": f.record,
                "values": {k: _plain(v) for k, v in f.values.items()}})
        return {"workbook": self.path.name, "asked": self.asked, "records": self.found.records,
                "linked": [i for i in self.found.ids if i not in self.found.records],
                "rows": len(self.found.findings), "sheets": sheets}

    def to_json(self) -> str:
        """The answer as JSON text."""
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=2)


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def require_one_key(email: str | None, phone: str | None, record_id: str | None
                    ) -> dict[str, str]:
    """Check that exactly one of e-mail, phone and id is given; return it by name.

    Raises:
        ArgumentError: none or several were given.
    """
    given = {k: v.strip() for k, v in (("email", email), ("phone", phone), ("id", record_id))
             if v is not None and v.strip()}
    if len(given) != 1:
        raise ArgumentError("name the person with exactly one of --email, --phone or --id")
    return given


def read_all_sheets(crm: Crm) -> dict[str, list[list[Any]]]:
    """The cells of every sheet of the workbook, as read (one opening, in tab order)."""
    book = read_book(crm.path)
    try:
        return {n: book.get_sheet_by_name(n).to_python(skip_empty_area=False)
                for n in book.sheet_names}
    finally:
        book.close()


@with_password
def person(path: str | Path, *, email: str | None = None, phone: str | None = None,
           record_id: str | None = None, out: str | Path | None = None, force: bool = False,
           password: str | None = None) -> PersonResult:
    """Find every row of every sheet that refers to one person; write them to ``out``.

    Args:
        path: the CRM workbook.
        email: the person's e-mail (matched by mailbox, as imports and clean-ups match).
        phone: the person's phone (matched in the workbook's phone region).
        record_id: the id of one of their records (``L-000123``).
        out: a ``.json`` or ``.xlsx`` file to write the answer to.
        force: overwrite ``out`` when it exists.
        password: the workbook's password when it is encrypted; it is decrypted in
            memory only and every workbook written is encrypted with it.

    Raises:
        ArgumentError: not exactly one of e-mail, phone and id, or ``out`` is neither
            .json nor .xlsx.
        WorkbookExistsError: ``out`` exists and ``force`` is false.
        UnreadableWorkbookError: the workbook can't be read.
    """
    asked = require_one_key(email, phone, record_id)
    target = Path(out).expanduser() if out is not None else None
    if target is not None:
        if target.suffix.lower() not in (".json", ".xlsx"):
            raise ArgumentError(f"--out {target.name}: name a .json or an .xlsx file")
        if target.exists() and not force:
            raise WorkbookExistsError(f"{target} already exists; nothing was written. "
                                      "Choose another name or overwrite it with --force")
    crm = load(path)
    crm.require_xlcrm()  # a team's own workbook: attach or adopt it first
    found = find_person(crm, read_all_sheets(crm), email=email, phone=phone,
                        record_id=record_id)
    result = PersonResult(crm.path, asked, found)
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.suffix.lower() == ".json":
            target.write_text(result.to_json() + "\n", encoding="utf-8")
        else:
            _write_workbook(result, target)
        result.out = target
    return result


def _write_workbook(result: PersonResult, target: Path) -> None:
    """One sheet per sheet of the CRM holding the person's rows, plus a first sheet saying
    who was asked for and what was found."""
    with sealed_output(target) as out:
        book = new_book(out)  # data stays data, in memory when encrypted
        try:
            bold = book.add_format({"bold": True})
            date = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
            about = book.add_worksheet("Request")
            lines = [("Workbook", result.path.name),
                     *((f"Asked by {k}", v) for k, v in result.asked.items()),
                     ("Records", ", ".join(result.found.records) or "none: nobody matches"),
                     ("Rows found", str(len(result.found.findings)))]
            for r, (k, v) in enumerate(lines):
                about.write_string(r, 0, k, bold)
                about.write_string(r, 1, v)
            about.set_column(0, 0, 18)
            about.set_column(1, 1, 44)
            about.fit_to_pages(1, 0)  # printed, as the answer to a request often is
            taken = {"request"}
            for sheet in result.found.sheets():
                rows = [f for f in result.found.findings if f.sheet == sheet]
                headers = list(dict.fromkeys(k for f in rows for k in f.values))
                name = _sheet_name(sheet, taken)
                ws = book.add_worksheet(name)
                ws.write_row(0, 0, ["Row", "Why", *headers], bold)
                for i, f in enumerate(rows, 1):
                    ws.write_number(i, 0, f.row)
                    ws.write_string(i, 1, f.why)
                    for c, h in enumerate(headers, 2):
                        value = f.values.get(h)
                        v = _plain(value)
                        if isinstance(value, dt.datetime):
                            ws.write_datetime(i, c, value, date)
                        elif isinstance(v, bool):
                            ws.write_boolean(i, c, v)
                        elif isinstance(v, (int, float)):
                            ws.write_number(i, c, v)
                        elif v is not None:
                            ws.write_string(i, c, str(v))
                ws.freeze_panes(1, 0)
                ws.set_column(2, 1 + max(len(headers), 1), 16)
                ws.set_landscape()
                ws.fit_to_pages(1, 0)
        finally:
            book.close()


def _sheet_name(name: str, taken: set[str]) -> str:
    base = "".join(ch for ch in name if ch not in "[]:*?/\\")[:31] or "Sheet"
    candidate, k = base, 2
    while candidate.lower() in taken:
        candidate = f"{base[:28]} {k}"
        k += 1
    taken.add(candidate.lower())
    return candidate
