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
- ``as``: ``date``, ``datetime``, ``number``, ``text``, ``phone``, ``email``, ``domain`` or
  ``flag``
  (default: from the workbook column's type);
- ``required``, ``max_length``, ``choices``, ``unique``: checked per record in the validation
  report (a duplicate that a link uses is an error: the target can't tell which is meant);
- ``ref``: ``Object`` or ``Object:Header``: the value must be found in that column of that
  object's file (default: its key column), so every link resolves inside the export.
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

__all__ = ["ColumnSpec", "FileSpec", "Mapping_", "available_targets", "load_mapping"]


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

    def column(self, header: str) -> ColumnSpec:
        """Return the spec of the column with ``header``."""
        return next(c for c in self.columns if c.header == header)


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
                              columns=cols, where=f.get("where")))
    return Mapping_(
        key=t["key"], name=t["name"], path=path, encoding=t.get("encoding", "utf-8"),
        date_format=t.get("date_format", "%Y-%m-%d"),
        datetime_format=t.get("datetime_format", "%Y-%m-%d %H:%M:%S"),
        true=str(t.get("true", "true")), false=str(t.get("false", "false")),
        max_rows=int(t["max_rows"]), max_bytes=int(t["max_bytes"]),
        max_columns=t.get("max_columns"), forbidden=t.get("forbidden", ""),
        values={k: {str(a): str(b) for a, b in v.items()}
                for k, v in raw.get("values", {}).items()},
        files=tuple(files), notes=t.get("notes", ""), sources=tuple(t.get("sources", ())))
