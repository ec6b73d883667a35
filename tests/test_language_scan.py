"""Every word xlcrm writes is in the workbook's language, in every preset and every language.

Each preset is made as a small demo in each language, then checked, updated, cleaned, scored,
given owners (proposed), reported (workbook, HTML page and e-mail) and given an agenda (sheet,
page and terminal), all through the command line. Every text it wrote (each text cell of each
sheet, each text of each chart, the report workbook, the HTML pages, the e-mail, what the
commands printed) is scanned for the labels of the OTHER languages: the values of their locale
files and the month and day names of their calendar. In Russian and Kyrgyz, any Latin word
their own locale file doesn't write is a miss too.
A label is no sign of another language when the workbook's language writes it too (a word
both share, a number, a brand): that is read from the locale files themselves, so no list of
exceptions can hide a real miss. What the user typed (the demo's names, companies, cities,
e-mails and vehicles) is not scanned; the demo's own phrases (subjects, notes, task titles) are.
"""

from __future__ import annotations

import email
import email.policy
import html
import io
import re
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel import Locale as BabelLocale
from python_calamine import CalamineWorkbook
from rich.console import Console
from typer.testing import CliRunner

import xlcrm
from xlcrm.cli import app
from xlcrm.schema import MILESTONE_KEYS, templates_dir
from xlcrm.terminal import print_demo

from ._helpers import LOCALES, PRESETS, TODAY

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: locale sections that are not words a sheet shows: Excel formats, and the other headers the
#: reader accepts (input vocabulary, lower case, never written)
_NOT_LABELS = ("locale", "aliases")
_WORD = r"[^\W\d_]"
#: the name of a backup a command keeps (``demo-dealer.20261123-101500-123456.xlsx``)
_BACKUP = re.compile(r"\.\d{8}-\d{6}")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _raw(code: str) -> dict[str, Any]:
    with (templates_dir() / "locales" / f"{code}.toml").open("rb") as fh:
        return tomllib.load(fh)


def _fragments(text: str) -> Iterator[str]:
    """The literal pieces of a label: a sentence is cut at its placeholders, commands, plural
    lists and line breaks; what is left is trimmed of punctuation."""
    for part in re.split(r"\{\w+\}|`[^`]*`|\||\n|\b(?:one|few|many|other|two|zero):", text):
        part = part.strip(" .,:;()[]!?\"'«»„“”–-/%&*#+=<>")
        if len(re.findall(_WORD, part)) >= 2:
            yield part


def _calendar(code: str) -> Iterator[str]:
    """Month and day names of the language's calendar (CLDR, as Babel has them; English's
    both American and British, as the report writes British dates)."""
    for name in ("en", "en_GB") if code == "en" else (code,):
        cal = BabelLocale.parse(name)
        for names in (cal.months, cal.days):
            for context in names.values():
                for width in ("wide", "abbreviated"):
                    yield from context.get(width, {}).values()


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def _labels(code: str) -> set[str]:
    raw = _raw(code)
    texts = [s for k, v in raw.items() if k not in _NOT_LABELS for s in _strings(v)]
    texts += list(raw["locale"]["weekdays"])
    texts += list(_calendar(code))
    return {frag for text in texts for frag in _fragments(text)}


def _vocabulary(code: str) -> str:
    """All the words a language writes, folded, one text: what another language may share."""
    raw = _raw(code)
    return "\n".join(_fold(s) for s in (*_strings(raw), *_calendar(code)))


def _foreign(code: str) -> tuple[dict[str, list[str]], re.Pattern[str]]:
    """The labels of other languages that ``code`` doesn't write (folded, each with the
    languages it is from), and one pattern that finds any of them as whole words."""
    own = _vocabulary(code)
    labels: dict[str, list[str]] = {}
    for other in LOCALES:
        if other == code:
            continue
        for label in _labels(other):
            folded = _fold(label)
            if folded in own and re.search(r"(?<!\w)" + re.escape(folded) + r"(?!\w)", own):
                continue  # the language writes it too
            if other not in labels.setdefault(folded, []):
                labels[folded].append(other)
    alternatives = "|".join(re.escape(k) for k in sorted(labels, key=len, reverse=True))
    return labels, re.compile(r"(?<!\w)(?:" + alternatives + r")(?!\w)")


def _typed() -> list[str]:
    """What the demo's people typed: names, companies, cities, e-mail domains, vehicles, and
    the towns of the presets' territory rules; longest first so a name goes before its part."""
    with (templates_dir() / "demo" / "names.toml").open("rb") as fh:
        names = tomllib.load(fh)
    typed = {s for lang in names["weights"] for s in _strings(names[lang])}
    typed |= set(_strings(names["vehicles"]))
    for preset in PRESETS:  # the towns the presets' territory rules name
        with (templates_dir() / "presets" / f"{preset}.toml").open("rb") as fh:
            lists = tomllib.load(fh).get("lists", [])
        for rules in (lst for lst in lists if lst.get("key") == "territory_rules"):
            typed |= {town for row in rules.get("rows", []) for cell in row
                      if isinstance(cell, str) for town in cell.split(", ") if town[:1].isupper()}
    return sorted(typed, key=len, reverse=True)


#: e-mail addresses, web addresses, paths, file names and record ids (``DEL-2026-0878``): names,
#: not words of a language
_TYPED_COLUMNS = re.compile(r"[\w.+-]+@[\w.-]+|https?://\S+|www\.\S+|\S*/\S*"
                            r"|[\w.-]+\.(?:xlsx|xlsm|html|eml|pdf)\b|\b[A-Z]+-[\w-]*\d")


def _keys() -> set[str]:
    """The keys xlcrm writes as keys (Settings' Key columns): those of the locale files and
    the Tally's milestones. A key is the same in every language, so it is no label."""
    def walk(table: dict[str, Any]) -> Iterator[str]:
        for key, value in table.items():
            yield key
            if isinstance(value, dict):
                yield from walk(value)
    return set(walk(_raw("en"))) | set(MILESTONE_KEYS)


def _plain(text: str, typed: list[str], *, fold: bool = True) -> str:
    if text in _KEYS:
        return ""
    text = _TYPED_COLUMNS.sub(" ", text)
    for word in typed:
        if word in text:
            text = re.sub(r"(?<!\w)" + re.escape(word) + r"(?!\w)", " ", text)
    return _fold(text) if fold else text


def _book_texts(path: Path) -> Iterator[tuple[str, str]]:
    """(where, text) for every text cell of every sheet and every text of every chart."""
    book = CalamineWorkbook.from_path(str(path))
    for name in book.sheet_names:
        for r, row in enumerate(book.get_sheet_by_name(name).to_python()):
            for c, value in enumerate(row):
                if isinstance(value, str) and value:
                    yield f"{path.name}!{name}!R{r + 1}C{c + 1}", value
    with zipfile.ZipFile(path) as package:
        for part in package.namelist():
            if part.startswith("xl/charts/chart"):
                xml = package.read(part).decode("utf-8")
                for a, b in re.findall(r"<a:t>([^<]*)</a:t>|<c:v>([^<]*)</c:v>", xml):
                    yield f"{path.name}:{part}", html.unescape(a or b)


def _page_texts(path: Path) -> Iterator[tuple[str, str]]:
    """(where, text) for each line of an HTML page's text, and its attributes people read."""
    page = path.read_text(encoding="utf-8")
    page = re.sub(r"(?is)<(style|script)\b.*?</\1>", " ", page)
    for attr in re.findall(r'(?:alt|title|aria-label)="([^"]*)"', page):
        yield f"{path.name}@attr", html.unescape(attr)
    for line in re.sub(r"<[^>]+>", "\n", page).splitlines():
        if line.strip():
            yield path.name, html.unescape(line)


def _build(folder: Path, preset: str, code: str) -> dict[str, list[tuple[str, str]]]:
    """Make the demo, then run check, update, clean, score, assign (a proposal), report and
    agenda through the command line; return every text written and printed."""
    runner = CliRunner()
    # the demo's own update, clean, score and report are the commands run below: made bare,
    # it is made once; what `xlcrm demo` prints is printed here as the command prints it
    book = Path(xlcrm.demo(folder, preset=preset, leads=40, locale=code, today=TODAY,
                           run_update=False))
    console = Console(record=True, width=200, file=io.StringIO())
    print_demo(console, book, preset=preset, locale=code, leads=40,
               report=f"{book.stem}-report-2026-W47.html")
    printed = [("terminal:demo", line) for line in console.export_text().splitlines()]
    for args in (["check", str(book)],
                 ["update", str(book), "--today", f"{TODAY}"],
                 ["clean", str(book), "--today", f"{TODAY}"],
                 ["score", str(book), "--today", f"{TODAY}"],
                 ["assign", str(book)],
                 ["report", str(book), "--out", str(folder / "report"), "--html", "--eml",
                  "--today", f"{TODAY}"],
                 ["agenda", str(book), "--out", str(folder / "agenda"), "--date", "2026-11-24"]):
        result = runner.invoke(app, args, env={"COLUMNS": "200"})
        # (check ends with 1 when it finds errors: the demo plants a few)
        assert result.exit_code in ((0, 1) if args[0] == "check" else (0,)), (
            args, result.output, result.exception)
        printed += [(f"terminal:{args[0]}", line) for line in result.output.splitlines()]
    texts = {"terminal": printed}
    for path in sorted(folder.rglob("*.xlsx")):
        if _BACKUP.search(path.name):
            continue  # an earlier version kept by a command: the same texts again
        texts[path.name] = list(_book_texts(path))
    for path in sorted(folder.rglob("*.html")):
        texts[path.name] = list(_page_texts(path))
    for path in sorted(folder.rglob("*.eml")):  # the e-mail: its subject, text and HTML
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        texts[path.name] = [(f"{path.name}:subject", str(message["subject"]))]
        for part in message.walk():
            if part.get_content_type() in ("text/plain", "text/html"):
                page = path.with_suffix(f".{part.get_content_subtype()}.part")
                page.write_text(part.get_content(), encoding="utf-8")
                texts[path.name] += list(_page_texts(page))
    return texts


def _misses(texts: dict[str, list[tuple[str, str]]], code: str) -> list[str]:
    """One line per text holding a label of another language: where, which, the text."""
    typed = _typed()
    labels, pattern = _foreign(code)
    found = []
    seen: dict[str, list[str]] = {}
    for items in texts.values():
        for where, text in items:
            if text not in seen:
                plain = _plain(text, typed)
                # overlapping labels ("last week" and "week") are each reported
                seen[text] = sorted({m for word in re.finditer(r"\b\w", plain)
                                     for m in [_match_at(pattern, plain, word.start())] if m})
            for label in seen[text]:
                found.append(f"{where}: {'/'.join(labels[label])} {label!r} in {text!r}")
    return found


def _latin_words(texts: dict[str, list[tuple[str, str]]], code: str) -> list[str]:
    """For a language not written in Latin letters: each text holding a Latin word of three
    letters or more that the language's own locale file doesn't write (``e-mail``, ``xlcrm``
    are its own; codes in capitals are codes). Finds English no locale file holds as a label."""
    own = set(re.findall(r"[a-z]{3,}", _vocabulary(code)))
    typed = _typed()
    found = []
    for items in texts.values():
        for where, text in items:
            plain = re.sub(r"`[^`]*`", " ", _plain(text, typed, fold=False))  # a command
            # a word in small letters or capitalised; codes in capitals (EUR, CEO) are codes
            words = re.findall(r"(?<![\w-])[A-Za-z][a-z]{2,}(?![\w-])", plain)
            stray = sorted({w.casefold() for w in words} - own)
            if stray:
                found.append(f"{where}: {stray} in {text!r}")
    return found


def _match_at(pattern: re.Pattern[str], text: str, start: int) -> str | None:
    match = pattern.match(text, start)
    return match.group(0) if match else None


_KEYS = _keys()
#: the languages written in Cyrillic: any Latin word in them must be one of their own
_CYRILLIC = ("ru", "ky")


@pytest.fixture(scope="module", params=[(p, c) for p in PRESETS for c in LOCALES],
                ids=lambda pc: f"{pc[0]}-{pc[1]}")
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> tuple[str, str, dict[str, list[tuple[str, str]]]]:
    preset, code = request.param
    folder = tmp_path_factory.mktemp(f"scan-{preset}-{code}")
    return preset, code, _build(folder, preset, code)


def test_no_label_of_another_language_anywhere(
        built: tuple[str, str, dict[str, list[tuple[str, str]]]]) -> None:
    preset, code, texts = built
    # everything was written: the workbook, the report's workbook and page, the agenda page
    names = set(texts)
    assert f"demo-{preset}.xlsx" in names and "terminal" in names
    assert any(n.startswith(f"demo-{preset}-report-") and n.endswith(".xlsx") for n in names)
    assert any(where == "terminal:demo" for where, _ in texts["terminal"])
    assert any(n.startswith("agenda-") for n in names)
    assert any(n.endswith(".eml") for n in names)
    assert _misses(texts, code) == []
    if code in _CYRILLIC:
        assert _latin_words(texts, code) == []


def test_the_scan_sees_another_language(tmp_path: Path) -> None:
    """An English demo scanned as if it were Italian: the scan finds English on the sheets,
    in the charts, the report, the agenda and the terminal (so a miss would not go unseen)."""
    texts = _build(tmp_path, "dealer", "en")
    found = _misses(texts, "it")
    where = {line.split(":")[0].split("!")[0] for line in found}
    assert {"terminal", "demo-dealer.xlsx", "agenda-2026-11-24.html"} <= where
    assert any("xl/charts/" in line for line in found)
    assert any(line.startswith("demo-dealer-report-") for line in found)
    assert any("'weekly tally'" in line for line in found)
    # a phrase of the demo's own (an activity's subject) is a label too
    assert any("'call, no answer'" in line for line in found)


def test_the_terminal_writes_numbers_as_the_language_does(
        built: tuple[str, str, dict[str, list[tuple[str, str]]]]) -> None:
    """The update's table prints rates with the language's decimal sign (CLDR, via Babel):
    33.3% in English, 33,3 % or 33,3% in the others shipped."""
    _, code, texts = built
    printed = "\n".join(text for where, text in texts["terminal"]
                        if where == "terminal:update")
    rates = re.findall(r"\d+([.,])\d[\s\u00a0\u202f]?%", printed)
    assert rates, printed
    decimal = BabelLocale.parse("en_GB" if code == "en" else code).number_symbols["latn"][
        "decimal"]
    assert set(rates) == {decimal}


def test_import_checklist_names_the_vendors_screens_as_in_english(tmp_path: Path) -> None:
    """IMPORT.md speaks the workbook's language, steps included; the reader is told that the
    vendor's screens, buttons and fields are named as its English interface names them."""
    from xlcrm import demo, export

    for code in ("de", "it"):
        book = demo(tmp_path / code, leads=30, locale=code, today=TODAY, run_report=False)
        guide = (export(book, "hubspot", tmp_path / code / "out").out / "IMPORT.md").read_text(
            encoding="utf-8")
        assert str(_raw(code)["guide"]["screen_names"]) in guide
        assert str(_raw(code)["guide"]["steps_in_english"]) not in guide
        assert str(_raw(code)["guide"]["before"]) in guide


def test_a_merge_lists_its_conflicts_in_the_workbooks_language(tmp_path: Path) -> None:
    """A Russian workbook's Conflicts sheet has a Russian name, banner and header; a second
    merge finds that sheet again and rewrites it (no second sheet)."""
    import shutil

    from xlcrm.schema import load_schema
    from xlcrm.sheets.words import OwnedText
    from xlcrm.xlsx.writer import patch_sheet

    base = Path(xlcrm.demo(tmp_path / "base", leads=30, locale="ru", today=TODAY,
                           run_update=False))
    leads = load_schema("dealer", "ru").sheet("leads")
    notes = [c.key for c in leads.columns].index("notes")
    copies = {}
    for side in ("mine", "theirs"):
        copies[side] = Path(shutil.copyfile(base, tmp_path / f"{side}.xlsx"))
        patch_sheet(copies[side], leads.name, {(2, notes): f"заметка {side}"}, backups=0)
    words = OwnedText("ru")
    for _ in range(2):
        out = tmp_path / "merged.xlsx"
        result = xlcrm.merge(copies["mine"], copies["theirs"], out=out, base=base, force=True)
        assert result.conflicts
        book = CalamineWorkbook.from_path(str(out))
        assert words["conflicts_sheet"] in book.sheet_names
        assert "Conflicts" not in book.sheet_names
        rows = book.get_sheet_by_name(words["conflicts_sheet"]).to_python()
        assert rows[0][0] == words["conflicts_banner"]
        assert tuple(rows[3][:8]) == words.header("conflicts_header")
        copies["mine"] = Path(shutil.copyfile(out, tmp_path / "mine.xlsx"))
