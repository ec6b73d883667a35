"""Write ``IMPORT.md``: a person's checklist for the vendor's import screens, for one export.

The steps come from the mapping file (``[guide]`` and each file's ``steps``) in the workbook's
language; this module puts them in load order with this export's file names, row counts,
encoding and date format, the validation report's counts, what is still UNVERIFIED and the
vendor pages the rules cite.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..read import Crm
from ..schema import load_locale
from .mapping import Mapping_

if TYPE_CHECKING:  # pragma: no cover
    from .export import ExportResult

__all__ = ["human_date_format", "write_guide"]

def human_date_format(fmt: str) -> str:
    """``%Y-%m-%d`` as the importers' screens spell it: ``YYYY-MM-DD``."""
    for code, text in (("%Y", "YYYY"), ("%m", "MM"), ("%d", "DD"), ("%H", "HH"), ("%M", "mm"),
                       ("%S", "ss")):
        fmt = fmt.replace(code, text)
    return fmt


def _text(entry: Any, lang: str) -> str:
    if isinstance(entry, Mapping):
        return str(entry.get(lang) or entry.get("en") or "")
    return str(entry)


def write_guide(folder: Path, crm: Crm, spec: Mapping_, result: ExportResult) -> Path:
    """Write ``IMPORT.md`` into the export folder and return its path."""
    from .._version import __version__

    lang = crm.schema.locale.code
    # the headings in the workbook's language, from its locale file ([guide]); the vendors'
    # steps from the mapping file, in that language where it has them, else in English
    w = {**load_locale("en").sections.get("guide", {}), **crm.schema.locale.sections.get(
        "guide", {})}
    fill = {"name": spec.name, "workbook": crm.path.name, "preset": crm.schema.preset,
            "version": __version__, "errors": len(result.errors),
            "warnings": len(result.issues) - len(result.errors), "zip": spec.zip,
            "encoding": "UTF-8" + (" (BOM)" if spec.encoding == "utf-8-sig" else ""),
            "date": human_date_format(spec.date_format),
            # the workbook's own Settings sheet, by its name in the workbook's language
            "settings": crm.schema.locale.label("sheets", "settings")}
    guide = spec.guide
    lines = [f"# {w['title'].format(**fill)}", "", w["intro"].format(**fill), "",
             w["report"].format(**fill), ""]
    entries = [guide.get("tool"), *guide.get("before", []), *guide.get("after", []),
               *(fs.steps for fs in spec.files_for(crm.schema.preset))]
    if any(isinstance(e, Mapping) and not e.get(lang) for e in entries):
        # a language the mapping file has no steps in (a user's own locale): they stay
        # English, and the reader is told
        lines += [f"*{w['steps_in_english']}*", ""]
    elif lang != "en":
        # the vendor's localized screen labels can't be checked here, so every language
        # names the screens, buttons and fields as the vendor's English interface does
        lines += [f"*{w['screen_names']}*", ""]
    if guide.get("tool"):
        lines += [f"**{_text(guide['tool'], lang)}**", ""]
    lines += [f"## 1. {w['before']}", ""]
    lines += [f"- [ ] {_text(s, lang).format(**fill)}" for s in guide.get("before", [])]
    lines += ["", f"## 2. {w['files']}", "", w["options"].format(**fill), ""]
    if spec.zip:
        lines += [w["zip"].format(**fill), ""]
    by_spec: dict[str, list[str]] = {}
    rows: dict[str, int] = {}
    for f in result.files:
        by_spec.setdefault(f.spec, []).append(f.file)
        rows[f.spec] = rows.get(f.spec, 0) + f.rows
    for n, fs in enumerate(spec.files_for(crm.schema.preset), 1):
        names = ", ".join(f"`{x}`" for x in by_spec.get(fs.file, [fs.file]))
        note = f"; {w['step2']}" if fs.step > 1 else ""
        lines.append(f"{n}. [ ] {names} ({w['rows'].format(rows=rows.get(fs.file, 0))}{note}): "
                     + _text(fs.steps, lang).format(**fill))
    lines += ["", f"## 3. {w['after']}", ""]
    lines += [f"- [ ] {_text(s, lang).format(**fill)}" for s in guide.get("after", [])]
    unverified = [*spec.unverified,
                  *(f"{r.file} {r.check} {', '.join(r.columns)}: {r.why} ({r.unverified})"
                    for r in spec.rules if r.unverified and any(
                        r.applies_to(f.file, crm.schema.preset)
                        for f in spec.files_for(crm.schema.preset)))]
    if unverified:
        # the research notes stay as written (English), quoted, so they can be checked
        # against the vendor's pages word for word; the reader is told so
        lines += ["", f"## {w['unverified']}", ""]
        if lang != "en":
            lines += [f"*{w['unverified_note']}*", ""]
        lines += [f"- UNVERIFIED: {u}" for u in unverified]
    pages = sorted({r.source for r in spec.rules} | set(spec.cite.values()) | set(spec.sources))
    lines += ["", f"## {w['sources']}", ""] + [f"- <{p}>" for p in pages]
    path = folder / "IMPORT.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
