"""Territories and owners: who follows up a record nobody owns.

A record's territory is its own (the Territory column) when it has one, else the territory of
the first Settings > Territory rules row that holds for it (field, condition, value, as for
scoring rules; a row with a blank field holds for every record). Its owner is then one of the
territory's active reps, round robin: the one with the fewest records so far (ties in Settings
order), so new work spreads evenly; a territory without reps falls back to every active rep.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..schema import normalize_header
from .scoring import Rule, rule_holds

__all__ = ["Rep", "TerritoryRule", "assign_owners", "territory_for"]


@dataclass(frozen=True)
class TerritoryRule:
    """Records for which ``rule`` holds belong to ``territory`` (``rule`` None: every record)."""

    territory: str
    rule: Rule | None


@dataclass(frozen=True)
class Rep:
    """A rep of Settings > Reps: name, territory, and whether they take new records."""

    name: str
    territory: str | None
    active: bool = True


def territory_for(records: pd.DataFrame, rules: Sequence[TerritoryRule]) -> pd.Series:
    """Return, per record, the territory of the first rule that holds (None when none does)."""
    out = pd.Series([None] * len(records), index=records.index, dtype=object)
    for tr in rules:
        todo = out.isna()
        if not todo.any():
            break
        if tr.rule is None:
            out[todo] = tr.territory
            continue
        if tr.rule.field not in records:
            continue
        values = records.loc[todo, tr.rule.field]
        hits = [row for row, v in values.items() if rule_holds(tr.rule, v)]
        out[hits] = tr.territory
    return out


#: each reason in English, by its key in the locale files' ``[owned]`` section
REASONS = {"assign_round_robin": "round robin in {territory}",
           "assign_no_rep_in": "no active rep in {territory}: round robin over the team",
           "assign_team": "round robin over the team",
           "assign_no_rep": "no active rep in Settings"}


def assign_owners(territories: pd.Series, reps: Sequence[Rep],
                  load: Mapping[str, int] | None = None,
                  words: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Give each record (in order) an active rep of its territory, the least loaded first.

    Args:
        territories: per record, its territory (None: any active rep).
        reps: Settings > Reps.
        load: how many records each rep owns already.
        words: the reasons in the workbook's language (``assign_*`` of the locale file's
            ``[owned]``); English when None.

    Returns:
        Per record (same index): ``owner`` (None when there is no active rep at all) and
        ``reason``.
    """
    def say(key: str, **values: Any) -> str:
        return ((words or {}).get(key) or REASONS[key]).format(**values)

    counts = {r.name: 0 for r in reps}
    counts.update({k: v for k, v in (load or {}).items() if k in counts})
    active = [r for r in reps if r.active]
    owners: list[str | None] = []
    reasons: list[str] = []
    for territory in territories:
        key = normalize_header(str(territory)) if isinstance(territory, str) else None
        pool = [r for r in active if key and r.territory and normalize_header(r.territory) == key]
        why = say("assign_round_robin", territory=territory)
        if not pool:
            pool = active
            why = say("assign_no_rep_in", territory=territory) if key else say("assign_team")
        if not pool:
            owners.append(None)
            reasons.append(say("assign_no_rep"))
            continue
        pick = min(pool, key=lambda r: counts[r.name])  # min keeps Settings order on ties
        counts[pick.name] += 1
        owners.append(pick.name)
        reasons.append(why)
    return pd.DataFrame({"owner": owners, "reason": reasons}, index=territories.index)
