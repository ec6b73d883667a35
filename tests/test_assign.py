"""``xlcrm assign``: owners by territory rules and round robin on a hand-made workbook; each
expected owner below follows from the rules in Settings and the loads written here."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import xlcrm
from xlcrm.cli import app
from xlcrm.commands.assign import assign
from xlcrm.sheets.workbook import write_new_workbook

T = dt.datetime


@pytest.fixture()
def book(tmp_path: Path) -> Path:
    schema = xlcrm.load_schema("b2b")
    accounts = {
        "id": ["ACC-1", "ACC-2", "ACC-3", "ACC-4", "ACC-5"],
        "name": ["Alfa", "Beta", "Gamma", "Delta", "Epsilon"],
        "city": ["Milano", "Napoli", "Lyon", "Roma", "Torino"],
        "country": ["Italia", "Italia", "France", "Italia", "Italia"],
        "territory": [None, None, None, None, "North"],
        "owner": [None, None, None, None, "Anna"],
    }
    contacts = {
        "id": ["CON-1", "CON-2", "CON-3", "CON-4"],
        "created": [T(2026, 11, 2)] * 4,
        "last_name": ["Rossi", "Bianchi", "Verdi", "Neri"],
        "account": ["ACC-5", "ACC-1", None, "ACC-3"],
        "source": ["Referral"] * 4,
        "owner": [None, None, None, "Dario"],
    }
    path = tmp_path / "crm.xlsx"
    write_new_workbook(path, schema, {"accounts": accounts, "contacts": contacts},
                       settings_rows={"reps": [("Anna", "", "North", True),
                                               ("Bruno", "", "North", True),
                                               ("Carla", "", "South", False),
                                               ("Dario", "", "Export", True)]})
    return path


def test_owners_follow_territory_rules_and_round_robin(book: Path) -> None:
    result = assign(book)
    got = {r.record: (r.owner, r.territory) for r in result.proposals.itertuples()}
    assert got == {
        "ACC-1": ("Bruno", "North"),  # Milano is North; Anna already owns ACC-5
        "ACC-2": ("Dario", "South"),  # Carla, South's only rep, is inactive: the team's least
        "ACC-3": ("Dario", "Export"),  # not in Italy
        "ACC-4": ("Anna", "Centre"),  # nobody in Centre: Anna, Bruno and Dario tie at one
        "CON-1": ("Anna", "North"),  # its account's owner
        "CON-2": ("Bruno", "North"),  # its account's owner, just proposed
        "CON-3": ("Anna", "Centre"),  # no account: the catch-all rule, least loaded rep
    }
    assert dict(zip(result.proposals["record"], result.proposals["cell"]))["CON-3"] == \
        "Contacts!K4"
    assert xlcrm.load(book).tables["accounts"]["owner"].isna().sum() == 4  # nothing written


def test_apply_writes_only_owner_and_empty_territory_cells(book: Path) -> None:
    before = xlcrm.load(book)
    result = assign(book, apply=True)
    assert result.applied and result.saved is not None and result.saved.backup is not None
    after = xlcrm.load(book)
    accounts = after.tables["accounts"].set_index("id")
    assert accounts.loc["ACC-1", "owner"] == "Bruno"
    assert accounts.loc["ACC-1", "territory"] == "North"
    assert accounts.loc["ACC-5", "territory"] == "North"
    for key in ("accounts", "contacts"):
        changed = [c for c in before.tables[key].columns
                   if not before.tables[key][c].equals(after.tables[key][c])]
        assert set(changed) <= {"owner", "territory"}, (key, changed)
    assert assign(book).proposals.empty  # everyone has an owner now
    assert not [i for i in xlcrm.check(book).issues if i.severity == "error"]


def test_assign_command_prints_json(book: Path) -> None:
    import json

    out = CliRunner().invoke(app, ["assign", str(book), "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert len(data["proposals"]) == 7 and not data["applied"]
    assert pd.isna(xlcrm.load(book).tables["contacts"].set_index("id").loc["CON-3", "owner"])
