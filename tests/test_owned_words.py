"""The sheets xlcrm owns speak the workbook's language.

A dealer demo in Italian and in Russian runs the commands that write owned sheets (update,
score, clean, agenda); no English label of the ``[owned]`` section (those the language words
differently) is left on any owned sheet nor in a chart. The scan is checked to see English in
an English demo, the words it reads back in another language are found again, and plural forms
and the date tag of the chart axis are checked by hand.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

import xlcrm
from xlcrm.schema import load_locale, load_schema
from xlcrm.sheets.words import OwnedText
from xlcrm.xlsx.writer import patch_sheet

from ._helpers import TODAY

#: the sheets xlcrm owns (and rewrites) in a dealer workbook, by key
OWNED = ("tally", "baseline", "dashboard", "funnel", "stage_history", "data_quality",
         "merge_log", "rfm", "lead_scores", "agenda")


def _english_labels(code: str) -> list[str]:
    """The English ``[owned]`` texts that ``code`` words differently: each whole label, and
    for a sentence with placeholders, each of its literal parts the language doesn't share."""
    english = load_locale("en").sections["owned"]
    theirs = load_locale(code).sections["owned"]
    labels = set()
    for key, text in english.items():
        if key.startswith("word_") or text == theirs[key]:
            continue  # a plural list is no label; a word both languages share is no sign
        for part in re.split(r"\{\w+\}", text):
            part = part.strip(" .,:;()")
            if len(part) >= 2 and part not in theirs[key]:
                labels.add(part)
    return sorted(labels)


def _texts(path: Path, code: str) -> dict[str, list[str]]:
    """Every text of the owned sheets (by sheet name) and of the charts (by part name)."""
    schema = load_schema("dealer", code)
    book = CalamineWorkbook.from_path(str(path))
    out: dict[str, list[str]] = {}
    for key in OWNED:
        name = schema.sheet(key).name
        if name in book.sheet_names:
            rows = book.get_sheet_by_name(name).to_python()
            out[name] = [v for row in rows for v in row if isinstance(v, str) and v]
    with zipfile.ZipFile(path) as package:
        for part in package.namelist():
            if part.startswith("xl/charts/chart"):
                xml = package.read(part).decode("utf-8")
                out[part] = [a or b for a, b in re.findall(
                    r"<a:t>([^<]*)</a:t>|<c:v>([^<]*)</c:v>", xml)]
    return out


def _found(texts: dict[str, list[str]], labels: list[str]) -> set[tuple[str, str]]:
    """(where, label) for each label found as whole words ("Lead" is not in "Leads")."""
    found = set()
    # a command (`xlcrm clean --apply`) is a command in every language, not a label
    plain = {where: [re.sub(r"`[^`]*`", " ", v) for v in values]
             for where, values in texts.items()}
    for label in labels:
        pattern = re.compile(r"(?<!\w)" + re.escape(label) + r"(?!\w)")
        for where, values in plain.items():
            if any(pattern.search(v) for v in values):
                found.add((where, label))
    return found


def _run_everything(folder: Path, code: str) -> Path:
    path = xlcrm.demo(folder, leads=150, locale=code, today=TODAY)
    xlcrm.update(path, today=TODAY)
    xlcrm.score(path, today=TODAY)
    xlcrm.clean(path, today=TODAY)
    xlcrm.agenda(path, day=TODAY + dt.timedelta(days=1),
                 now=dt.datetime.combine(TODAY, dt.time(18, 0)), out=folder / "agenda.html")
    return Path(path)


@pytest.fixture(scope="module", params=["it", "ru"])
def translated(request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    code = str(request.param)
    return code, _run_everything(tmp_path_factory.mktemp(f"owned-{code}"), code)


def test_no_english_label_on_an_owned_sheet_or_chart(translated: tuple[str, Path]) -> None:
    code, path = translated
    texts = _texts(path, code)
    schema = load_schema("dealer", code)
    # every owned sheet was written, with its charts
    assert {schema.sheet(k).name for k in OWNED} <= set(texts)
    assert sum(part.startswith("xl/charts/") for part in texts) >= 3
    assert sorted(_found(texts, _english_labels(code))) == []


def test_the_scan_sees_english_where_it_is(tmp_path: Path) -> None:
    path = _run_everything(tmp_path, "en")
    found = _found(_texts(path, "en"), _english_labels("it"))
    sheets = {where for where, _ in found}
    assert {"Tally", "Dashboard", "Funnel", "Baseline", "RFM", "Lead scores", "Data quality",
            "Agenda", "Stage history"} <= sheets
    assert ("Tally", "Weekly tally") in found
    assert any(where.startswith("xl/charts/") for where in sheets)  # chart titles too


def test_the_words_are_the_languages(translated: tuple[str, Path]) -> None:
    code, path = translated
    texts = _texts(path, code)
    text = OwnedText(code)
    schema = load_schema("dealer", code)
    assert text["tally_title"] in texts[schema.sheet("tally").name]
    assert text["chart_week_title"] in [v for part, values in texts.items()
                                        if part.startswith("xl/charts/") for v in values]
    # the scores say which rules fired with the language's condition words
    why = " ".join(texts[schema.sheet("lead_scores").name])
    filled = load_locale(code).sections["values"]["conditions"]["is_filled"]
    assert filled in why and "is filled" not in why
    with zipfile.ZipFile(path) as package:
        charts = "".join(package.read(p).decode("utf-8") for p in package.namelist()
                         if p.startswith("xl/charts/chart"))
    # month names on the rates chart's date axis in the language, whatever Excel's own
    tag = {"it": "[$-410]", "ru": "[$-419]"}[code]
    assert f'formatCode="{tag}d mmm"' in charts


def test_a_later_update_finds_its_history_in_the_language(translated: tuple[str, Path]
                                                           ) -> None:
    code, path = translated
    schema = load_schema("dealer", code)
    text = OwnedText(code)
    later = TODAY + dt.timedelta(days=7)
    xlcrm.update(path, today=later)
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(
        schema.sheet("baseline").name).to_python()
    # the baseline history was found again by its header's first word, so the baseline of
    # the first update is kept with its day (lost, it would be recorded anew on the later day)
    starts = [i for i, row in enumerate(rows) if row and row[0] == text["baselines_set_on"]]
    assert len(starts) == 1
    kept = rows[starts[0] + 1][0]
    assert (kept.date() if isinstance(kept, dt.datetime) else kept) == TODAY
    after = rows[starts[0] + 2:starts[0] + 3]
    assert after in ([], [[]]) or after[0][0] in ("", None)  # its period did not change
    history = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(
        schema.sheet("stage_history").name).to_python()
    assert history[3][0] == text["history_record"]


def test_plural_forms_follow_the_language() -> None:
    russian = OwnedText("ru")
    # 1 день, 3 дня, 5 дней, 21 день, 11 дней (CLDR: one, few, many, one, many)
    assert [russian.plural("word_day", n) for n in (1, 3, 5, 21, 11)] == [
        "день", "дня", "дней", "день", "дней"]
    english = OwnedText("en")
    assert [english.plural("word_day", n) for n in (0, 1, 2)] == ["days", "day", "days"]
    # Hungarian keeps the noun singular after a number: 5 nap
    assert OwnedText("hu").plural("word_day", 5) == "nap"


def test_english_has_no_date_tag_and_an_unknown_language_speaks_english() -> None:
    assert OwnedText("en").excel_date_prefix() == ""
    assert OwnedText("xx")["tally_title"] == "Weekly tally"
    assert OwnedText("it").excel_date_prefix() == "[$-410]"


def test_merge_marks_are_read_back_under_the_languages_header(tmp_path: Path) -> None:
    path = Path(xlcrm.demo(tmp_path, leads=150, locale="it", today=TODAY))
    found = xlcrm.clean(path, today=TODAY)
    assert found.groups  # the demo plants a duplicate
    name = load_schema("dealer", "it").sheet("data_quality").name
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python(
        skip_empty_area=False)
    head = next(i for i, r in enumerate(rows) if r and r[0] == "Gruppo")
    merge = rows[head].index("Unisci")  # the Italian header of the Merge column
    marks = {(i, merge): "x" for i, r in enumerate(rows[head + 1:], head + 1)
             if r and r[0] == 1}
    assert len(marks) == len(found.groups[0].ids)
    patch_sheet(path, name, marks, backups=0)
    applied = xlcrm.clean(path, apply=True, today=TODAY)
    assert applied.merged_groups == 1
