"""The vendors' import steps (IMPORT.md) in every language.

Each mapping file holds every step in every shipped language, side by side with English; a
translation may not drop a step, a ``{placeholder}``, a file name, a column or field name or a
quoted screen name. Each language's IMPORT.md, read back, has no English sentence left outside
the quoted screen names, the file and field names, the research notes and the links.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import xlcrm
from xlcrm.schema import templates_dir

from ._helpers import LOCALES, PRESETS, TODAY

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

TARGETS = sorted(p.stem for p in (templates_dir() / "exports").glob("*.toml"))


def _mapping(target: str) -> dict[str, Any]:
    with (templates_dir() / "exports" / f"{target}.toml").open("rb") as fh:
        return tomllib.load(fh)


def _entries(target: str) -> Iterator[tuple[str, dict[str, str]]]:
    """Every text of the target's steps, each with where it is."""
    raw = _mapping(target)
    for f in raw["files"]:
        yield f"{f['preset']}/{f['file']}", f["steps"]
    guide = raw["guide"]
    yield "tool", guide["tool"]
    for part in ("before", "after"):
        for n, entry in enumerate(guide.get(part, [])):
            yield f"{part}[{n}]", entry


#: what a translation must carry over from English word for word: placeholders, file names and
#: commands in backticks, quoted screen and column names, file names, the mapping's tables and
#: the vendors' API field names
_KEPT = (r"\{\w+\}", r"`[^`]+`", r'"[^"]+"', r"[\w.-]+\.(?:csv|zip)\b", r"\[values\.\w+\]",
         r"\b\w+(?:\.\w+)*__c\b", r"\bxlcrm_\w+\b", r"\b\w+\.Username\b", r"\bdate_format\b")


def _kept(text: str) -> set[str]:
    return {m for pattern in _KEPT for m in re.findall(pattern, text)}


@pytest.mark.parametrize("target", TARGETS)
def test_every_step_exists_in_every_language(target: str) -> None:
    for where, entry in _entries(target):
        assert sorted(entry) == sorted(LOCALES), (target, where)
        for code in LOCALES:
            assert entry[code].strip(), (target, where, code)


@pytest.mark.parametrize("target", TARGETS)
def test_a_translation_keeps_every_placeholder_name_and_quoted_screen_name(target: str) -> None:
    for where, entry in _entries(target):
        wanted = _kept(entry["en"])
        for code in LOCALES:
            missing = {k for k in wanted if k not in entry[code]}
            assert not missing, (target, where, code, missing)
            # and adds no placeholder English doesn't fill
            assert set(re.findall(r"\{\w+\}", entry[code])) == set(
                re.findall(r"\{\w+\}", entry["en"])), (target, where, code)


def test_the_check_sees_a_dropped_placeholder() -> None:
    """The comparison is not blind: a step without its file name or placeholder is caught."""
    en = "In every import choose: Year-Month-Day ({date}); upload `deals.csv`, \"Create\"."
    assert _kept(en) == {"{date}", "`deals.csv`", '"Create"', "deals.csv"}
    assert _kept("Scegli Anno-Mese-Giorno; carica deals.csv, Crea.") == {"deals.csv"}


#: words of an English sentence that none of the other shipped languages writes as a word
_ENGLISH = {"the", "and", "with", "each", "every", "your", "from", "into", "after", "before",
            "which", "choose", "open", "check", "upload", "map", "of", "to", "for", "are",
            "their", "its", "this", "that", "these", "leave", "when", "else",
            "only", "again", "without", "same", "rows", "above", "below", "read"}


def _english_left(markdown: str) -> list[str]:
    """The English words of IMPORT.md outside quotes, backticks, links and research notes."""
    found = []
    for line in markdown.splitlines():
        if line.startswith(("- UNVERIFIED:", "- <")):
            continue  # research notes quoted as recorded; the vendors' pages
        text = re.sub(r'`[^`]*`|"[^"]*"|<[^>]*>|\[values\.\w+\]', " ", line)
        words = re.findall(r"[^\W\d_]+", text.casefold())
        found += [f"{w}: {line}" for w in words if w in _ENGLISH]
    return found


@pytest.fixture(scope="module")
def guides(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str, str], str]:
    """IMPORT.md of every target, for a small demo of every preset in every language."""
    out: dict[tuple[str, str, str], str] = {}
    for preset in PRESETS:
        for code in LOCALES:
            folder = tmp_path_factory.mktemp(f"guide-{preset}-{code}")
            book = xlcrm.demo(folder, preset=preset, leads=30, locale=code, today=TODAY,
                              run_update=False, run_report=False)
            for target in TARGETS:
                result = xlcrm.export(book, target, folder / target)
                out[preset, code, target] = (result.out / "IMPORT.md").read_text(
                    encoding="utf-8")
    return out


def test_import_md_has_no_english_sentence_outside_screen_names(
        guides: dict[tuple[str, str, str], str]) -> None:
    left = {key: _english_left(text) for key, text in guides.items() if key[1] != "en"}
    assert {key: found for key, found in left.items() if found} == {}


def test_the_english_check_sees_english(guides: dict[tuple[str, str, str], str]) -> None:
    """The same check finds English in every English checklist (so a miss would be seen)."""
    for (preset, code, target), text in guides.items():
        if code == "en":
            assert len(_english_left(text)) > 10, (preset, target)


def test_every_language_names_the_workbooks_own_settings_sheet(
        guides: dict[tuple[str, str, str], str]) -> None:
    """The reps are looked up in the workbook's Settings sheet, by its name in that language."""
    for (preset, code, target), text in guides.items():
        with (templates_dir() / "locales" / f"{code}.toml").open("rb") as fh:
            locale = tomllib.load(fh)
        assert locale["sheets"]["settings"] in text, (preset, code, target)
        assert "{" not in text, (preset, code, target)
        if code != "en":
            assert locale["guide"]["screen_names"] in text
            assert locale["guide"]["steps_in_english"] not in text


def test_a_mapping_without_the_language_gives_english_steps_and_says_so(
        guides: dict[tuple[str, str, str], str], tmp_path: Path) -> None:
    """A user's own mapping file written before a language existed (only ``en`` and ``it``
    steps): the Russian checklist keeps its own headings, gives the steps in English and says
    so, instead of leaving a step out."""
    text = (templates_dir() / "exports" / "hubspot.toml").read_text(encoding="utf-8")
    old = re.sub(r', (?:hu|ru|ky|de|fr|es) = "(?:[^"\\]|\\.)*"', "", text)
    assert ' ru = "' not in old and ' it = "' in old
    mapping = tmp_path / "old-hubspot.toml"
    mapping.write_text(old, encoding="utf-8")
    book = xlcrm.demo(tmp_path / "ru", leads=30, locale="ru", today=TODAY, run_update=False,
                      run_report=False)
    guide = (xlcrm.export(book, "hubspot", tmp_path / "out", mapping=mapping).out
             / "IMPORT.md").read_text(encoding="utf-8")
    with (templates_dir() / "locales" / "ru.toml").open("rb") as fh:
        words = tomllib.load(fh)["guide"]
    assert words["steps_in_english"] in guide and words["screen_names"] not in guide
    assert words["before"] in guide
    assert "Upload `contacts.csv` for Contacts" in guide
    assert _english_left(guide)  # and the English check sees those steps
    assert guides["dealer", "ru", "hubspot"].count("- [ ]") == guide.count("- [ ]")
