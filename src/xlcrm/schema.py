"""The declarative description of a CRM workbook, loaded from a preset and a locale file.

A *preset* (``templates/presets/NAME.toml``) says which sheets exist, their columns and types,
which columns are required, which Settings list feeds each dropdown, and the default contents of
Settings. A *locale* (``templates/locales/CODE.toml``) gives every label a person sees: sheet
names, headers, list items, and the date and number formats. Everything else in xlcrm (``init``,
the demo, reading, checking, exports) is driven by the :class:`Schema` built from the two, so a
column name is never spelled twice in code.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, cast, get_args

from ._resources import available_locales, templates_dir
from .errors import SchemaError, UnknownPresetError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "COLUMN_TYPES",
    "Column",
    "ColumnType",
    "Locale",
    "Milestone",
    "Option",
    "Schema",
    "Sheet",
    "SheetKind",
    "SettingsList",
    "available_locales",
    "available_presets",
    "currency_code",
    "currency_codes",
    "header_aliases",
    "item_labels",
    "load_locale",
    "load_schema",
    "normalize_header",
]

ColumnType = Literal[
    "id", "text", "longtext", "email", "phone", "url", "date", "datetime", "time",
    "money", "number", "integer", "percent", "flag", "choice", "link",
]
COLUMN_TYPES: frozenset[str] = frozenset(get_args(ColumnType))
SheetKind = Literal["data", "owned", "settings"]
OptionType = Literal["text", "integer", "date", "weekday"]

# Options every workbook has, whatever the preset: key, type, default.
_OPTION_DEFAULTS: tuple[tuple[str, OptionType, Any], ...] = (
    ("locale", "text", None),
    ("currency", "text", "EUR"),
    ("week_start", "weekday", "monday"),
    ("baseline_from", "date", None),
    ("baseline_to", "date", None),
    ("date_order", "text", "DMY"),
    ("phone_region", "text", "US"),
    ("uncontacted_hours", "integer", 24),
    ("dead_after_days", "integer", 365),
    ("mql_threshold", "integer", 40),
    ("sql_threshold", "integer", 70),
    ("rfm_recency", "text", "purchase"),
    ("gross_profit_per_sale", "integer", None),
    ("margin_percent", "integer", None),
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MILESTONE_KEYS = ("lead", "contact", "appointment", "show", "sale")
_CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF", "SEK": "kr",
                     "HUF": "Ft", "RUB": "₽", "KGS": "сом"}


def normalize_header(text: str) -> str:
    """Return a header reduced to what a person means: no case, accents, spacing or punctuation.

    ``"E-mail "``, ``"email"`` and ``"É-Mail"`` all become ``"email"``.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[\W_]+", "", plain.casefold())


@dataclass(frozen=True)
class Locale:
    """Labels and formats of one language."""

    code: str
    name: str
    formats: Mapping[str, str]
    yes: str
    no: str
    weekdays: tuple[str, ...]
    sections: Mapping[str, Mapping[str, Any]]

    def label(self, section: str, key: str) -> str:
        """Return the label of ``key`` in ``section`` (``sheets``, ``columns``, ``lists`` ...).

        A key the locale does not name shows as itself, made readable, so a user's own locale
        file with gaps still gives a usable workbook; :meth:`Schema.missing_labels` lists gaps.
        """
        value = self.sections.get(section, {}).get(key)
        return value if isinstance(value, str) else key.replace("_", " ").capitalize()

    def has_label(self, section: str, key: str) -> bool:
        """Tell whether the locale names ``key`` in ``section``."""
        return isinstance(self.sections.get(section, {}).get(key), str)

    def value(self, list_key: str, item: str) -> str:
        """Return the label of a Settings list item, or the item itself when unnamed."""
        values = self.sections.get("values", {}).get(list_key, {})
        label = values.get(item) if isinstance(values, dict) else None
        return label if isinstance(label, str) else item

    def aliases(self, key: str) -> tuple[str, ...]:
        """Return the other headers this locale accepts for a column label key."""
        return tuple(self.sections.get("aliases", {}).get(key, ()))

    def money_format(self, currency: str) -> str:
        """Return the Excel number format for amounts in ``currency`` (ISO code)."""
        symbol = _CURRENCY_SYMBOLS.get(currency.upper(), currency.upper())
        return self.formats["money"].replace("{symbol}", symbol)


@dataclass(frozen=True)
class Column:
    """One column of a data sheet or Settings table."""

    key: str
    type: ColumnType
    header: str
    label_key: str
    required: bool = False
    list: str | None = None
    ref: tuple[str, ...] = ()
    width: float | None = None
    formula: str | None = None
    #: a date that can't lie in the future: "error", "warning", or None
    past: str | None = None


@dataclass(frozen=True)
class Sheet:
    """One sheet of the workbook: a data table, an owned (generated) sheet or Settings."""

    key: str
    kind: SheetKind
    name: str
    table: str
    id_prefix: str | None = None
    columns: tuple[Column, ...] = ()
    optional: bool = False

    def column(self, key: str) -> Column:
        """Return the column with internal ``key``."""
        for col in self.columns:
            if col.key == key:
                return col
        raise KeyError(f"sheet {self.name!r} has no column {key!r}")

    def has_column(self, key: str) -> bool:
        """Tell whether the sheet has a column with internal ``key``."""
        return any(col.key == key for col in self.columns)

    @property
    def headers(self) -> list[str]:
        """The header row as a person sees it."""
        return [col.header for col in self.columns]


@dataclass(frozen=True)
class SettingsList:
    """One table on the Settings sheet: its first column feeds the dropdowns named after it."""

    key: str
    title: str
    table: str
    defined_name: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    item_keys: tuple[str, ...]

    @property
    def items(self) -> list[str]:
        """The labels of the list's items, as they appear in the workbook."""
        return [str(row[0]) for row in self.rows]


@dataclass(frozen=True)
class Milestone:
    """A step of the weekly tally and the date column that marks it."""

    key: str
    label: str
    sheet: str
    column: str


@dataclass(frozen=True)
class Option:
    """One row of the Options table on the Settings sheet."""

    key: str
    type: OptionType
    label: str
    value: Any


@dataclass(frozen=True)
class Schema:
    """The whole description of one preset in one language."""

    preset: str
    version: int
    locale: Locale
    lead_sheet: str
    sheets: tuple[Sheet, ...]
    lists: tuple[SettingsList, ...]
    milestones: tuple[Milestone, ...]
    options: tuple[Option, ...] = field(default=())

    def sheet(self, key: str) -> Sheet:
        """Return the sheet with internal ``key``."""
        for sheet in self.sheets:
            if sheet.key == key:
                return sheet
        raise KeyError(f"preset {self.preset!r} has no sheet {key!r}")

    def settings_list(self, key: str) -> SettingsList:
        """Return the Settings list with internal ``key``."""
        for lst in self.lists:
            if lst.key == key:
                return lst
        raise KeyError(f"preset {self.preset!r} has no Settings list {key!r}")

    def option(self, key: str) -> Any:
        """Return the default value of an option (``week_start``, ``currency`` ...)."""
        for opt in self.options:
            if opt.key == key:
                return opt.value
        raise KeyError(f"no option {key!r}")

    @property
    def data_sheets(self) -> list[Sheet]:
        """Sheets that hold the team's records."""
        return [s for s in self.sheets if s.kind == "data"]

    @property
    def owned_sheets(self) -> list[Sheet]:
        """Sheets xlcrm writes and rewrites (Tally, Funnel, Dashboard ...)."""
        return [s for s in self.sheets if s.kind == "owned"]

    @property
    def settings_sheet(self) -> Sheet:
        """The Settings sheet."""
        return next(s for s in self.sheets if s.kind == "settings")

    def missing_labels(self) -> list[str]:
        """List every label key the locale does not name (``section.key``)."""
        loc = self.locale
        wanted: list[tuple[str, str]] = [("sheets", s.key) for s in self.sheets]
        for sheet in self.sheets:
            wanted += [("columns", c.label_key) for c in sheet.columns]
        for lst in self.lists:
            wanted.append(("lists", lst.key))
            wanted += [("columns", c.label_key) for c in lst.columns]
        wanted += [("options", o.key) for o in self.options]
        wanted += [("milestones", m.label) for m in _raw_milestones(self.preset)]
        missing = [f"{sec}.{key}" for sec, key in wanted if not loc.has_label(sec, key)]
        for lst in self.lists:
            if lst.key in ("scoring", "territory_rules"):
                continue
            values = loc.sections.get("values", {}).get(lst.key, {})
            missing += [f"values.{lst.key}.{item}" for item in lst.item_keys
                        if re.fullmatch(r"[a-z_]+", item) and item not in values]
        return sorted(set(missing))

    def all_headers(self) -> Iterator[tuple[Sheet, Column]]:
        """Yield every (sheet, column) pair of the data sheets."""
        for sheet in self.data_sheets:
            for col in sheet.columns:
                yield sheet, col


def item_labels(list_key: str, item: str) -> list[str]:
    """The label of a Settings list item in every shipped language ("Inbound", "In entrata")."""
    return [load_locale(code).value(list_key, item) for code in available_locales()]


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(f"{path}: not valid TOML: {exc}") from exc


@cache
def available_presets() -> list[str]:
    """Return the names of the presets xlcrm ships (``b2b``, ``dealer``)."""
    return sorted(p.stem for p in (templates_dir() / "presets").glob("*.toml"))


@cache
@cache
def _raw_preset(name: str) -> dict[str, Any]:
    path = templates_dir() / "presets" / f"{name}.toml"
    if not path.is_file():
        raise UnknownPresetError(
            f"unknown preset {name!r}; choose one of: {', '.join(available_presets())}"
        )
    return _read_toml(path)


def _raw_milestones(preset: str) -> list[Milestone]:
    return [Milestone(m["key"], m["label"], m["sheet"], m["column"])
            for m in _raw_preset(preset).get("milestones", [])]


@cache
def load_locale(code: str = "en") -> Locale:
    """Load the labels of one language from ``templates/locales/CODE.toml`` (in any case).

    Raises:
        UnknownPresetError: no locale file of that code ships with xlcrm.
    """
    code = code.strip().casefold()  # "RU" and "ru" name the same file
    path = templates_dir() / "locales" / f"{code}.toml"
    if not path.is_file():
        raise UnknownPresetError(
            f"unknown language {code!r}; choose one of: {', '.join(available_locales())}"
        )
    raw = _read_toml(path)
    head = raw.get("locale", {})
    try:
        formats = {
            name: head[f"{name}_format"]
            for name in ("date", "datetime", "time", "money", "integer", "number", "percent")
        }
        weekdays = tuple(head["weekdays"])
        yes, no = head["yes"], head["no"]
    except KeyError as exc:
        raise SchemaError(f"{path}: [locale] lacks {exc.args[0]!r}") from exc
    if len(weekdays) != 7:
        raise SchemaError(f"{path}: [locale] weekdays must name 7 days, Monday first")
    sections = {k: v for k, v in raw.items() if k != "locale"}
    return Locale(code, head.get("name", code), formats, yes, no, weekdays, sections)


def _build_column(spec: Mapping[str, Any], locale: Locale, lists: set[str],
                  sheets: set[str], where: str) -> Column:
    try:
        key = spec["key"]
        ctype = spec["type"]
    except KeyError as exc:
        raise SchemaError(f"{where}: a column lacks {exc.args[0]!r}") from exc
    if ctype not in COLUMN_TYPES:
        raise SchemaError(f"{where}: column {key!r} has unknown type {ctype!r}; "
                          f"use one of {', '.join(sorted(COLUMN_TYPES))}")
    if ctype == "choice" and spec.get("list") not in lists:
        raise SchemaError(f"{where}: column {key!r} needs a Settings list, "
                          f"got {spec.get('list')!r}")
    ref = tuple(spec.get("ref", ()))
    if ctype == "link" and (not ref or not set(ref) <= sheets):
        raise SchemaError(f"{where}: link column {key!r} points at unknown sheets {ref}")
    label_key = spec.get("label", key)
    past = spec.get("past")
    return Column(
        key=key,
        type=cast(ColumnType, ctype),
        header=locale.label("columns", label_key),
        label_key=label_key,
        required=bool(spec.get("required", False)),
        list=spec.get("list"),
        ref=ref,
        width=spec.get("width"),
        formula=spec.get("formula"),
        past="error" if past is True else (past or None),
    )


def _table_name(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("_"))


def _localize_cell(value: Any, col: Column, list_key: str, locale: Locale,
                   first: bool, all_lists: Sequence[str],
                   headers: Mapping[str, str] | None = None) -> Any:
    """Turn an item key in a Settings row into the label a person reads (a scoring rule's
    field: the header of that column on the data sheets, ``headers``, where one has it)."""
    if not isinstance(value, str) or not value:
        return value
    if list_key == "scoring" and col.key == "field":
        if headers and value in headers:
            # the column as its sheet heads it: the B2B preset's appointment_set is headed
            # "Meeting booked" in every language, and a rule must name what the reader finds
            return headers[value]
        if locale.has_label("columns", value):
            return locale.label("columns", value)
        return locale.value("fields", value)
    if list_key == "territory_rules":  # rows of words: localise each by what it names
        if col.key == "territory":
            return locale.value("territories", value)
        if col.key == "field":
            return locale.label("columns", value) if locale.has_label("columns", value) \
                else value
        if col.key == "condition":
            return locale.value("conditions", value)
        words = []
        for word in value.split(", "):
            label = next((locale.value(other, word) for other in all_lists
                          if locale.value(other, word) != word), word)
            words.append(label)
        return ", ".join(words)
    if first:
        return locale.value(list_key, value)
    if col.type == "choice" and col.list:
        return locale.value(col.list, value)
    if col.type == "flag":
        return locale.yes if value == "yes" else locale.no
    if list_key == "scoring" and col.key == "condition":
        return locale.value("conditions", value)
    if list_key == "scoring" and col.key == "value":
        if value in ("yes", "no"):
            return locale.yes if value == "yes" else locale.no
        if locale.value("scoring_words", value) != value:  # a word a rule looks for
            return locale.value("scoring_words", value)
        for other in all_lists:
            label = locale.value(other, value)
            if label != value:
                return label
    return value


#: Words people write for a currency instead of its code: the hint of a refused one
_CURRENCY_WORDS = {"euro": "EUR", "euros": "EUR", "€": "EUR", "$": "USD", "dollar": "USD",
                   "dollars": "USD", "£": "GBP", "pound": "GBP", "pounds": "GBP", "sterling": "GBP",
                   "yen": "JPY", "franc": "CHF", "francs": "CHF", "forint": "HUF", "ft": "HUF",
                   "ruble": "RUB", "rouble": "RUB", "rub.": "RUB", "₽": "RUB", "som": "KGS",
                   "сом": "KGS", "рубль": "RUB", "lira": "TRY", "zloty": "PLN", "krona": "SEK"}


@cache
def header_aliases() -> dict[str, tuple[str, ...]]:
    """Headers people give columns in their own sheets, in many languages
    (``templates/headers.toml``): column key or label key -> headers."""
    raw = _read_toml(templates_dir() / "headers.toml").get("columns", {})
    return {str(k): tuple(str(h) for h in v) for k, v in raw.items()}


@cache
def currency_codes() -> frozenset[str]:
    """The ISO 4217 codes of currencies amounts can be in (``templates/currencies.txt``)."""
    text = (templates_dir() / "currencies.txt").read_text(encoding="utf-8")
    return frozenset(word for line in text.splitlines() if not line.startswith("#")
                     for word in line.split())


def currency_code(text: str) -> str:
    """Return the ISO 4217 code ``text`` names, in any case (``eur`` -> ``EUR``).

    Raises:
        SchemaError: ``text`` is not an ISO 4217 code; the message suggests the code of a
            currency's name or sign (``euro`` -> ``EUR``).
    """
    code = text.strip().upper()
    if code in currency_codes():
        return code
    guess = _CURRENCY_WORDS.get(text.strip().casefold())
    hint = f'; did you mean "{guess}"?' if guess else \
        " (three letters, such as EUR, USD, GBP, HUF, RUB, KGS)"
    raise SchemaError(f'currency "{text}" is not an ISO 4217 code{hint}')


def load_schema(preset: str = "dealer", locale: str = "en") -> Schema:
    """Build the schema of ``preset`` with the labels of ``locale`` (names in any case).

    Args:
        preset: a preset name from :func:`available_presets`.
        locale: a language code from :func:`available_locales`.

    Raises:
        UnknownPresetError: the preset or language doesn't exist.
        SchemaError: the preset file is inconsistent (a dropdown without its list ...).
    """
    return _load_schema(preset.strip().casefold(), locale.strip().casefold())


@cache
def _load_schema(preset: str, locale: str) -> Schema:
    """The cached builder behind :func:`load_schema`, given names already in lower case."""
    raw = _raw_preset(preset)
    loc = load_locale(locale)
    where = f"presets/{preset}.toml"
    head = raw.get("preset", {})
    list_specs = raw.get("lists", [])
    list_keys = {lst["key"] for lst in list_specs}
    sheet_keys = {s["key"] for s in raw.get("sheets", [])}

    sheets = []
    for spec in raw.get("sheets", []):
        kind = spec.get("kind")
        if kind not in ("data", "owned", "settings"):
            raise SchemaError(f"{where}: sheet {spec.get('key')!r} has unknown kind {kind!r}")
        cols = tuple(_build_column(c, loc, list_keys, sheet_keys, f"{where} [{spec['key']}]")
                     for c in spec.get("columns", []))
        if kind == "data" and (not cols or cols[0].type != "id"):
            raise SchemaError(f"{where}: data sheet {spec['key']!r} must start with an id column")
        sheets.append(Sheet(spec["key"], kind, loc.label("sheets", spec["key"]),
                            _table_name(spec["key"]), spec.get("id_prefix"), cols,
                            bool(spec.get("optional", False))))
    if sum(s.kind == "settings" for s in sheets) != 1:
        raise SchemaError(f"{where}: exactly one sheet must be of kind 'settings'")

    ordered_lists = [lst["key"] for lst in list_specs]
    headers: dict[str, str] = {}
    for sheet in sheets:  # the first data sheet (the leads, the contacts) heads a key first
        if sheet.kind == "data":
            for column in sheet.columns:
                headers.setdefault(column.key, column.header)
    lists = []
    for spec in list_specs:
        cols = tuple(_build_column(c, loc, list_keys, sheet_keys, f"{where} list {spec['key']}")
                     for c in spec["columns"])
        raw_rows = [tuple(r) for r in spec.get("rows", [])]
        for r in raw_rows:
            if len(r) != len(cols):
                raise SchemaError(f"{where}: list {spec['key']!r} row {r} has {len(r)} values "
                                  f"for {len(cols)} columns")
        rows = tuple(
            tuple(_localize_cell(v, c, spec["key"], loc, i == 0, ordered_lists, headers)
                  for i, (v, c) in enumerate(zip(r, cols)))
            for r in raw_rows
        )
        table = _table_name(spec["key"])
        lists.append(SettingsList(spec["key"], loc.label("lists", spec["key"]), table,
                                  f"List_{table}", cols, rows,
                                  tuple(str(r[0]) for r in raw_rows)))

    milestones = []
    for m in _raw_milestones(preset):
        if m.sheet not in sheet_keys:
            raise SchemaError(f"{where}: milestone {m.key!r} on unknown sheet {m.sheet!r}")
        milestones.append(Milestone(m.key, loc.label("milestones", m.label), m.sheet, m.column))
    if tuple(m.key for m in milestones) != MILESTONE_KEYS:
        raise SchemaError(f"{where}: milestones must be, in order: {', '.join(MILESTONE_KEYS)}")

    preset_options = raw.get("options", {})
    options = []
    for key, otype, default in _OPTION_DEFAULTS:
        value = preset_options.get(key, default)
        if key == "locale":
            value = loc.code
        elif otype == "weekday":
            value = loc.weekdays[WEEKDAYS.index(str(value))]
        options.append(Option(key, otype, loc.label("options", key), value))

    schema = Schema(
        preset=head.get("key", preset),
        version=int(head.get("schema_version", 1)),
        locale=loc,
        lead_sheet=head.get("lead_sheet", ""),
        sheets=tuple(sheets),
        lists=tuple(lists),
        milestones=tuple(milestones),
        options=tuple(options),
    )
    for m in schema.milestones:
        if not schema.sheet(m.sheet).has_column(m.column):
            raise SchemaError(f"{where}: milestone {m.key!r} names unknown column {m.column!r}")
    if schema.lead_sheet not in sheet_keys:
        raise SchemaError(f"{where}: [preset] lead_sheet {schema.lead_sheet!r} is not a sheet")
    return schema
