"""Realistic, reproducible demo data: the records behind ``xlcrm demo``.

The generator simulates a sales desk week by week (:mod:`.generator`), for a car dealer
(:mod:`.dealer`) or a B2B team (:mod:`.b2b`), and mixes in a few dirty records (duplicates with
typos, missing e-mail, bad phone numbers) for the clean-up tools (:mod:`.dirt`).

The same seed, preset, size and date always give the same workbook.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ..schema import Schema, load_schema
from . import b2b, dealer
from .generator import Generator

__all__ = ["DemoData", "generate_demo"]


@dataclass
class DemoData:
    """A generated data set, ready for :func:`xlcrm.sheets.workbook.write_new_workbook`."""

    schema: Schema
    today: dt.date
    data: dict[str, dict[str, list[Any]]]
    settings_rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    #: the duplicates the generator entered on purpose, per sheet: (original id, copy id)
    duplicates: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def rows(self, sheet: str) -> int:
        """Return the number of records generated for a data sheet."""
        cols = self.data.get(sheet, {})
        return len(next(iter(cols.values()))) if cols else 0


def generate_demo(preset: str = "dealer", *, leads: int = 1000, seed: int = 7,
                  locale: str = "en", today: dt.date | None = None) -> DemoData:
    """Generate a realistic data set of ``leads`` leads (contacts for ``b2b``).

    Args:
        preset: ``dealer`` or ``b2b``.
        leads: how many leads (or contacts) arrive over the 26 weeks before ``today``.
        seed: the same seed gives the same data.
        locale: language of the labels.
        today: the day the demo is "run"; tasks fall due around it. Defaults to today.

    Returns:
        The records of every data sheet, the Settings rows and options to write with them.
    """
    if leads < 1:
        raise ValueError("leads must be at least 1")
    schema = load_schema(preset, locale)
    gen = Generator(schema, leads, seed, today or dt.date.today())
    data = b2b.simulate(gen) if schema.lead_sheet == "contacts" else dealer.simulate(gen)
    reps = [(name, email, territory, True) for name, email, territory in gen.reps]
    baseline_to = gen.start + dt.timedelta(weeks=4, days=-1)
    return DemoData(
        schema=schema, today=gen.today, data=data,
        settings_rows={"reps": reps},
        options={"baseline_from": gen.start, "baseline_to": baseline_to},
        duplicates={sheet: [(a["id"], b["id"]) for a, b in pairs]
                    for sheet, pairs in gen.twins.items()},
    )
