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
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal, TypedDict

import numpy as np
import pandas as pd

__all__ = ["NO_CLOSE_DATE", "NO_REASON", "NO_STAGE", "CompetitorRow", "ForecastRow",
           "FunnelResult", "FunnelTotals", "LostReasonRow", "StageRow", "StageRule",
           "WonLostRow", "columns", "funnel", "stage_rules"]

Outcome = Literal["open", "won", "lost"]
_OUTCOMES: dict[str, Outcome] = {"open": "open", "won": "won", "lost": "lost"}

#: the forecast row of open records that have no close date
NO_CLOSE_DATE = "no close date"
#: the lost-reason row of lost records whose reason is empty
NO_REASON = "(none)"
#: the stage row of records whose stage is empty
NO_STAGE = "(no stage)"
_UNKNOWN = "unknown"


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
class StageRow:
    """A row of :attr:`FunnelResult.stages`: one stage, in Settings order, then each stage the
    records carry that Settings does not list, then the records with no stage."""

    #: the stage's name; a record is in it when its stage cell names it, whatever the case or
    #: the spaces. A stage Settings does not list (a typo, a renamed stage) gets a row of its
    #: own, after Settings' in alphabetical order; empty stages are the last row, "(no stage)".
    #: So every record is counted once.
    stage: str
    #: ``open``, ``won``, ``lost``, or ``unknown`` for a stage Settings does not list
    outcome: str
    #: the stage's win probability, 0-1 (NaN when Settings gives none, and for unknown stages)
    probability: float
    #: the records in the stage
    count: int
    #: their amounts added up; an empty or non-numeric amount counts as 0
    value: float
    #: value times the stage's probability: what the stage adds to the weighted pipeline
    #: (nothing without a probability; NaN for unknown stages)
    weighted: float
    #: the mean age: whole days from the day a record entered its stage (from the stage
    #: history, else the day it was created) to today
    avg_age_days: float
    #: the oldest record's age
    oldest_age_days: float
    #: open records with no open task linked to them (0 for won, lost and unknown stages)
    without_next_task: int
    #: records that ever reached this stage, lost ones included: those now in it or in a
    #: later open or won one (Settings order), and those the stage history or a milestone
    #: date shows got this far or further; a lost record reached at least the stage it was
    #: lost from (the first when nothing tells). NaN for lost and unknown stages
    reached: float
    #: the share of the records that reached this stage which also reached the next open or
    #: won one; NaN for the last, and when nobody reached it
    conversion: float


@dataclass(frozen=True)
class ForecastRow:
    """A row of :attr:`FunnelResult.forecast`: the open pipeline closing in one month."""

    #: a monthly ``pandas.Period``, in order (months without records are left out; an open
    #: record whose close date has passed stays in its past month), or ``"no close date"`` in
    #: the last row
    month: object
    count: int
    value: float
    weighted: float


@dataclass(frozen=True)
class WonLostRow:
    """A row of :attr:`FunnelResult.won_lost`: the deals won (first row) or lost (second) in the
    period: in a won or lost stage with a close date in it, both days included."""

    outcome: str
    count: int
    value: float


@dataclass(frozen=True)
class LostReasonRow:
    """A row of :attr:`FunnelResult.lost_reasons`: the deals lost in the period for one reason
    (matched case-insensitively; an empty reason is ``"(none)"``), most first, then by name."""

    reason: str
    count: int
    value: float
    #: its share of the deals lost in the period
    share: float


@dataclass(frozen=True)
class CompetitorRow:
    """A row of :attr:`FunnelResult.competitors`: the deals lost in the period that name the
    competitor who won them, most first, then by name."""

    competitor: str
    count: int
    value: float
    #: its share of *all* the deals lost in the period
    share: float


class FunnelTotals(TypedDict):
    """The pipeline in figures (:attr:`FunnelResult.totals`); counts are floats too."""

    #: the records in an open stage, whenever they close
    open_count: float
    open_value: float
    #: the open records' weighted value
    weighted_value: float
    #: won and lost in the period (see :class:`WonLostRow`)
    won_count: float
    won_value: float
    lost_count: float
    lost_value: float
    #: won / (won + lost) in the period; NaN when nothing closed
    win_rate: float


def columns(row: type) -> list[str]:
    """The column names of a table whose rows the dataclass ``row`` describes."""
    return [f.name for f in fields(row)]


@dataclass(frozen=True)
class FunnelResult:
    """The funnel's tables, each ready to be written to a sheet or a report; each table's
    columns are the fields of its row class."""

    stages: pd.DataFrame  #: rows of :class:`StageRow`
    forecast: pd.DataFrame  #: rows of :class:`ForecastRow`
    won_lost: pd.DataFrame  #: rows of :class:`WonLostRow`, always two: won, lost
    lost_reasons: pd.DataFrame  #: rows of :class:`LostReasonRow`
    competitors: pd.DataFrame  #: rows of :class:`CompetitorRow`
    totals: FunnelTotals


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
           ever_in: pd.Series | None = None,
           stage_col: str = "stage", amount_col: str = "amount", created_col: str = "created",
           close_col: str = "close_date", reason_col: str = "lost_reason",
           competitor_col: str = "competitor", id_col: str = "id") -> FunnelResult:
    """Count, value and weigh the records in each stage, and tally what was won and lost.

    What each figure means, as a sales manager reads it, is written on the fields of the row
    classes of :class:`FunnelResult`. Messy data never raises: a missing column gives zeros,
    "no close date" or an empty table, and a ratio with nothing to divide by is NaN.

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
        ever_in: stages each record is known to have been in, a Series of stage names
            indexed by id (several rows per id allowed): the stage history's sightings and
            the stages its milestone dates imply. A record reached the furthest of them.
        stage_col, amount_col, created_col, close_col, reason_col, competitor_col, id_col:
            the columns holding the stage, the value, the day the record was created, its
            (expected) close date, the lost reason, the competitor who won a lost deal, and
            the record's id (ids match case-insensitively).

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
    if ever_in is not None and len(ever_in):
        # each distinct stage looked up once; a sighting of a stage off the ladder (a lost
        # stage, another language's name) counts for nothing: left out before the records'
        # ids are folded (most of the sightings, with every language's names of a milestone)
        rung_of = _each_distinct(pd.Series(ever_in.to_numpy(dtype=object)),
                                 lambda s: rung.get(_fold(s), np.nan)).to_numpy(dtype=float)
        on = ~np.isnan(rung_of)
        seen = _by_record(pd.Series(rung_of[on], index=ever_in.index[on]))
        furthest = seen.groupby(level=0, sort=False).max()
        prior = ids.map(furthest).to_numpy(dtype=float, copy=True)
        # fmax: a record the history never saw keeps its own rung
        position = np.fmax(position, prior)
    reached = {key: int((position >= i).sum()) for i, key in enumerate(ladder)}

    rows: list[StageRow] = []
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
    stage_table = pd.DataFrame([asdict(r) for r in rows], columns=columns(StageRow))
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

    totals: FunnelTotals = {
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
               conversion: float) -> StageRow:
    total = float(value[mask].sum())
    ages = age[mask]
    return StageRow(
        stage=name,
        outcome=outcome,
        probability=float(probability),
        count=int(mask.sum()),
        value=total,
        weighted=total * probability if outcome != _UNKNOWN else np.nan,
        avg_age_days=float(ages.mean()) if ages.notna().any() else np.nan,
        oldest_age_days=float(ages.max()) if ages.notna().any() else np.nan,
        without_next_task=int((mask & without_task).sum()),
        reached=reached,
        conversion=conversion,
    )


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
    forecast = pd.DataFrame(rows, columns=columns(ForecastRow))
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
