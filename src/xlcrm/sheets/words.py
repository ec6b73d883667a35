"""The owned sheets' words in the workbook's language.

Every text an owned sheet writes (titles, notes, headers, row labels, outcome words, chart
titles) comes from the ``[owned]`` section of the locale file (``templates/locales/CODE.toml``);
a key a locale lacks falls back to English. The language is the workbook's
(``crm.schema.locale.code``).
"""

from __future__ import annotations

import functools
from typing import Any

from babel import Locale as BabelLocale
from babel.dates import format_date

from ..schema import Schema, available_locales, load_locale

__all__ = ["OwnedText", "in_every_language", "owned_text", "owned_text_of"]

#: Windows locale ids, for Excel number formats that must show month names in a language
#: (the same as the report workbook's)
_EXCEL_LCID = {"it": "410", "hu": "40E", "ru": "419", "ky": "440", "de": "407", "fr": "40C",
               "es": "C0A"}


class OwnedText:
    """The words of one language for the owned sheets.

    ``text["key"]`` is a label; ``text.get("key", value=...)`` a sentence with its
    placeholders filled; ``text.plural("day", n)`` the form of a word that goes with ``n``.
    """

    def __init__(self, code: str = "en") -> None:
        self.code = code if code in available_locales() else "en"
        english = dict(load_locale("en").sections.get("owned", {}))
        own = {} if self.code == "en" else load_locale(self.code).sections.get("owned", {})
        self.words: dict[str, str] = {**english, **own}
        self._babel = BabelLocale.parse("en" if self.code == "en" else self.code)

    def __getitem__(self, key: str) -> str:
        return self.words.get(key, key)

    def get(self, key: str, **values: Any) -> str:
        """The sentence ``key`` with its ``{placeholders}`` filled in."""
        return self[key].format(**values)

    def plural(self, key: str, n: int) -> str:
        """The form of word ``key`` that goes with the number ``n``: the value lists the
        language's forms as ``one:day|other:days`` (CLDR's plural categories)."""
        forms = dict(part.split(":", 1) for part in self[key].split("|"))
        category = self._babel.plural_form(abs(n))
        return forms.get(category, forms.get("other", next(iter(forms.values()))))

    def header(self, key: str) -> tuple[str, ...]:
        """A table's header, its cells separated by ``|`` in the locale file."""
        return tuple(self[key].split("|"))

    def long_date(self, day: Any) -> str:
        """A day in words: "Monday 16 November 2026" in English (as before), the language's
        own full date elsewhere ("lunedì 16 novembre 2026")."""
        if self.code == "en":
            return f"{day:%A %d %B %Y}"
        return str(format_date(day, "full", locale=self._babel))

    def excel_date_prefix(self) -> str:
        """The locale tag an Excel date format with month names starts with, so Excel writes
        them in this language whatever the computer's: ``[$-410]`` for Italian; nothing for
        English (as before)."""
        lcid = _EXCEL_LCID.get(self.code)
        return f"[$-{lcid}]" if lcid else ""


@functools.lru_cache(maxsize=16)
def _text(code: str) -> OwnedText:
    return OwnedText(code)


def owned_text(schema: Schema) -> OwnedText:
    """The (shared) :class:`OwnedText` of a workbook's language."""
    return _text(schema.locale.code)


def owned_text_of(code: str) -> OwnedText:
    """The (shared) :class:`OwnedText` of a language code (English when unknown)."""
    return _text(code.strip().casefold())


def in_every_language(key: str, *, first_cell: bool = False) -> frozenset[str]:
    """The words ``key`` of every shipped language (with ``first_cell``, only a header's first
    cell), so a sheet written in one language is read back in any: a team may change its
    language, and a log written before keeps its lines."""
    return frozenset(_text(code).header(key)[0] if first_cell else _text(code)[key]
                     for code in available_locales())
