"""The report's words and number formats in the workbook's language.

Every text the report writes (workbook, HTML page, PDF, e-mail, agenda page) comes from the
``[report]`` section of the locale file (``templates/locales/CODE.toml``); a key a locale lacks
falls back to English. Numbers, percentages, amounts and dates are written the way that
language writes them (decimal and thousands separators, where the currency sign goes, month
names) by Babel, which carries the Unicode CLDR data for every language xlcrm speaks.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from babel import Locale as BabelLocale
from babel.dates import format_date, format_datetime, format_skeleton
from babel.numbers import format_currency, format_decimal, format_percent, get_currency_symbol

from ..schema import available_locales, load_locale

__all__ = ["ReportText", "as_number", "is_missing", "report_text"]

_DASH = "\u2013"
#: the patterns the report asks for -> CLDR skeletons (what to show; the language decides how)
_SKELETONS = {"d MMM y": "yMMMd", "d MMM": "MMMd", "dd MMM": "MMMd", "EEE d MMM": "MMMEd",
              "EEE d MMM y": "yMMMEd", "MMM y": "yMMM", "HH:mm": "Hm"}
#: Windows locale ids, for Excel number formats that must show month names in a language
_EXCEL_LCID = {"en": "809", "it": "410", "hu": "40E", "ru": "419", "ky": "440", "de": "407",
               "fr": "40C", "es": "C0A"}


def is_missing(value: Any) -> bool:
    """None, NaT or NaN: a number nobody could compute."""
    return value is None or str(value) == "NaT" or (isinstance(value, float)
                                                    and math.isnan(value))


def as_number(value: Any) -> float:
    """A value as a float; missing -> NaN."""
    return math.nan if is_missing(value) else float(value)


def _shown(value: Any, digits: int) -> Decimal:
    """``value`` rounded as Excel shows it (15 significant digits, then half away from zero),
    so the report writes 5.25 a week as 5.3, as the Dashboard does
    (:func:`xlcrm.sheets.style.figure_text`)."""
    exact = Decimal(format(float(value), ".15g"))
    return exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


@functools.lru_cache(maxsize=16)
def _words(code: str) -> dict[str, str]:
    english = dict(load_locale("en").sections.get("report", {}))
    if code == "en":
        return english
    return {**english, **load_locale(code).sections.get("report", {})}


class ReportText:
    """The words and formats of one language, for the report and the agenda page.

    ``text["key"]`` or ``text.get("key", value=...)`` gives a sentence with its placeholders
    filled; the ``fmt_*`` methods write numbers and dates as that language does.
    """

    def __init__(self, code: str = "en", currency: str = "EUR") -> None:
        self.code = code if code in available_locales() else "en"
        # English as written in Europe (16 Nov 2026), where the teams xlcrm is for work
        self.babel = BabelLocale.parse("en_GB" if self.code == "en" else self.code)
        self.currency = currency.upper() or "EUR"
        self.words = _words(self.code)
        pattern = self.babel.currency_formats["standard"].pattern.split(";")[0]
        #: amounts without cents: a report speaks of thousands
        self._money_pattern = pattern.replace(".00", "").replace("0.0", "0")

    def __getitem__(self, key: str) -> str:
        return self.words.get(key, key)

    def get(self, key: str, **values: Any) -> str:
        """The sentence ``key`` with its ``{placeholders}`` filled in."""
        return self[key].format(**values)

    def count(self, value: Any) -> str:
        """1234 -> "1,234" (en), "1.234" (it), "1 234" (ru); missing -> "–"."""
        return _DASH if is_missing(value) else format_decimal(
            _shown(value, 0), format="#,##0", locale=self.babel)

    def decimal(self, value: Any) -> str:
        """16.5 -> "16.5" (en), "16,5" (it): one decimal."""
        return _DASH if is_missing(value) else format_decimal(
            _shown(value, 1), format="#,##0.0", locale=self.babel)

    def pct(self, value: Any) -> str:
        """0.4737 -> "47.4%" (en), "47,4%" (it), "47,4 %" (fr)."""
        return _DASH if is_missing(value) else format_percent(
            _shown(value, 3), format="#,##0.0%", locale=self.babel)

    def whole_pct(self, value: Any) -> str:
        """0.4737 -> "47%"."""
        return _DASH if is_missing(value) else format_percent(
            float(value), format="#,##0%", locale=self.babel)

    def points(self, value: Any) -> str:
        """A change of a rate in percentage points: 0.021 -> "+2.1 pts"."""
        if is_missing(value):
            return _DASH
        number = format_decimal(_shown(float(value) * 100, 1), format="+#,##0.0;-#,##0.0",
                                locale=self.babel)
        return f"{number}\u00a0{self['points']}"

    def multiple(self, value: Any) -> str:
        """A return as a multiple of its cost: 1.05 -> "+1.05×"."""
        return _DASH if is_missing(value) else format_decimal(
            _shown(value, 2), format="+#,##0.00;-#,##0.00", locale=self.babel) + "\u00d7"

    def change(self, value: Any) -> str:
        """A relative change: 0.083 -> "+8%"."""
        return _DASH if is_missing(value) else format_percent(
            float(value), format="+#,##0%;-#,##0%", locale=self.babel)

    def money(self, value: Any) -> str:
        """An amount in the report's currency, whole: "€12,300" (en), "12.300 €" (it)."""
        if is_missing(value):
            return _DASH
        return format_currency(round(float(value)), self.currency, format=self._money_pattern,
                               locale=self.babel, currency_digits=False)

    def date(self, value: Any, pattern: str = "d MMM y") -> str:
        """A date as this language writes it: "16 Nov 2026" (en), "16. Nov. 2026" (de),
        "2026. nov. 16." (hu); missing -> "–".

        ``pattern`` names what to show, in Unicode's date symbols: ``d MMM y`` (day, short
        month, year), ``d MMM``, ``EEE d MMM`` and ``EEE d MMM y`` (with the weekday),
        ``EEEE d MMMM y`` (all in words), ``MMM y`` (a month), ``HH:mm`` (a time),
        ``d MMM y HH:mm``; each is written in the order and with the words the language uses
        (CLDR's skeletons). Any other pattern is used as it is.
        """
        if isinstance(value, str):
            return value
        if is_missing(value):
            return _DASH
        if hasattr(value, "to_timestamp"):  # a pandas Period: a month, a week
            value = value.to_timestamp()
        if hasattr(value, "to_pydatetime"):
            value = value.to_pydatetime()
        if pattern == "EEEE d MMMM y":
            return str(format_date(value, "full", locale=self.babel))
        if pattern == "d MMM y HH:mm":
            return f"{self.date(value)} {self.date(value, 'HH:mm')}"
        skeleton = _SKELETONS.get(pattern)
        if skeleton is not None:
            return str(format_skeleton(skeleton, value, locale=self.babel))
        if isinstance(value, dt.datetime):
            return str(format_datetime(value, pattern, locale=self.babel))
        return str(format_date(value, pattern, locale=self.babel))

    def excel_date_prefix(self) -> str:
        """The locale tag a date format in the report workbook starts with, so Excel writes
        month names in this language whatever the computer's: ``[$-410]`` for Italian."""
        lcid = _EXCEL_LCID.get(self.code)
        return f"[$-{lcid}]" if lcid else ""

    def excel_money_format(self) -> str:
        """An Excel number format for whole amounts, the currency sign where this language
        puts it: ``"€"#,##0`` (en), ``#,##0 "€"`` (it)."""
        symbol = get_currency_symbol(self.currency, locale=self.babel).replace('"', "")
        sign_first = self._money_pattern.strip().startswith("\u00a4")
        return f'"{symbol}"#,##0' if sign_first else f'#,##0 "{symbol}"'

    def span(self, start: Any, end: Any, start_pattern: str = "d MMM",
             end_pattern: str = "d MMM y") -> str:
        """"16 Nov to 22 Nov 2026" in this language."""
        return self.get("span", start=self.date(start, start_pattern),
                        end=self.date(end, end_pattern))


@functools.lru_cache(maxsize=16)
def report_text(code: str = "en", currency: str = "EUR") -> ReportText:
    """The (shared) :class:`ReportText` of a language and currency."""
    return ReportText(code, currency)
