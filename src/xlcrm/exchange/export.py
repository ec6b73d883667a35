"""Export a CRM workbook to the import files of a commercial CRM: ``xlcrm.export``.

The mapping file of the target (:mod:`xlcrm.exchange.mapping`) says which files to write and
how; this module reads the workbook, maps every value (stages through the mapping's table, reps
to their e-mails, dates and numbers to the target's formats, phones to E.164), neutralises
cells a spreadsheet would run (:mod:`xlcrm.exchange.safety`), checks every record against the
target's rules, splits files that exceed the target's limits and writes a manifest.

A target's own quirks live in ``xlcrm/exchange/targets/<key>.py`` (optional): a module with a
``check_value(spec, value)`` function returning a problem message or None.
"""

from __future__ import annotations

import codecs
import csv
import importlib
import io
import json
import zipfile
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from types import ModuleType
from typing import Any

from .._version import __version__
from ..errors import ExportError
from ..forked import Beside
from ..issues import Issue
from ..read import Crm, bulk_work, load
from ..xlsx.crypto import with_password
from .guide import write_guide
from .mapping import FileSpec, Mapping_, load_mapping
from .rules import Table, apply_rules
from .safety import neutralize
from .values import Rows, check_value_maps, export_rows

__all__ = ["ExportResult", "ExportedFile", "export", "export_crm"]



@dataclass
class ExportedFile:
    """One file written by an export."""

    file: str
    object: str
    rows: int
    bytes: int
    load_order: int
    part: int = 1
    parts: int = 1
    spec: str = ""  # the mapping's file name this part belongs to
    step: int = 1
    group: str = ""


@dataclass
class ExportResult:
    """What an export wrote, and every problem found per record."""

    target: str
    out: Path
    files: list[ExportedFile]
    issues: list[Issue] = field(default_factory=list)
    manifest: Path | None = None
    report: Path | None = None
    guide: Path | None = None
    archive: Path | None = None

    @property
    def rows(self) -> dict[str, int]:
        """Rows written per object (all parts together)."""
        total: dict[str, int] = {}
        for f in self.files:
            total[f.object] = total.get(f.object, 0) + f.rows
        return total

    @property
    def errors(self) -> list[Issue]:
        """Problems the target's importer would reject the record for."""
        return [i for i in self.issues if i.severity == "error"]


@with_password
def export(path: str | Path, to: str, out: str | Path, *, mapping: str | Path | None = None,
           max_rows: int | None = None, password: str | None = None) -> ExportResult:
    """Write the files ``to`` (``hubspot``, ``salesforce``, ...) imports, into folder ``out``.

    Args:
        path: the CRM workbook (only read).
        to: the target CRM.
        out: folder for the files, the manifest and the validation report (created).
        mapping: the user's own mapping file instead of the shipped one.
        max_rows: split files at fewer rows than the target allows (a smaller batch).
        password: the workbook's password when it is encrypted; it is decrypted in
            memory only and every workbook written is encrypted with it.

    Returns:
        The files written with their row counts, and the validation report's records.

    Raises:
        ExportError: a stage has no target stage in the mapping, or the mapping is wrong.
    """
    with bulk_work():  # millions of small values and no cycles: the collector only rescans
        crm = load(path)
        crm.require_xlcrm()  # a team's own sheets would give empty files that look right
        return export_crm(crm, to, out, mapping=mapping, max_rows=max_rows)


def export_crm(crm: Crm, to: str, out: str | Path, *, mapping: str | Path | None = None,
               max_rows: int | None = None) -> ExportResult:
    """Like :func:`export`, for a workbook already loaded with :func:`xlcrm.load`."""
    spec = load_mapping(to, mapping)
    files = spec.files_for(crm.schema.preset)
    if not files:
        raise ExportError(f"{spec.path}: no files for the {crm.schema.preset} preset; add "
                          f'[[files]] with preset = "{crm.schema.preset}"')
    check_value_maps(crm, spec, files)
    plugin = _plugin(spec.key)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    result = ExportResult(target=spec.key, out=folder, files=[])

    def rows_of(chosen: list[int]) -> Made:
        made: Made = {}
        for i in chosen:
            found: list[Issue] = []
            made[i] = export_rows(crm, spec, files[i], plugin, found), found
        return made

    # the files in two halves of about as many records: one worked out on a second core
    mine, theirs = _halves([len(crm.tables.get(fs.sheet, ())) for fs in files])
    with Beside(lambda: _packed(rows_of(theirs)), fork=bool(theirs)) as other:
        made = rows_of(mine)
        made.update(_unpacked(other.result()))
    tables: dict[str, Table] = {}
    for i, fs in enumerate(files):
        (header, columns, origins), found = made[i]
        result.issues += found  # in file order, as one process would find them
        title = crm.sheet_names.get(fs.sheet, crm.schema.sheet(fs.sheet).name)
        tables[fs.file] = Table(fs, header, columns, origins, title)
    _check_refs(tables, result.issues)
    result.issues += apply_rules(spec.rules, tables, _locator(crm), crm.schema.preset)
    limit = min(spec.max_rows, max_rows) if max_rows else spec.max_rows
    for order, t in enumerate(tables.values(), 1):
        result.files += _write(folder, t, order, spec, limit)
    if spec.zip:
        result.archive = _zip(folder, spec.zip, [f for f in result.files if f.step == 1])
    result.report = _write_report(folder, result.issues)
    result.manifest = _write_manifest(folder, crm, spec, result, limit)
    result.guide = write_guide(folder, crm, spec, result)
    return result


_SEP = "\x00"  # in no cell: XML 1.0 can't hold it

Made = dict[int, tuple[Rows, list[Issue]]]


def _packed(made: Made) -> Made:
    """Each file's columns of texts as one text each, joined by NUL, the way they cross
    between processes fastest (a million small texts pickle ten times slower than one long
    one); a column that holds a NUL, or no text, stays a list."""
    out: Made = {}
    for i, ((header, columns, origins), found) in made.items():
        packed: list[Any] = []
        for column in columns:
            try:
                text = _SEP.join(column)
            except TypeError:  # not all texts
                text = None
            packed.append(text if text is not None and column
                          and text.count(_SEP) == len(column) - 1 else column)
        out[i] = (header, packed, origins), found
    return out


def _unpacked(made: Made) -> Made:
    """The columns :func:`_packed` joined, split again."""
    return {i: ((header, [c.split(_SEP) if isinstance(c, str) else c for c in columns],
                 origins), found)
            for i, ((header, columns, origins), found) in made.items()}


def _halves(sizes: list[int]) -> tuple[list[int], list[int]]:
    """The files (by position) split in two groups of about as many records each, the biggest
    first in the first group; the second is empty when there is one file."""
    groups: tuple[list[int], list[int]] = ([], [])
    records = [0, 0]  # (not `load`, the reader this module imports)
    for i in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        g = 0 if records[0] <= records[1] else 1
        groups[g].append(i)
        records[g] += sizes[i]
    return sorted(groups[0]), sorted(groups[1])


def _locator(crm: Crm) -> Callable[[FileSpec, str, int], str]:
    """The workbook cell behind an export column of one record, for the report."""
    def locate(fs: FileSpec, header: str, row: int) -> str:
        col = next((c for c in fs.columns if c.header == header), None)
        key = (col.value or "id").split()[0].split(".")[0] if col is not None else "id"
        return crm.cell(fs.sheet, key, row)
    return locate


def _zip(folder: Path, name: str, files: list[ExportedFile]) -> Path:
    """One archive of the files the vendor's wizard takes in a single upload."""
    path = folder / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            zf.write(folder / f.file, f.file)
    return path


def _plugin(key: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"{__package__}.targets.{key}")
    except ModuleNotFoundError:
        return None


def _file_of(tables: dict[str, Table], obj: str) -> Table | None:
    """The first (creating) file of a target object, the one links point at."""
    return next((t for t in tables.values() if t.spec.object == obj), None)


def _check_refs(tables: dict[str, Table], issues: list[Issue]) -> None:
    """Every link must find its record in the export itself (no orphan references), and a
    column the target links by (``unique``) must not hold the same value twice."""
    used: dict[tuple[str, str], set[str]] = {}
    for t in tables.values():
        for c, col in enumerate(t.spec.columns):
            if col.ref:
                obj, _, ref_header = col.ref.partition(":")
                parent = _file_of(tables, obj)
                if parent is not None:
                    used.setdefault((parent.spec.file, ref_header or parent.spec.key),
                                    set()).update(filter(None, t.columns[c]))
    for t in tables.values():
        for c, col in enumerate(t.spec.columns):
            if not col.unique:
                continue
            filled = list(filter(None, t.columns[c]))
            if len(set(filled)) == len(filled):
                continue  # no value twice
            first: dict[str, int] = {}
            for value, (title, row_no) in zip(t.columns[c], t.origins):
                if not value:
                    continue
                if value in first:
                    linked = value in used.get((t.spec.file, col.header), set())
                    issues.append(Issue(
                        title, f"A{row_no}", "error" if linked else "warning", "export-duplicate",
                        f'{t.spec.file} {col.header}: "{value}" also on row {first[value]}; '
                        "the target links and deduplicates by it"
                        + (", so links to it are ambiguous" if linked else
                           ", so it keeps one of them (merge the duplicates first)"), row_no))
                else:
                    first[value] = row_no
    for t in tables.values():
        for c, col in enumerate(t.spec.columns):
            if not col.ref:
                continue
            obj, _, ref_header = col.ref.partition(":")
            parent = _file_of(tables, obj)
            if parent is None:
                continue
            k = parent.header.index(ref_header or parent.spec.key)
            keys = set(filter(None, parent.columns[k]))
            for value, (title, row_no) in zip(t.columns[c], t.origins):
                if value and value not in keys:
                    issues.append(Issue(title, f"A{row_no}", "error", "export-orphan",
                                        f'{t.spec.file} {col.header}: "{value}" is not in '
                                        f"{parent.spec.file}, the target can't link it", row_no))


# ----- files ---------------------------------------------------------------------------------
def _csv_line(values: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(values)
    return buf.getvalue()


class _Lines(list[str]):
    """The lines a ``csv.writer`` writes (one ``write`` per row), kept apart."""

    write = list.append


def _quoted(text: str) -> bool:
    """Tell whether ``csv.writer`` quotes a field holding ``text`` (``QUOTE_MINIMAL``: the
    delimiter, the quote character, the line terminator's characters); ``in`` scans a
    column's texts joined faster than a pattern would."""
    return "," in text or '"' in text or "\r" in text or "\n" in text


class _Body:
    """The lines ``csv.writer`` writes for a table's rows, built a column at a time: the csv
    module looks at every character through a call (seconds at 300,000 rows), while a column
    with nothing to quote, most of them, is known as such from one scan; a row's line is its
    fields joined by commas, ended by CR LF."""

    def __init__(self, columns: Sequence[Sequence[str]], n: int, codec: str) -> None:
        if len(columns) < 2:  # ("" alone on a line is written as "")
            self._lines: list[str] = _Lines()
            csv.writer(self._lines, lineterminator="\r\n").writerows(
                zip(*columns) if columns else [()] * n)
            self._end = ""
        else:
            fields = []
            for column in columns:
                if _quoted("".join(column)):
                    quoted = {t: '"' + t.replace('"', '""') + '"' if _quoted(t) else t
                              for t in dict.fromkeys(column)}
                    column = list(map(quoted.__getitem__, column))
                fields.append(column)
            self._lines = list(map(",".join, zip(*fields)))
            self._end = "\r\n"
        # an ASCII line is as many bytes as characters in UTF-8: no need to encode it
        utf8 = codecs.lookup(codec).name == "utf-8"
        extra = len(self._end)
        self.sizes = [len(line) + extra if utf8 and line.isascii() else
                      len((line + self._end).encode(codec)) for line in self._lines]

    def text(self, start: int, stop: int) -> str:
        """The lines of rows ``start`` to ``stop`` (not included)."""
        lines = self._lines[start:stop]
        return self._end.join(lines) + self._end if lines else ""


def _write(folder: Path, table: Table, order: int, spec: Mapping_, max_rows: int
           ) -> list[ExportedFile]:
    """Write one object's rows, split into parts under the row and byte limits."""
    fs = table.spec
    codec = spec.encoding
    bom = len("".encode(codec))  # utf-8-sig writes its BOM even for an empty string
    head = _csv_line(table.header)
    plain = codec.replace("-sig", "")
    body = _Body(table.columns, len(table.origins), plain)
    ends = list(accumulate(body.sizes, initial=0))  # bytes before each line
    room = spec.max_bytes - bom - len(head.encode(plain))  # for the lines of one part
    parts: list[tuple[int, int]] = []
    start = 0
    while start < len(body.sizes) or not parts:
        # as many lines as fit (one at least, however long), at most max_rows
        stop = bisect_right(ends, ends[start] + room) - 1
        stop = min(max(stop, start + 1), start + max(max_rows, 1), len(body.sizes))
        parts.append((start, stop))
        start = stop
    stem, suffix = fs.file.rsplit(".", 1)
    written = []
    for i, (start, stop) in enumerate(parts, 1):
        name = fs.file if len(parts) == 1 else f"{stem}-{i}.{suffix}"
        data = (head + body.text(start, stop)).encode(codec)
        (folder / name).write_bytes(data)
        written.append(ExportedFile(name, fs.object, stop - start, len(data), order, i,
                                    len(parts), fs.file, fs.step, fs.group))
    return written


def _write_report(folder: Path, issues: list[Issue]) -> Path:
    path = folder / "validation.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(["record", "severity", "code", "message"])
        for i in issues:
            w.writerow([i.where, i.severity, i.code, neutralize(i.message)])
    return path


def _write_manifest(folder: Path, crm: Crm, spec: Mapping_, result: ExportResult,
                    limit: int) -> Path:
    path = folder / "manifest.json"
    data = {
        "target": spec.key, "target_name": spec.name, "xlcrm_version": __version__,
        "workbook": crm.path.name, "preset": crm.schema.preset, "mapping": spec.path.name,
        "encoding": spec.encoding, "date_format": spec.date_format,
        "limits": {"max_rows_per_file": limit, "max_bytes_per_file": spec.max_bytes,
                   "max_columns": spec.max_columns},
        "load_order": [f.object for f in spec.files_for(crm.schema.preset)],
        "files": [vars(f) for f in result.files],
        "validation": {"report": "validation.csv", "errors": len(result.errors),
                       "warnings": len(result.issues) - len(result.errors)},
        "how_to_import": spec.notes.strip(), "sources": list(spec.sources),
    }
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
