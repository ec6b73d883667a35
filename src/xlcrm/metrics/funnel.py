"""The deal funnel: what the pipeline holds, what it is worth, where deals stall and are lost.

Records (deals, or the dealer's leads) move through the stages listed in Settings, each with a
win probability and an outcome (open, won or lost). :func:`funnel` counts the records in each
stage, values them, weights the open ones by their stage's probability, shows how far records
got up the ladder of stages and how many convert from one stage to the next, spreads the open
pipeline over the months it is expected to close, and tallies the deals won and lost in a
period with the reasons and the competitors who won them.

Everything is a pure function of a DataFrame and the stage rules: column names are arguments,
so the same code serves any sheet whose records carry a stage. Messy data never raises: an
unknown stage gets its own row, a missing amount counts as zero, a missing column gives an
empty table, and a ratio with nothing to divide by is NaN.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = ["NO_CLOSE_DATE", "NO_REASON", "NO_STAGE", "FunnelResult", "StageRule", "funnel",
           "stage_rules"]

Outcome = Literal["open", "won", "lost"]
_OUTCOMES: dict[str, Outcome] = {"open": "open", "won": "won", "lost": "lost"}

#: the forecast row of open records that have no close date
NO_CLOSE_DATE = "no close date"
#: the lost-reason row of lost records whose reason is empty
NO_REASON = "(none)"
#: the stage row of records whose stage is empty
NO_STAGE = "(no stage)"
_UNKNOWN = "unknown"

_STAGE_COLUMNS = ["stage", "outcome", "probability", "count", "value", "weighted",
                  "avg_age_days", "oldest_age_days", "without_next_task", "reached",
                  "conversion"]


@dataclass(frozen=True)
class StageRule:
    """A stage as Settings lists it: its name, its win probability and its outcome.

    Attributes:
        name: the stage as written in the workbook (``"Request sent"``).
        probability: the chance, 0-1, that a record in this stage is won.
        outcome: ``"open"`` while the record is being worked, ``"won"`` or ``"lost"`` once
            it is closed.
    """

    name: str
    probability: float
    outcome: Outcome


@dataclass(frozen=True)
class FunnelResult:
    """The funnel's tables, each ready to be written to a sheet or a report.

    Attributes:
        stages: one row per stage in Settings order, then one per stage the records carry that
            Settings does not list. Columns: ``stage``, ``outcome`` (open, won, lost or
            unknown), ``probability``, ``count``, ``value``, ``weighted``, ``avg_age_days``,
            ``oldest_age_days``, ``without_next_task``, ``reached``, ``conversion``.
        forecast: the open pipeline by expected close month. Columns: ``month`` (a monthly
            ``pandas.Period``, or ``"no close date"`` in the last row), ``count``, ``value``,
            ``weighted``.
        won_lost: deals closed in the period. Columns ``outcome`` (``won``, ``lost``),
            ``count``, ``value``; always these two rows.
        lost_reasons: deals lost in the period by reason. Columns ``reason``, ``count``,
            ``value``, ``share``.
        competitors: deals lost in the period to a named competitor. Columns ``competitor``,
            ``count``, ``value``, ``share``.
        totals: ``open_count``, ``open_value``, ``weighted_value``, ``won_count``,
            ``won_value``, ``lost_count``, ``lost_value``, ``win_rate``.
    """

    stages: pd.DataFrame
    forecast: pd.DataFrame
    won_lost: pd.DataFrame
    lost_reasons: pd.DataFrame
    competitors: pd.DataFrame
    totals: dict[str, float]


def stage_rules(settings_stages: pd.DataFrame,
                outcome_labels: Mapping[str, str]) -> list[StageRule]:
    """Turn the Settings stage list into stage rules: name, win probability and outcome.

    Args:
        settings_stages: the Settings "stages" table as :func:`xlcrm.load` reads it, with
            columns ``stage``, ``probability`` (0-1) and ``outcome`` (a label in the
            workbook's language, such as ``"Open"`` or ``"Persa"``).
        outcome_labels: each outcome label (any case) mapped to ``"open"``, ``"won"`` or
            ``"lost"``. The words ``open``, ``won`` and ``lost`` themselves are always
            understood.

    Returns:
        The rules in Settings order. Rows with an empty stage are skipped; an empty or
        non-numeric probability becomes NaN (the stage then adds nothing to the weighted
        pipeline); an outcome that is empty or not in ``outcome_labels`` counts as open,
        since a stage is open until Settings says it closes the deal.

    Raises:
        ValueError: ``outcome_labels`` maps a label to something other than open, won or lost.
    """
    labels: dict[str, Outcome] = dict(_OUTCOMES)
    for label, outcome in outcome_labels.items():
        if outcome not in _OUTCOMES:
            raise ValueError(f'outcome label "{label}" is mapped to "{outcome}"; '
                             "map every label to open, won or lost")
        labels[_fold(label)] = _OUTCOMES[outcome]
    names = settings_stages["stage"].tolist() if "stage" in settings_stages else []
    size = len(names)
    probabilities = (pd.to_numeric(settings_stages["probability"], errors="coerce").tolist()
                     if "probability" in settings_stages else [np.nan] * size)
    outcomes = (settings_stages["outcome"].tolist() if "outcome" in settings_stages
                else [None] * size)
    rules = []
    for name, probability, outcome in zip(names, probabilities, outcomes):
        text = _clean(name)
        if text is None:
            continue
        rules.append(StageRule(text, float(probability), labels.get(_fold(outcome), "open")))
    return rules


def funnel(records: pd.DataFrame, stages: Sequence[StageRule], *, today: dt.date,
           period: tuple[dt.date, dt.date] | None = None,
           open_tasks: Collection[str] = (),
           stage_entered: Mapping[str, dt.date] | pd.Series | None = None,
           lost_from: Mapping[str, str] | pd.Series | None = None,
           stage_col: str = "stage", amount_col: str = "amount", created_col: str = "created",
           close_col: str = "close_date", reason_col: str = "lost_reason",
           competitor_col: str = "competitor", id_col: str = "id") -> FunnelResult:
    """Count, value and weigh the records in each stage, and tally what was won and lost.

    The definitions, as a sales manager reads them:

    - A record is **in a stage** when its stage cell names it, whatever the case or the spaces
      around and between words. A stage that Settings does not list (a typo, a stage renamed
      since) gets its own row with outcome ``"unknown"`` and no probability, after the Settings
      stages in alphabetical order; records with an empty stage are counted in a
      ``"(no stage)"`` row at the end. So every record is counted exactly once.
    - Its **value** is its amount; an empty or non-numeric amount counts as 0 but the record
      still counts. The **weighted** value is value times the stage's win probability; unknown
      stages, and stages without a probability, add nothing to the weighted pipeline.
    - Its **age** is the number of whole days from the day it entered its stage (from
      ``stage_entered``, else the day it was created) to ``today``.
    - An open record is **without a next task** when no open task is linked to it (its id is
      not in ``open_tasks``). Won, lost and unknown stages show 0.
    - A record has **reached** a stage when it is now in that stage or in a later one of the
      open and won stages, in Settings order. A lost record reached the stage it was lost
      from (``lost_from``), and every stage before it; when that is not known, or names no
      open or won stage, it reached only the first one. Records in unknown stages reached
      none. Lost and unknown rows show NaN.
    - **Conversion** of a stage is the share of the records that reached it which also
      reached the next open or won stage; NaN for the last one and when nobody reached it.
    - The **pipeline** is every record in an open stage, whenever it closes. The
      **forecast** spreads it over the months of its close dates, in order, with the records
      that have no close date in a last ``"no close date"`` row; months without records are
      left out, and an open record whose close date has passed stays in its past month.
    - A record was **won or lost in the period** when it is in a won or lost stage and its
      close date falls in the period, both days included. The **win rate** is won / (won +
      lost) in the period.
    - **Lost reasons** group the deals lost in the period by reason (case-insensitively; an
      empty reason is ``"(none)"``), with each reason's share of the deals lost; sorted by
      count, most first, then by reason. **Competitors** list those lost deals that name the
      competitor who won, with each competitor's share of *all* deals lost in the period.

    A missing column never raises: without an amount every value is 0; without a close date
    every open record is in the "no close date" row and nothing is won or lost in a period;
    without a reason or competitor column those tables are empty. Ratios with nothing to
    divide by are NaN, never an error or infinity.

    Args:
        records: one row per record, with the columns named below.
        stages: the stage rules in Settings order (see :func:`stage_rules`). When two rules
            name the same stage, the first one counts.
        today: the day the ages are counted to, and the end of the default period.
        period: the first and last day of the period for won, lost, reasons and
            competitors; by default the seven days ending yesterday.
        open_tasks: ids of the records that have an open (not done) task linked.
        stage_entered: id -> the day the record entered its current stage (from the stage
            history); records not in it are aged from their created date. A mapping, or a
            Series indexed by id (as :func:`xlcrm.metrics.history.entered_dates` gives it).
        lost_from: id -> the stage a lost record was in when it was lost; a mapping or a
            Series indexed by id.
        stage_col: the column holding the stage.
        amount_col: the column holding the value.
        created_col: the column holding the day the record was created.
        close_col: the column holding the (expected) close date.
        reason_col: the column holding the lost reason.
        competitor_col: the column holding the competitor who won a lost deal.
        id_col: the column holding the record's id; ids match case-insensitively.

    Returns:
        A :class:`FunnelResult`.
    """
    start, end = period or (today - dt.timedelta(days=7), today - dt.timedelta(days=1))
    size = len(records)
    index = pd.RangeIndex(size)

    rules: dict[str, StageRule] = {}
    for rule in stages:
        key = _fold(rule.name)
        if key and key not in rules:
            rules[key] = rule
    ladder = [key for key, rule in rules.items() if rule.outcome in ("open", "won")]
    rung = {key: i for i, key in enumerate(ladder)}

    names = _texts(records, stage_col, index)
    keys = _folded(names)
    # stages are few: each distinct key is looked up once, not once per record
    outcome = _each_distinct(keys, lambda k: rules[k].outcome if k in rules else _UNKNOWN)
    probability = _each_distinct(
        keys, lambda k: rules[k].probability if k in rules else np.nan).astype(float)
    value = (pd.to_numeric(pd.Series(records[amount_col].to_numpy(), index=index),
                           errors="coerce").fillna(0.0).astype(float)
             if amount_col in records else pd.Series(0.0, index=index))
    weighted = value * probability
    ids = (_folded(pd.Series(records[id_col].to_numpy(dtype=object), index=index))
           if id_col in records else pd.Series("", index=index, dtype=object))

    entered = _dates(records, created_col, index)
    if stage_entered is not None and len(stage_entered):
        when = pd.to_datetime(_by_record(stage_entered), errors="coerce")
        when = when[(when.index != "") & when.notna()]
        when = when[~when.index.duplicated(keep="last")].dt.normalize()
        entered = pd.to_datetime(ids.map(when), errors="coerce").combine_first(entered)
    age = (pd.Timestamp(today) - entered).dt.days.astype(float)

    tasks = set(_folded(pd.Series(list(open_tasks), dtype=object))) - {""}
    without_task = (outcome == "open") & ~ids.isin(tasks)

    # how far up the ladder each record got: its own rung, or for a lost record the rung of
    # the stage it was lost from (the first rung when that is not known)
    rungs = pd.Series(rung, dtype=float)
    position = keys.map(rungs).to_numpy(dtype=float, copy=True)
    is_lost = (outcome == "lost").to_numpy()
    if is_lost.any():
        lost_rung = np.full(size, np.nan)
        if lost_from is not None and len(lost_from):
            stage_of = _folded(_by_record(lost_from))
            stage_of = stage_of[~stage_of.index.duplicated(keep="last")]
            lost_rung = ids.map(stage_of).map(rungs).to_numpy(dtype=float, copy=True)
        lost_rung[np.isnan(lost_rung)] = 0.0 if ladder else np.nan
        position[is_lost] = lost_rung[is_lost]
    reached = {key: int((position >= i).sum()) for i, key in enumerate(ladder)}

    rows: list[dict[str, Any]] = []
    for key, rule in rules.items():
        nxt = rung.get(key, -1) + 1
        conversion = (_ratio(reached[ladder[nxt]], reached[key])
                      if key in rung and nxt < len(ladder) else np.nan)
        rows.append(_stage_row(rule.name, rule.outcome, rule.probability, keys == key,
                               value, age, without_task,
                               float(reached[key]) if key in rung else np.nan, conversion))
    distinct = set(keys.unique())
    unknown = sorted(k for k in distinct if k not in rules and k) + (
        [""] if "" in distinct else [])
    for key in unknown:
        mask = keys == key
        label = names[mask].iloc[0] if key else NO_STAGE
        rows.append(_stage_row(label, _UNKNOWN, np.nan, mask, value, age, without_task,
                               np.nan, np.nan))
    stage_table = pd.DataFrame(rows, columns=_STAGE_COLUMNS)
    stage_table = stage_table.astype({"stage": object, "outcome": object, "count": "int64",
                                      "without_next_task": "int64"})

    close = _dates(records, close_col, index)
    is_open = outcome == "open"
    forecast = _forecast(close[is_open], value[is_open], weighted[is_open])

    in_period = close.between(pd.Timestamp(start), pd.Timestamp(end))
    won = (outcome == "won") & in_period
    lost = (outcome == "lost") & in_period
    won_lost = pd.DataFrame({"outcome": pd.Series(["won", "lost"], dtype=object),
                             "count": [int(won.sum()), int(lost.sum())],
                             "value": [float(value[won].sum()), float(value[lost].sum())]})
    lost_count = int(lost.sum())
    lost_reasons = _breakdown("reason", _texts(records, reason_col, index)[lost], value[lost],
                              lost_count, NO_REASON, reason_col in records)
    competitor = _texts(records, competitor_col, index)[lost]
    competitor = competitor[competitor.notna()]
    competitors = _breakdown("competitor", competitor, value[competitor.index], lost_count,
                             None, competitor_col in records)

    totals = {
        "open_count": float(is_open.sum()),
        "open_value": float(value[is_open].sum()),
        "weighted_value": float(weighted[is_open].sum()),
        "won_count": float(won.sum()),
        "won_value": float(value[won].sum()),
        "lost_count": float(lost_count),
        "lost_value": float(value[lost].sum()),
        "win_rate": _ratio(int(won.sum()), int(won.sum()) + lost_count),
    }
    return FunnelResult(stage_table, forecast, won_lost, lost_reasons, competitors, totals)


# ----- helpers -------------------------------------------------------------------------------
def _clean(value: object) -> str | None:
    """A cell as text with its spaces tidied, or None when it is empty."""
    if isinstance(value, str):
        return _clean_text(value)
    if value is None or bool(pd.isna(value)):
        return None
    return _clean_text(str(value))


def _clean_text(text: str) -> str | None:
    tidy = " ".join(text.split())
    return tidy or None


def _fold(value: object) -> str:
    """The key two spellings of the same name share: tidied and case-folded; "" when empty."""
    text = _clean(value)
    return _casefold(text) if text else ""


def _casefold(text: str) -> str:
    return text.casefold()


def _texts(records: pd.DataFrame, column: str, index: pd.Index) -> pd.Series:
    """A column as tidied text (None where empty), or all None when the column is missing."""
    if column not in records:
        return pd.Series([None] * len(index), index=index, dtype=object)
    codes, distinct = _factorize(records[column])
    return _expand(codes, [*_clean_each(distinct), None], index)


def _folded(texts: pd.Series) -> pd.Series:
    """Texts (tidied or not) as the keys two spellings of a name share (see :func:`_fold`)."""
    codes, distinct = _factorize(texts)
    tidy = ["" if t is None else t for t in _clean_each(distinct)]
    return _expand(codes, [*_casefold_each(tidy), ""], texts.index)


def _each_distinct(values: pd.Series, convert: Any) -> pd.Series:
    """Apply ``convert`` once per distinct value (stages, reasons: few values, many rows)."""
    codes, distinct = _factorize(values)
    return _expand(codes, [convert(v) for v in distinct] + [convert(None)], values.index)


def _factorize(values: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Each value's code (-1 when missing) and the distinct values, as plain objects."""
    # an object array, not the Series: pandas would hand the distinct values back as an
    # Index of its own string type, slow to walk element by element
    codes, distinct = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    return codes, distinct.tolist()


def _expand(codes: np.ndarray, converted: list[Any], index: pd.Index) -> pd.Series:
    """Each row's converted value from its factorize code (-1, missing, takes the last)."""
    table = np.empty(len(converted), dtype=object)
    table[:] = converted  # element by element: a list of tuples must not become a 2-D array
    return pd.Series(table[codes], index=index, dtype=object)


# a text that _clean would change: whitespace other than one space between words, or empty
# (the texts joined by NUL, so ^ and $ and NUL mark where each one starts and ends)
_UNTIDY = re.compile(r"[^\S ]|  |(?:^|\x00)(?: |\x00|$)| (?:\x00|$)")


def _clean_each(values: list[Any]) -> list[str | None]:
    """:func:`_clean` of each value; one pass in C when they are many tidy texts (ids)."""
    if len(values) > 1000:
        try:
            joined = "\x00".join(values)
        except TypeError:  # not all texts
            joined = None
        if joined is not None and not _UNTIDY.search(joined):
            return values
    return [_clean(v) for v in values]


def _casefold_each(texts: list[str]) -> list[str]:
    """Each text case-folded; 100k ids in one call when no text holds a NUL."""
    joined = "\x00".join(texts)
    if joined.count("\x00") == len(texts) - 1:
        return joined.casefold().split("\x00")
    return [t.casefold() for t in texts]


def _by_record(mapping: Mapping[str, Any] | pd.Series) -> pd.Series:
    """Values keyed by record id, as a Series indexed by the folded id (duplicates kept)."""
    if isinstance(mapping, pd.Series):
        keys = pd.Series(mapping.index.to_numpy(dtype=object), dtype=object)
        values: Any = mapping.to_numpy()
    else:
        keys = pd.Series(list(mapping.keys()), dtype=object)
        values = list(mapping.values())
    return pd.Series(values, index=pd.Index(_folded(keys).to_numpy(), dtype=object))


def _dates(records: pd.DataFrame, column: str, index: pd.Index) -> pd.Series:
    """A column as days (datetime64 at midnight), NaT where it holds no date."""
    if column not in records:
        return pd.Series(pd.NaT, index=index, dtype="datetime64[us]")
    raw = records[column]
    if not pd.api.types.is_datetime64_any_dtype(raw):
        raw = pd.Series([_timestamp(v) for v in raw.tolist()], dtype="datetime64[us]")
    dates = pd.Series(raw.to_numpy(), index=index)
    return dates.dt.normalize()


def _timestamp(value: object) -> pd.Timestamp:
    """A date, a date-time or an ISO date text as a timestamp; NaT for anything else."""
    if isinstance(value, (dt.date, str)):
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError, OverflowError):
            return pd.NaT
        return stamp.tz_localize(None) if stamp.tzinfo else stamp
    return pd.NaT


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator) / float(denominator) if denominator else float("nan")


def _stage_row(name: str, outcome: str, probability: float, mask: pd.Series, value: pd.Series,
               age: pd.Series, without_task: pd.Series, reached: float,
               conversion: float) -> dict[str, Any]:
    total = float(value[mask].sum())
    ages = age[mask]
    return {
        "stage": name,
        "outcome": outcome,
        "probability": float(probability),
        "count": int(mask.sum()),
        "value": total,
        "weighted": total * probability if outcome != _UNKNOWN else np.nan,
        "avg_age_days": float(ages.mean()) if ages.notna().any() else np.nan,
        "oldest_age_days": float(ages.max()) if ages.notna().any() else np.nan,
        "without_next_task": int((mask & without_task).sum()),
        "reached": reached,
        "conversion": conversion,
    }


def _forecast(close: pd.Series, value: pd.Series, weighted: pd.Series) -> pd.DataFrame:
    frame = pd.DataFrame({"value": value, "weighted": weighted.fillna(0.0)})
    dated = close.notna()
    months = frame[dated].groupby(close[dated].dt.to_period("M"), sort=True).agg(
        count=("value", "size"), value=("value", "sum"), weighted=("weighted", "sum"))
    rows: list[tuple[Hashable, int, float, float]] = [
        (month, int(row["count"]), float(row["value"]), float(row["weighted"]))
        for month, row in months.iterrows()]
    if (~dated).any():
        undated = frame[~dated]
        rows.append((NO_CLOSE_DATE, len(undated), float(undated["value"].sum()),
                     float(undated["weighted"].sum())))
    forecast = pd.DataFrame(rows, columns=["month", "count", "value", "weighted"])
    return forecast.astype({"month": object, "count": "int64", "value": float,
                            "weighted": float})


def _breakdown(label: str, groups: pd.Series, value: pd.Series, of: int,
               empty_as: str | None, present: bool) -> pd.DataFrame:
    """Count and value records by a text column, with each group's share of ``of`` records."""
    columns = [label, "count", "value", "share"]
    if not present or groups.empty:
        return pd.DataFrame({label: pd.Series(dtype=object), "count": pd.Series(dtype="int64"),
                             "value": pd.Series(dtype=float), "share": pd.Series(dtype=float)},
                            columns=columns)
    names = groups.fillna(empty_as) if empty_as is not None else groups
    keys = _folded(names)
    first = ~keys.duplicated()  # the first spelling of each name stands for all of them
    spelled = dict(zip(keys[first], names[first]))
    table = pd.DataFrame({"key": keys, "value": value}).groupby("key", sort=False).agg(
        count=("value", "size"), value=("value", "sum")).reset_index()
    table[label] = table["key"].map(spelled)
    table["share"] = [_ratio(c, of) for c in table["count"]]
    table = table.sort_values(["count", "key"], ascending=[False, True], kind="stable")
    return table[columns].reset_index(drop=True).astype(
        {label: object, "count": "int64", "value": float, "share": float})
