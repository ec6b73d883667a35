"""Problems found in a user's data, as records: ``Sheet!Cell: what is wrong``.

Warnings about data are data, not Python warnings: the reader, ``check``, reports and tests all
read the same :class:`Issue` records.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["Issue", "Severity", "TEXT_DATE", "column_index", "column_letter", "sort_issues"]

#: the code of the warning on a date typed as text: read, but left out of the tally (Excel's
#: COUNTIFS does not see it) until `xlcrm clean --apply` makes it a real date
TEXT_DATE = "text-date"

Severity = Literal["error", "warning"]


def column_letter(index: int) -> str:
    """Return the Excel column letters of a 0-based column index (0 -> A, 27 -> AB)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str) -> int:
    """Return the 0-based column index of Excel column letters (A -> 0, AB -> 27)."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


@dataclass(frozen=True)
class Issue:
    """One problem in a workbook, pointing at the sheet and cell where a person can fix it."""

    sheet: str
    cell: str
    severity: Severity
    code: str
    message: str
    row: int = 0  # 1-based sheet row, 0 when the problem is about the sheet or the file
    column: int = -1  # 0-based column index, -1 when not about one column

    @property
    def where(self) -> str:
        """``Sheet!F12``, ``Sheet`` or empty, depending on what the problem is about."""
        if self.sheet and self.cell:
            return f"{_quote(self.sheet)}!{self.cell}"
        return _quote(self.sheet) if self.sheet else ""

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message

    def to_dict(self) -> dict[str, Any]:
        """Return the issue as plain data (for ``--format json``)."""
        data = asdict(self)
        data["where"] = self.where
        return data


def _quote(sheet: str) -> str:
    """Quote a sheet name the way Excel does in references when it needs to."""
    if sheet and not sheet.replace("_", "").isalnum():
        return "'" + sheet.replace("'", "''") + "'"
    return sheet


def sort_issues(issues: list[Issue], sheet_order: list[str]) -> list[Issue]:
    """Sort by sheet (in workbook order; file-level problems first), row, then column."""
    rank = {name: i for i, name in enumerate(sheet_order)}
    return sorted(issues, key=lambda i: (0 if not i.sheet else 1 + rank.get(i.sheet, 999),
                                         i.sheet, i.row, i.column, i.message))
