"""Turn one cell's value into the value its column's type wants, with a person's tolerance.

Dates typed as text (by the Settings date order, ISO always, month names in English or
Italian), numbers stored as text (``1.234,50``, ``€ 1 200``, ``12%``), ``Y`` / ``x`` / ``sì``
for flags, serial numbers shown with a date or time format. Each conversion returns the value
and, when the cell can't be read, what is wrong with it, so the caller can point at the cell.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

__all__ = ["PLAUSIBLE_YEARS", "Coercer", "parse_date_text", "parse_number"]

_TRUE = frozenset({"y", "yes", "x", "1", "true", "si", "sì", "s", "ja", "j", "oui", "vero",
                   "v", "ok", "done", "fatto", "✓", "✔", "igen", "i", "да", "д", "ооба", "sí",
                   "wahr"})
_FALSE = frozenset({"n", "no", "0", "false", "falso", "nein", "non", "f", "-", "nem", "нет",
                    "н", "жок", "falsch"})
_MONTHS = {name: i for names in (
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    ("gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"),
) for i, name in enumerate(names, 1)}

_EXCEL_EPOCH = {False: dt.datetime(1899, 12, 30), True: dt.datetime(1904, 1, 1)}
#: Years a CRM date can have (pandas' range ends in 2262): others are serials typed by mistake
PLAUSIBLE_YEARS = (1900, 2200)


class Coercer:
    """Turn one column's raw cell values into typed values, noting what can't be read.

    Each conversion returns ``(value, problem)``: ``problem`` is None when the cell was read
    (a blank cell reads as None), else a phrase such as ``"is not a date"``.

    Args:
        date_order: how a date typed as text is read: ``"DMY"``, ``"MDY"`` or ``"YMD"``.
        date1904: the workbook counts serial dates from 1904 (old Mac workbooks).
        yes: the locale's word for yes, read as true besides ``Y``, ``x``, ``sì`` ...
        no: the locale's word for no.
    """

    def __init__(self, *, date_order: str, date1904: bool, yes: str, no: str) -> None:
        self.date_order = date_order.upper() if date_order else "DMY"
        self.epoch = _EXCEL_EPOCH[date1904]
        self.true = _TRUE | {yes.casefold()}
        self.false = _FALSE | {no.casefold()}

    def text(self, v: Any) -> tuple[Any, str | None]:
        """Read a cell as text: a number without a needless ``.0``, a date in ISO form."""
        if isinstance(v, str):
            s = v.strip()
            return (s or None), None
        if isinstance(v, bool):
            return ("TRUE" if v else "FALSE"), None
        if isinstance(v, float):
            return (str(int(v)) if v.is_integer() else repr(v)), None
        if isinstance(v, (dt.datetime, dt.date, dt.time)):
            return v.isoformat(), None
        return (str(v) if v is not None else None), None

    def number(self, v: Any, percent: bool = False) -> tuple[Any, str | None]:
        """Read a cell as a number (``percent``: ``12%`` typed as text reads as 0.12)."""
        if isinstance(v, bool):
            return float(v), None
        if isinstance(v, dt.time):  # a number shown with a time format is still that number
            return (v.hour * 3600 + v.minute * 60 + v.second) / 86400, None
        if isinstance(v, dt.timedelta):
            return v.total_seconds() / 86400, None
        if isinstance(v, dt.date):  # a number shown with a date format: its serial
            stamp = v if isinstance(v, dt.datetime) else dt.datetime.combine(v, dt.time())
            epoch = self.epoch
            if epoch.year == 1899 and stamp < dt.datetime(1900, 3, 1):
                epoch = dt.datetime(1899, 12, 31)  # Excel's 1900 leap-year quirk
            return (stamp - epoch).total_seconds() / 86400, None
        if isinstance(v, (int, float)):
            return float(v), None
        if isinstance(v, str):
            s = v.strip()
            if not s:
                return None, None
            parsed = parse_number(s)
            if parsed is None:
                return None, "is not a number"
            value, was_percent = parsed
            return (value / 100 if was_percent and percent else value), None
        return None, "is not a number"

    def serial(self, v: float) -> dt.datetime | None:
        """Return the moment an Excel serial number stands for; None outside Excel's range."""
        if not 0 < v < 2_958_466:
            return None
        return self.epoch + dt.timedelta(days=v)

    def datetime(self, v: Any) -> tuple[Any, str | None]:
        """Read a cell as a date and time, refusing years no CRM record has."""
        value, problem = self._datetime(v)
        if value is not None and not PLAUSIBLE_YEARS[0] <= value.year < PLAUSIBLE_YEARS[1]:
            return None, "is not a date"  # a serial typed by mistake, or year 9999
        return value, problem

    def _datetime(self, v: Any) -> tuple[Any, str | None]:
        if isinstance(v, dt.datetime):
            return v, None
        if isinstance(v, dt.date):
            return dt.datetime.combine(v, dt.time()), None
        if isinstance(v, bool):
            return None, "is not a date"
        if isinstance(v, (int, float)):
            value = self.serial(float(v))
            return (value, None) if value else (None, "is not a date")
        if isinstance(v, str):
            s = v.strip()
            if not s:
                return None, None
            parsed = parse_date_text(s, self.date_order)
            return (parsed, None) if parsed else (None, "is not a date")
        if isinstance(v, dt.timedelta):  # a duration cell: days since the epoch
            return self.epoch + v, None
        return None, "is not a date"

    def date(self, v: Any) -> tuple[Any, str | None]:
        """Read a cell as a date (a datetime at midnight)."""
        value, problem = self.datetime(v)
        return (value.replace(hour=0, minute=0, second=0, microsecond=0)
                if value is not None else None), problem

    def time(self, v: Any) -> tuple[Any, str | None]:
        """Read a cell as a time of day (``14:30``, ``2.30 pm``, a fraction of a day)."""
        if isinstance(v, dt.time):
            return v, None
        if isinstance(v, dt.datetime):
            return v.time(), None
        if isinstance(v, float) and 0 <= v < 1:
            return (dt.datetime.min + dt.timedelta(days=v)).time().replace(microsecond=0), None
        if isinstance(v, dt.timedelta) and v < dt.timedelta(days=1):
            return (dt.datetime.min + v).time(), None
        if isinstance(v, str):
            s = v.strip()
            if not s:
                return None, None
            m = re.fullmatch(r"(\d{1,2})[:.h](\d{2})(?::(\d{2}))?\s*([ap]\.?m\.?)?", s, re.I)
            if m:
                hour, minute = int(m.group(1)), int(m.group(2))
                if m.group(4):
                    hour = hour % 12 + (12 if m.group(4).lower().startswith("p") else 0)
                if hour < 24 and minute < 60:
                    return dt.time(hour, minute, int(m.group(3) or 0)), None
        return None, "is not a time"

    def flag(self, v: Any) -> tuple[Any, str | None]:
        """Read a cell as yes or no."""
        if isinstance(v, bool):
            return v, None
        if isinstance(v, (int, float)):
            return (bool(v), None) if v in (0, 1) else (None, "is not yes or no")
        if isinstance(v, str):
            s = v.strip().casefold()
            if not s:
                return None, None
            if s in self.true:
                return True, None
            if s in self.false:
                return False, None
        return None, "is not yes or no"


_NUMBER_RE = re.compile(r"[+-]?[\d.,' \u00a0]*\d")


def parse_number(text: str) -> tuple[float, bool] | None:
    """Parse ``1,234.50``, ``1.234,50``, ``€ 1 200``, ``12%``; None when it isn't a number."""
    s = text.replace("\u00a0", " ").strip()
    percent = s.endswith("%")
    s = re.sub(r"^[^\d+-]+|[^\d]+$", "", s.rstrip("%").strip())  # currency signs, codes
    if not s or not _NUMBER_RE.fullmatch(s):
        return None
    s = s.replace(" ", "").replace("'", "")
    if "," in s and "." in s:
        decimal = "," if s.rfind(",") > s.rfind(".") else "."
        s = s.replace("." if decimal == "," else ",", "").replace(",", ".")
    elif "," in s:
        head, _, tail = s.rpartition(",")
        s = s.replace(",", "") if len(tail) == 3 and s.count(",") >= 1 and head else \
            s.replace(",", ".")
    elif s.count(".") > 1:
        s = s.replace(".", "")
    try:
        return float(s), percent
    except ValueError:
        return None


_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2})[:.](\d{2})(?::(\d{2}))?)?")
_NUMERIC_DATE = re.compile(
    r"(\d{1,4})[./-](\d{1,2})[./-](\d{1,4})(?:,?\s+(\d{1,2})[:.](\d{2})(?::(\d{2}))?)?")
_NAMED_DATE = re.compile(r"(\d{1,2})\s*[ .-]?\s*([A-Za-zÀ-ÿ]{3,})\.?\s*[ .-]?\s*(\d{2,4})"
                         r"(?:,?\s+(\d{1,2})[:.](\d{2}))?")


def _make(y: int, m: int, d: int, hh: str | None = None, mm: str | None = None,
          ss: str | None = None) -> dt.datetime | None:
    if y < 100:
        y += 2000 if y < 70 else 1900
    try:
        return dt.datetime(y, m, d, int(hh or 0), int(mm or 0), int(ss or 0))
    except ValueError:
        return None


def parse_date_text(s: str, order: str) -> dt.datetime | None:
    """Parse a date typed as text: ISO always; otherwise by the Settings date order."""
    m = _ISO.fullmatch(s)
    if m:
        return _make(int(m[1]), int(m[2]), int(m[3]), m[4], m[5], m[6])
    m = _NUMERIC_DATE.fullmatch(s)
    if m:
        a, b, c = int(m[1]), int(m[2]), int(m[3])
        if len(m[1]) == 4:
            y, mo, d = a, b, c
        elif order == "MDY":
            mo, d, y = a, b, c
        else:  # DMY, and YMD with a short year is ambiguous: read as day first
            d, mo, y = a, b, c
        return _make(y, mo, d, m[4], m[5], m[6])
    m = _NAMED_DATE.fullmatch(s)
    if m:
        month = _MONTHS.get(m[2][:3].casefold())
        if month:
            return _make(int(m[3]), month, int(m[1]), m[4], m[5])
    return None


