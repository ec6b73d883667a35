"""Export mappings: one TOML file per target CRM, in ``templates/exports/``.

A mapping says which files the target's importer takes, in which load order, and for each file
the header of every column and where its value comes from in the workbook. A user overrides a
shipped mapping by passing their own file (``xlcrm export --mapping my-hubspot.toml``), usually a
copy of the shipped one with their pipeline's stage names.

Column specs (one inline table per column)::

    { header = "Last Name", value = "last_name", required = true, max_length = 80 }

- ``value``: a column key of the sheet, ``link.column`` for a column of the linked record
  (``account.name``: the name of the contact's account), or several keys joined by spaces
  (``first_name last_name``); ``fallback`` is used when the value is empty; ``const`` instead
  gives a fixed value;
- ``map``: ``stages`` / ``lead_statuses`` (the Settings list, translated through the mapping's
  ``[values.<list>]`` table, or ``[values.<table>]`` when ``table`` is given) or ``reps`` (a
  rep's name becomes the rep's e-mail from Settings);
- ``as``: ``date``, ``datetime``, ``number``, ``text``, ``phone``, ``email``, ``domain``,
  ``flag`` or ``consent`` (default: from the workbook column's type); a ``consent`` column
  (``value = "marketing_consent"``) writes the vendor's marketing-consent value from
  ``[values.consent]``: ``given`` (a consent date), ``none`` (no date: never subscribed),
  ``erased`` (``xlcrm forget``) and optionally ``no_email`` (a vendor whose consent belongs to
  an e-mail address);
- ``required``, ``max_length``, ``choices``, ``unique``: checked per record in the validation
  report (a duplicate that a link uses is an error: the target can't tell which is meant);
- ``ref``: ``Object`` or ``Object:Header``: the value must be found in that column of that
  object's file (default: its key column), so every link resolves inside the export.

A file may also say ``step = 2`` (a second import that updates records the first created, such
as closing them: a state some importers refuse on create), ``where`` with ``where_in`` (only the
records whose ``where`` column holds one of these list items), ``group`` (the files one import
takes together) and ``steps = { en = "...", it = "..." }`` (its line in IMPORT.md).

Validation is data: each ``[[rules]]`` entry is one rule of the target's importer, with the
vendor page it comes from (``source``, required) and ``why`` (the vendor's words, shortened);
``unverified`` says what was searched when no vendor page confirms it. Checks
(:mod:`xlcrm.exchange.rules`): ``required``, ``has_column`` (the header only), ``one_of``
(optionally ``when`` a column is filled), ``max_length``, ``picklist``, ``not_on_create``,
``unique`` (``case_sensitive``), ``no_column`` (headers starting with ``prefix``),
``objects_per_file`` (``n``), ``pattern``.
The target's own limits in ``[target]`` (rows, bytes, encoding, date format, refused
characters) cite their pages in ``[target.cite]``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._resources import templates_dir
from ..errors import ExportError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["CHECKS", "ColumnSpec", "FileSpec", "Mapping_", "Rule", "available_targets",
           "load_mapping"]

#: the checks a ``[[rules]]`` entry may name
CHECKS = frozenset({"required", "has_column", "one_of", "max_length", "picklist",
                    "not_on_create", "unique", "no_column", "objects_per_file", "pattern"})
#: the ``[target]`` keys that must cite the page they come from in ``[target.cite]``
CITED = ("max_rows", "max_bytes", "encoding", "date_format", "forbidden")


@dataclass(frozen=True)
class ColumnSpec:
    """One column of an export file."""

    header: str
    value: str | None = None
    const: str | None = None
    map: str | None = None
    kind: str | None = None
    required: bool = False
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    ref: str | None = None
    fallback: str | None = None
    table: str | None = None
    unique: bool = False

    @property
    def values_table(self) -> str:
        """The ``[values.<name>]`` table a mapped column translates through."""
        return self.table or self.map or ""


@dataclass(frozen=True)
class FileSpec:
    """One file of an export: one object of the target, from one sheet of the workbook."""

    preset: str
    object: str
    file: str
    sheet: str
    key: str
    columns: tuple[ColumnSpec, ...]
    where: str | None = None
    where_in: tuple[str, ...] = ()
    step: int = 1
    group: str = ""
    steps: Mapping[str, str] = field(default_factory=dict)

    @property
    def objects(self) -> list[str]:
        """The target objects one row of this file touches: its own and those it associates."""
        seen = [self.object]
        for c in self.columns:
            obj = (c.ref or "").partition(":")[0]
            if obj and obj not in seen:
                seen.append(obj)
        return seen

    def column(self, header: str) -> ColumnSpec:
        """Return the spec of the column with ``header``."""
        return next(c for c in self.columns if c.header == header)


@dataclass(frozen=True)
class Rule:
    """One rule of a target's importer, checked per record, with the page it comes from."""

    check: str
    files: tuple[str, ...]
    source: str
    why: str = ""
    columns: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    when: str | None = None
    prefix: str = ""
    pattern: str = ""
    n: int = 0
    severity: str = "error"
    case_sensitive: bool = True
    unverified: str = ""
    preset: str = ""

    @property
    def file(self) -> str:
        """The files the rule is about, for messages."""
        return ", ".join(self.files)

    def applies_to(self, file: str, preset: str = "") -> bool:
        """Tell whether the rule is about the file named ``file`` (``*``: every file)."""
        return (not self.preset or not preset or self.preset == preset) and (
            "*" in self.files or file in self.files)


@dataclass(frozen=True)
class Mapping_:  # noqa: N801 - "Mapping" is taken by collections.abc
    """A whole export mapping: the target's file rules, value tables and files."""

    key: str
    name: str
    path: Path
    encoding: str
    date_format: str
    datetime_format: str
    true: str
    false: str
    max_rows: int
    max_bytes: int
    max_columns: int | None
    forbidden: str
    values: Mapping[str, Mapping[str, str]]
    files: tuple[FileSpec, ...]
    notes: str = ""
    sources: tuple[str, ...] = field(default=())
    rules: tuple[Rule, ...] = ()
    cite: Mapping[str, str] = field(default_factory=dict)
    guide: Mapping[str, Any] = field(default_factory=dict)
    zip: str = ""
    unverified: tuple[str, ...] = ()

    def files_for(self, preset: str) -> list[FileSpec]:
        """Return the files of a preset, in load order (parents first)."""
        return [f for f in self.files if f.preset == preset]


def available_targets() -> list[str]:
    """Return the targets xlcrm ships a mapping for (``hubspot``, ``salesforce`` ...)."""
    return sorted(p.stem for p in (templates_dir() / "exports").glob("*.toml"))


def load_mapping(target: str, path: str | Path | None = None) -> Mapping_:
    """Read the mapping of ``target``: the shipped one, or the user's file at ``path``.

    Raises:
        ExportError: the target is unknown, or the mapping file is not valid.
    """
    target = target.strip().casefold()  # HubSpot, hubspot
    if path is None:
        if target not in available_targets():
            raise ExportError(f'unknown export target "{target}"; choose one of '
                              + ", ".join(available_targets()))
        path = templates_dir() / "exports" / f"{target}.toml"
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise ExportError(f"{path}: mapping file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ExportError(f"{path}: not valid TOML: {exc}") from None
    try:
        return _build(raw, path)
    except (KeyError, TypeError, ValueError) as exc:
        raise ExportError(f"{path}: incomplete mapping ({type(exc).__name__}: {exc}); "
                          "compare it with the shipped mapping in templates/exports/") from None


def _build(raw: Mapping[str, Any], path: Path) -> Mapping_:
    t = raw["target"]
    files = []
    for f in raw.get("files", []):
        cols = tuple(ColumnSpec(header=c["header"], value=c.get("value"), const=c.get("const"),
                                map=c.get("map"), kind=c.get("as"),
                                required=bool(c.get("required", False)),
                                max_length=c.get("max_length"),
                                choices=tuple(c.get("choices", ())), ref=c.get("ref"),
                                fallback=c.get("fallback"), table=c.get("table"),
                                unique=bool(c.get("unique", False)))
                     for c in f["columns"])
        files.append(FileSpec(preset=f["preset"], object=f["object"], file=f["file"],
                              sheet=f["sheet"], key=f.get("key", cols[0].header),
                              columns=cols, where=f.get("where"),
                              where_in=tuple(f.get("where_in", ())), step=int(f.get("step", 1)),
                              group=str(f.get("group", "")), steps=dict(f.get("steps", {}))))
    rules = tuple(_rule(r) for r in raw.get("rules", []))
    for f in files:
        for c in f.columns:
            table = raw.get("values", {}).get(c.table or "consent", {})
            if c.kind == "consent" and not {"given", "none", "erased"} <= set(table):
                raise ValueError(f'{f.file} "{c.header}": a consent column needs '
                                 f'[values.{c.table or "consent"}] with given, none and erased')
    cite = dict(t.get("cite", {}))
    uncited = [k for k in CITED if k in t and k not in cite]
    if uncited:
        raise ValueError(f"[target.cite] has no vendor page for {', '.join(uncited)}")
    return Mapping_(
        key=t["key"], name=t["name"], path=path, encoding=t.get("encoding", "utf-8"),
        date_format=t.get("date_format", "%Y-%m-%d"),
        datetime_format=t.get("datetime_format", "%Y-%m-%d %H:%M:%S"),
        true=str(t.get("true", "true")), false=str(t.get("false", "false")),
        max_rows=int(t["max_rows"]), max_bytes=int(t["max_bytes"]),
        max_columns=t.get("max_columns"), forbidden=t.get("forbidden", ""),
        values={k: {str(a): str(b) for a, b in v.items()}
                for k, v in raw.get("values", {}).items()},
        files=tuple(files), notes=t.get("notes", ""), sources=tuple(t.get("sources", ())),
        rules=rules, cite=cite, guide=dict(raw.get("guide", {})), zip=str(t.get("zip", "")),
        unverified=tuple(str(u) for u in raw.get("unverified", [])))


def _rule(r: Mapping[str, Any]) -> Rule:
    """One ``[[rules]]`` entry; one without a vendor page, or with an unknown check, is refused."""
    if r["check"] not in CHECKS:
        raise ValueError(f'unknown check "{r["check"]}" (one of {", ".join(sorted(CHECKS))})')
    if not str(r.get("source", "")).startswith("http"):
        raise ValueError(f'rule {r["check"]} on {r.get("file")} cites no vendor page (source)')
    if r.get("severity", "error") not in ("error", "warning"):
        raise ValueError(f'rule {r["check"]} on {r.get("file")}: severity is error or warning')
    files = r["file"]
    return Rule(check=r["check"], files=(files,) if isinstance(files, str) else tuple(files),
                source=r["source"], why=r.get("why", ""), preset=r.get("preset", ""),
                columns=tuple(r.get("columns", ())), values=tuple(str(v) for v in
                                                                   r.get("values", ())),
                when=r.get("when"), prefix=r.get("prefix", ""), pattern=r.get("pattern", ""),
                n=int(r.get("n", 0)), severity=r.get("severity", "error"),
                case_sensitive=bool(r.get("case_sensitive", True)),
                unverified=r.get("unverified", ""))
