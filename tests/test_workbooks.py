"""The starter workbooks in workbooks/ are exactly what ``init`` writes today."""

from __future__ import annotations

from pathlib import Path

import pytest

from xlcrm.commands.starters import STARTER_LOCALES, starter_name, write_starters

from ._helpers import PRESETS, xlsx_parts

WORKBOOKS = Path(__file__).parents[1] / "workbooks"
REGENERATE = "regenerate them with: python -m xlcrm.commands.starters workbooks/"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("starters")
    write_starters(out)
    return out


@pytest.mark.parametrize("locale", STARTER_LOCALES)
@pytest.mark.parametrize("preset", PRESETS)
def test_starter_workbook_matches_schema(fresh: Path, preset: str, locale: str) -> None:
    name = starter_name(preset, locale)
    committed = WORKBOOKS / name
    assert committed.is_file(), f"{name} is missing; {REGENERATE}"
    theirs, ours = xlsx_parts(committed), xlsx_parts(fresh / name)
    assert sorted(theirs) == sorted(ours), REGENERATE
    changed = [part for part in ours if ours[part] != theirs[part]]
    assert not changed, f"{name} differs in {changed}; {REGENERATE}"


def test_no_stray_starter_workbooks() -> None:
    expected = {starter_name(p, loc) for p in PRESETS for loc in STARTER_LOCALES}
    assert {p.name for p in WORKBOOKS.glob("*.xlsx")} == expected
