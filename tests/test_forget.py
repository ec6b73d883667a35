"""An access request and an erasure request, from the command line, checked in the file itself."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

import xlcrm
from xlcrm.cli import app

from ._helpers import TODAY, copy_of

runner = CliRunner()


def _grids(path: Path) -> dict[str, list[list[Any]]]:
    book = CalamineWorkbook.from_path(str(path))
    try:
        return {n: book.get_sheet_by_name(n).to_python() for n in book.sheet_names}
    finally:
        book.close()


def _someone(crm: xlcrm.Crm) -> pd.Series:
    """A lead with an e-mail, a phone and a last name nobody else has, and activities."""
    leads = crm["leads"]
    counts = leads["last_name"].value_counts()
    linked = set(crm["activities"]["lead"])
    for _, rec in leads.iterrows():
        if isinstance(rec["email"], str) and isinstance(rec["phone"], str) and \
                counts[rec["last_name"]] == 1 and rec["id"] in linked and \
                len(str(rec["last_name"])) > 4:
            return rec
    raise AssertionError("the demo has nobody to forget")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def test_person_gathers_the_record_and_every_linked_row(demo_book: Callable[..., Path],
                                                        tmp_path: Path) -> None:
    book = demo_book("dealer", 120, 2)
    crm = xlcrm.load(book)
    rec = _someone(crm)
    out = tmp_path / "answer.json"
    result = runner.invoke(app, ["person", str(book), "--email", rec["email"].upper(),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    answer = json.loads(out.read_text(encoding="utf-8"))
    assert answer["records"] == [rec["id"]]
    acts = crm["activities"]
    tasks = crm["tasks"]
    # every activity and task that names the lead, row for row (the frame's index is the row)
    assert [r["row"] for r in answer["sheets"]["Activities"]] == \
        sorted(int(i) for i in acts.index[acts["lead"] == rec["id"]])
    assert [r["row"] for r in answer["sheets"].get("Tasks", [])] == \
        sorted(int(i) for i in tasks.index[tasks["record"] == rec["id"]])
    leads_rows = answer["sheets"]["Leads"]
    assert leads_rows[0]["values"]["E-mail"] == rec["email"]
    # the same person by phone and by id
    by_phone = xlcrm.person(book, phone=rec["phone"])
    by_id = xlcrm.person(book, record_id=rec["id"].lower())
    assert by_phone.found.records == by_id.found.records == [rec["id"]]
    assert len(by_phone.found.findings) == len(answer_rows := by_id.found.findings)
    assert len(answer_rows) == answer["rows"]
    workbook = xlcrm.person(book, record_id=rec["id"], out=tmp_path / "answer.xlsx")
    assert workbook.out is not None
    assert "Activities" in _grids(workbook.out)


def test_forget_leaves_no_trace_and_the_tally_unchanged(demo_book: Callable[..., Path],
                                                       tmp_path: Path) -> None:
    crm_path = copy_of(demo_book("dealer", 120, 2), tmp_path, "crm.xlsx")
    xlcrm.score(crm_path, today=TODAY)  # a save: its backup holds everyone
    xlcrm.update(crm_path, today=TODAY)
    backups_before = sorted((tmp_path / ".xlcrm-backups").iterdir())
    assert len(backups_before) == 2
    crm = xlcrm.load(crm_path)
    rec = _someone(crm)
    email, phone, last = rec["email"], rec["phone"], rec["last_name"]
    full = f"{rec['first_name']} {last}"
    tally_before = _grids(crm_path)["Tally"]
    assert any(email in str(c) for r in _grids(crm_path)["Leads"] for c in r)

    dry = runner.invoke(app, ["forget", str(crm_path), "--email", email, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"Leads!E{rec.name}: \"{email}\" -> (empty)" in dry.output
    assert len(list((tmp_path / ".xlcrm-backups").iterdir())) == 2  # a dry run writes nothing

    done = runner.invoke(app, ["forget", str(crm_path), "--email", email])
    assert done.exit_code == 0, done.output
    assert "Removed backup" in done.output

    grids = _grids(crm_path)
    for sheet, rows in grids.items():
        for row in rows:
            for cell in row:
                text = str(cell)
                assert email.casefold() not in text.casefold(), sheet
                assert full.casefold() not in text.casefold(), sheet
                assert last.casefold() not in text.casefold(), (sheet, text)
                if len(_digits(text)) >= 9 and isinstance(cell, str):
                    assert _digits(phone)[-9:] not in _digits(text), (sheet, text)
    with zipfile.ZipFile(crm_path) as zf:
        for info in zf.infolist():
            data = zf.read(info).decode("utf-8", "replace").casefold()
            assert email.casefold() not in data, info.filename
            assert last.casefold() not in data, info.filename
            assert phone.casefold() not in data, info.filename
    for backup in (tmp_path / ".xlcrm-backups").iterdir():
        with zipfile.ZipFile(backup) as zf:
            assert not any(email.encode() in zf.read(i) for i in zf.infolist()), backup
    # the record stays, with its id, dates, source and stage; the tally counts the same
    leads = xlcrm.load(crm_path)["leads"]
    kept = leads.loc[rec.name]
    assert kept["id"] == rec["id"] and kept["source"] == rec["source"]
    assert kept["stage"] == rec["stage"] and kept["created"] == rec["created"]
    assert kept["last_name"] == "[erased]" and pd.isna(kept["email"])
    assert grids["Tally"] == tally_before
    xlcrm.update(crm_path, today=TODAY)  # computed again from the erased workbook
    assert _grids(crm_path)["Tally"] == tally_before
    log = grids["Erasure log"]
    line = next(r for r in log if r and r[1] == rec["id"])
    assert line[2] == "anonymised" and "Leads" in line[3]
    assert not any(email in str(c) or last in str(c) for r in log for c in r)
    assert xlcrm.check(crm_path).errors == 0 or all(
        rec["id"] not in str(i) for i in xlcrm.check(crm_path).issues)


def test_forget_refuses_nobody_with_2_and_changes_nothing(demo_book: Callable[..., Path],
                                                         tmp_path: Path) -> None:
    crm_path = copy_of(demo_book("dealer", 120, 2), tmp_path, "crm.xlsx")
    before = crm_path.read_bytes()
    result = runner.invoke(app, ["forget", str(crm_path), "--email", "nobody@example.org"])
    assert result.exit_code == 2 and "no record matches" in result.output
    both = runner.invoke(app, ["forget", str(crm_path), "--email", "a@b.it", "--id", "L-1"])
    assert both.exit_code == 2 and "exactly one" in both.output
    assert crm_path.read_bytes() == before


def test_forget_delete_removes_the_rows_and_leaves_no_dangling_link(
        demo_book: Callable[..., Path], tmp_path: Path) -> None:
    crm_path = copy_of(demo_book("dealer", 120, 2), tmp_path, "crm.xlsx")
    before = xlcrm.load(crm_path)
    rec = _someone(before)
    acts = before["activities"]
    linked = int((acts["lead"] == rec["id"]).sum())
    tasks = int((before["tasks"]["record"] == rec["id"]).sum())
    issues_before = {i.code for i in xlcrm.check(crm_path, today=TODAY).issues}
    result = xlcrm.forget(crm_path, phone=rec["phone"], delete=True, today=TODAY)
    assert result.deleted["Leads"] == [int(rec.name)]
    assert len(result.deleted["Activities"]) == linked
    after = xlcrm.load(crm_path)
    assert len(after["leads"]) == len(before["leads"]) - 1
    assert len(after["activities"]) == len(acts) - linked
    assert len(after["tasks"]) == len(before["tasks"]) - tasks
    assert rec["id"] not in set(after["leads"]["id"])
    assert not (after["activities"]["lead"] == rec["id"]).any()
    # the rows below moved up: the lead after the removed one sits on its row now
    next_id = before["leads"]["id"].iloc[list(before["leads"].index).index(rec.name) + 1]
    assert after["leads"].loc[rec.name, "id"] == next_id
    codes = {i.code for i in xlcrm.check(crm_path, today=TODAY).issues}
    assert "dangling-link" not in codes - issues_before
    for rows in _grids(crm_path).values():
        assert not any(rec["email"] in str(c) for r in rows for c in r)


def test_forget_a_b2b_contact_reaches_deals_tickets_and_documents(
        demo_book: Callable[..., Path], tmp_path: Path) -> None:
    crm_path = copy_of(demo_book("b2b", 120, 2), tmp_path, "crm.xlsx")
    crm = xlcrm.load(crm_path)
    deals, contacts = crm["deals"], crm["contacts"]
    with_deal = contacts[contacts["id"].isin(set(deals["contact"].dropna()))
                         & contacts["email"].notna()]
    rec = with_deal.iloc[0]
    found = xlcrm.person(crm_path, email=rec["email"]).found
    theirs = set(deals.loc[deals["contact"] == rec["id"], "id"])
    assert theirs <= set(found.ids)  # their deals, and through them the deals' documents
    documents = crm["documents"]
    assert set(documents.loc[documents["deal"].isin(theirs), "id"]) <= set(found.ids)
    tally = _grids(crm_path)["Tally"]
    xlcrm.forget(crm_path, email=rec["email"], today=TODAY)
    xlcrm.update(crm_path, today=TODAY)
    grids = _grids(crm_path)
    assert grids["Tally"] == tally
    assert not any(rec["email"] in str(c) for rows in grids.values() for r in rows for c in r)
    assert rec["id"] in set(xlcrm.load(crm_path)["contacts"]["id"])
