"""Rule-based lead scoring: points from a Settings table, MQL and SQL thresholds.

Each rule of Settings > Scoring rules is a row *field, condition, value, points*: a lead gets
the points of every rule that holds for it (points may be negative), and its score is their
sum. A lead whose score reaches the MQL threshold is marketing-qualified, one that reaches the
SQL threshold sales-qualified. The explanation lists the rules that fired, so a rep sees why.

Conditions: ``equals``, ``not_equals``, ``contains``, ``starts_with``, ``one_of`` (a
comma-separated list), ``at_least``, ``at_most``, ``is_empty``, ``is_filled``. Text is compared
without case, accents, spacing or punctuation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..schema import available_locales, load_locale, normalize_header

__all__ = ["CONDITIONS", "Rule", "condition_names", "grade", "rule_holds", "score_leads"]

CONDITIONS = ("equals", "not_equals", "contains", "starts_with", "one_of", "at_least",
              "at_most", "is_empty", "is_filled")
_SYMBOLS = {"equals": "=", "not_equals": "≠", "contains": "contains",
            "starts_with": "starts with", "one_of": "is one of", "at_least": "≥",
            "at_most": "≤", "is_empty": "is empty", "is_filled": "is filled"}
_YES = frozenset({"yes", "y", "si", "true", "1", "x"})
_NO = frozenset({"no", "n", "false", "0"})


def condition_names() -> dict[str, str]:
    """Normalized condition text in any shipped language -> the condition (``equals`` ...).

    Settings > Scoring rules and Territory rules name their conditions in the workbook's
    language; both read them through this map.
    """
    names = {normalize_header(c): c for c in CONDITIONS}
    for code in available_locales():
        conditions = load_locale(code).sections.get("values", {}).get("conditions", {})
        for key, label in conditions.items():
            names.setdefault(normalize_header(str(label)), key)
    return names


@dataclass(frozen=True)
class Rule:
    """One scoring rule: ``field`` (a column of the prepared table), its ``condition`` on
    ``value``, the ``points`` it gives, and the ``label`` a person reads for the field."""

    field: str
    condition: str
    value: Any
    points: float
    label: str = ""

    def describe(self, words: Mapping[str, str] | None = None) -> str:
        """``Source = Trade show +20``; ``words`` names the conditions written in words
        (contains, is empty ...) in the workbook's language (English without)."""
        sign = f"{self.points:+g}"
        said = _SYMBOLS[self.condition]
        if words and said[0] not in "=≠≥≤":
            said = str(words.get(self.condition, said))
        if self.condition in ("is_empty", "is_filled"):
            return f"{self.label or self.field} {said} {sign}"
        return f"{self.label or self.field} {said} {self.value} {sign}"


def _blank(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and not v.strip()


def _number(v: Any) -> float | None:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v)):
        return float(v)
    try:
        return float(str(v).replace(",", "."))
    except ValueError:
        return None


def rule_holds(rule: Rule, v: Any) -> bool:
    """Tell whether ``rule`` holds for one lead's value ``v`` of its field."""
    if rule.condition == "is_empty":
        return _blank(v)
    if rule.condition == "is_filled":
        return not _blank(v)
    if _blank(v):
        return False
    if rule.condition in ("at_least", "at_most"):
        number, limit = _number(v), _number(rule.value)
        if number is None or limit is None:
            return False
        return number >= limit if rule.condition == "at_least" else number <= limit
    wanted = normalize_header(str(rule.value))
    if isinstance(v, bool) or hasattr(v, "dtype") and str(getattr(v, "dtype", "")) == "bool":
        mine = "yes" if bool(v) else "no"
        wanted = "yes" if wanted in _YES else "no" if wanted in _NO else wanted
    elif isinstance(v, (int, float)):
        target = _number(rule.value)
        same = target is not None and float(v) == target
        return same if rule.condition == "equals" else (not same if rule.condition ==
                                                        "not_equals" else False)
    else:
        mine = normalize_header(str(v))
    if rule.condition == "equals":
        return mine == wanted
    if rule.condition == "not_equals":
        return mine != wanted
    if rule.condition == "contains":
        return bool(wanted) and wanted in mine
    if rule.condition == "starts_with":  # a postcode prefix: "20" for Milan
        return bool(wanted) and mine.startswith(wanted)
    if rule.condition == "one_of":
        return mine in {normalize_header(w) for w in str(rule.value).split(",")}
    return False


def grade(score: float, *, mql: float, sql: float) -> str:
    """``SQL``, ``MQL`` or empty, by the Settings thresholds."""
    if score >= sql:
        return "SQL"
    if score >= mql:
        return "MQL"
    return ""


def score_leads(leads: pd.DataFrame, rules: Sequence[Rule], *, mql: float,
                sql: float, words: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Score every lead with ``rules``.

    Args:
        leads: one row per lead, with a column for every rule's field (computed fields such
            as inbound activities in the last 30 days already added).
        rules: the scoring rules, in the order Settings lists them.
        mql: the MQL threshold; sql: the SQL threshold.
        words: the conditions' names in the workbook's language, for ``why``.

    Returns:
        Per lead (same index): ``score``, ``grade`` (SQL, MQL or empty) and ``why`` (the
        rules that fired, in Settings order).
    """
    # summed in a list and judged once per distinct value (a field has few): setting a
    # Series cell per hit, and judging every lead anew, took most of a 100k-lead score
    scores = [0.0] * len(leads)
    why: list[list[str]] = [[] for _ in range(len(leads))]
    for rule in rules:
        values = leads[rule.field] if rule.field in leads else pd.Series(None, index=leads.index,
                                                                       dtype=object)
        said = rule.describe(words)
        holds: dict[tuple[type, Any], bool] = {}
        for i, v in enumerate(values.tolist()):
            try:
                hit = holds[type(v), v]
            except KeyError:
                hit = holds[type(v), v] = rule_holds(rule, v)
            except TypeError:  # a value that can't be a key is judged on its own
                hit = rule_holds(rule, v)
            if hit:
                scores[i] += rule.points
                why[i].append(said)
    return pd.DataFrame({
        "score": pd.Series(scores, index=leads.index, dtype="float64"),
        "grade": [grade(s, mql=mql, sql=sql) for s in scores],
        "why": ["; ".join(w) for w in why],
    }, index=leads.index)
