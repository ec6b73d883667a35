"""Who to call first: the library twin of ``xlcrm score``.

:func:`score` scores every lead (contacts for b2b) with the rules of Settings > Scoring rules
(see :mod:`xlcrm.metrics.scoring`) and ranks customers by recency, frequency and monetary
value (see :mod:`xlcrm.metrics.rfm`). Both go to owned sheets, *Lead scores* and *RFM*; the
people's own columns are never written.

A rule's field is any column of the lead sheet (by its header in any language, or its key), a
column of the lead's account (b2b: company size, industry, territory), or a computed field:
``inbound_activities_30d`` (inbound activities in the last 30 days; any number of days),
``activities_14d`` (any direction), ``days_since_created``, ``rfm_segment`` and ``rfm_score``
(the RFM of the lead, or of its account).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..metrics.funnel import stage_rules
from ..metrics.hygiene import last_touch
from ..metrics.records import outcome_labels
from ..metrics.rfm import SEGMENTS, rfm
from ..metrics.scoring import CONDITIONS, Rule, score_leads
from ..read import Crm, bulk_work, load
from ..schema import available_locales, item_labels, load_locale, normalize_header
from ..sheets.style import Formats, banner, cell_value
from ..xlsx.save import SaveResult
from ..xlsx.writer import SheetBuilder, write_owned_sheets

__all__ = ["ScoreResult", "score", "scoring_rules"]

_COMPUTED = re.compile(r"(inbound_)?activities_(\d+)d")


@dataclass
class ScoreResult:
    """What ``score`` computed (and wrote, unless it was a dry run)."""

    path: Path
    scores: pd.DataFrame
    rfm: pd.DataFrame
    rules: list[Rule]
    thresholds: tuple[float, float]
    unknown_fields: list[str] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)
    saved: SaveResult | None = None

    def counts(self) -> dict[str, int]:
        """How many leads are SQL and MQL, and how many customers in each RFM segment."""
        out = {"SQL": int((self.scores["grade"] == "SQL").sum()) if len(self.scores) else 0,
               "MQL": int((self.scores["grade"] == "MQL").sum()) if len(self.scores) else 0}
        if len(self.rfm):
            for seg, n in self.rfm["segment"].value_counts().items():
                out[str(seg)] = int(n)
        return out


# ----- rules from Settings -----------------------------------------------------------------
def _field_names(crm: Crm) -> dict[str, str]:
    """Normalized field text in any language -> field key (``account.`` for account columns)."""
    names: dict[str, str] = {}
    lead = crm.schema.lead_sheet
    from ..schema import load_schema

    for code in available_locales():
        schema = load_schema(crm.schema.preset, code)
        for col in schema.sheet(lead).columns:
            names.setdefault(normalize_header(col.header), col.key)
            names.setdefault(normalize_header(col.key), col.key)
        if lead != "accounts" and any(s.key == "accounts" for s in schema.data_sheets):
            for col in schema.sheet("accounts").columns:
                names.setdefault(normalize_header(col.header), "account." + col.key)
                names.setdefault(normalize_header(col.key), "account." + col.key)
        fields = load_locale(code).sections.get("values", {}).get("fields", {})
        for key, label in fields.items():
            names.setdefault(normalize_header(str(label)), key)
    return names


def _condition_names() -> dict[str, str]:
    names = {normalize_header(c): c for c in CONDITIONS}
    for code in available_locales():
        conditions = load_locale(code).sections.get("values", {}).get("conditions", {})
        for key, label in conditions.items():
            names.setdefault(normalize_header(str(label)), key)
    return names


def scoring_rules(crm: Crm) -> tuple[list[Rule], list[str]]:
    """Read Settings > Scoring rules into :class:`Rule` records; also return the fields no
    rule can use (a header that doesn't exist), so the person can fix them."""
    frame = crm.settings.lists.get("scoring")
    rules: list[Rule] = []
    unknown: list[str] = []
    if frame is None or frame.empty:
        return rules, unknown
    names = _field_names(crm)
    conditions = _condition_names()
    for fld, cond, value, points in zip(frame["field"], frame["condition"], frame["value"],
                                        frame["points"]):
        if not isinstance(fld, str) or not fld.strip() or pd.isna(points):
            continue
        text = normalize_header(fld)
        key = names.get(text) or (fld.strip() if _COMPUTED.fullmatch(fld.strip()) or fld.strip()
                                  in ("days_since_created", "rfm_segment", "rfm_score")
                                  else None)
        condition = conditions.get(normalize_header(str(cond)))
        if key is None or condition is None:
            unknown.append(f"{fld} {cond}")
            continue
        rules.append(Rule(key, condition, "" if value is None or (isinstance(value, float)
                                                                  and pd.isna(value)) else value,
                          float(points), fld.strip()))
    return rules, unknown


# ----- the table the rules read ----------------------------------------------------------------
def _lead_fields(crm: Crm, rules: list[Rule], customers: pd.DataFrame, today: dt.date
                 ) -> pd.DataFrame:
    lead_key = crm.schema.lead_sheet
    leads = crm.tables[lead_key].copy()
    acts = crm.tables.get("activities", pd.DataFrame())
    link = next((c.key for c in crm.schema.sheet("activities").columns
                 if c.type == "link" and lead_key in c.ref), None) \
        if "activities" in crm.tables else None
    inbound = {normalize_header(v) for v in item_labels("directions", "inbound")}
    accounts = crm.tables.get("accounts")
    for rule in rules:
        f = rule.field
        if f in leads:
            continue
        m = _COMPUTED.fullmatch(f)
        if m and link and not acts.empty:
            since = pd.Timestamp(today) - pd.Timedelta(days=int(m.group(2)))
            recent = acts[(pd.to_datetime(acts["date"]) >= since) &
                          (pd.to_datetime(acts["date"]) <= pd.Timestamp(today) +
                           pd.Timedelta(days=1))]
            if m.group(1):
                answered = [isinstance(v, str) and normalize_header(v) in inbound
                            for v in recent["direction"]]
                recent = recent.loc[pd.Series(answered, index=recent.index, dtype=bool)]
            counts = recent[link].value_counts()
            leads[f] = leads["id"].map(counts).fillna(0).astype(int)
        elif m:
            leads[f] = 0
        elif f == "days_since_created" and "created" in leads:
            leads[f] = (pd.Timestamp(today) - pd.to_datetime(leads["created"])).dt.days
        elif f.startswith("account.") and accounts is not None and "account" in leads:
            column = f.split(".", 1)[1]
            if column in accounts:
                leads[f] = leads["account"].map(dict(zip(accounts["id"], accounts[column])))
        elif f in ("rfm_segment", "rfm_score"):
            who = leads["account"] if "account" in leads else leads["id"]
            source = customers["segment"] if f == "rfm_segment" else customers["rfm"]
            leads[f] = who.map(source.to_dict())
    return leads


def _purchases(crm: Crm) -> tuple[pd.DataFrame, str]:
    """Won records as purchases: (customer, date, amount), and the customer sheet's key."""
    if "deals" in crm.tables and "account" in crm.tables["deals"]:
        deals = crm.tables["deals"]
        rules = stage_rules(crm.settings.lists["stages"], outcome_labels()) \
            if "stages" in crm.settings.lists else []
        won = {normalize_header(r.name) for r in rules if r.outcome == "won"}
        is_won = deals["stage"].map(lambda v: isinstance(v, str) and normalize_header(v) in won)
        chosen = deals[is_won.to_numpy()]
        when = chosen["close_date"].fillna(chosen["created"]) if "close_date" in chosen else \
            chosen["created"]
        return pd.DataFrame({"customer": chosen["account"], "date": when,
                             "amount": chosen["amount"]}), "accounts"
    lead_key = crm.schema.lead_sheet
    leads = crm.tables[lead_key]
    sold = leads[leads["sold"].notna()] if "sold" in leads else leads.iloc[:0]
    return pd.DataFrame({"customer": sold["id"], "date": sold["sold"],
                         "amount": sold.get("amount", 0.0)}), lead_key


def _customer_touch(crm: Crm, key: str) -> pd.Series:
    acts = crm.tables.get("activities", pd.DataFrame())
    if acts.empty:
        return pd.Series(dtype="datetime64[ns]")
    ids = crm.tables[key]["id"]
    if key == "accounts" and "contact" in acts and "contacts" in crm.tables:
        contacts = crm.tables["contacts"]
        link = acts["contact"].map(dict(zip(contacts["id"], contacts["account"])))
    else:
        column = next((c.key for c in crm.schema.sheet("activities").columns
                       if c.type == "link" and key in c.ref), None)
        if column is None:
            return pd.Series(dtype="datetime64[ns]")
        link = acts[column]
    touched = last_touch(ids, [(link, acts["date"])])
    return pd.Series(touched.to_numpy(), index=ids.to_numpy())


# ----- sheets ----------------------------------------------------------------------------------
def _name(rec: Mapping[str, Any]) -> str:
    if "name" in rec and isinstance(rec["name"], str):
        return rec["name"]
    return " ".join(str(rec[c]) for c in ("first_name", "last_name")
                    if c in rec and isinstance(rec[c], str))


def _write_cells(ws: Worksheet, row: int, values: list[Any], f: Formats,
                 formats: dict[int, Any]) -> None:
    for c, v in enumerate(values):
        value = cell_value(v)
        fmt = formats.get(c)
        if isinstance(value, dt.datetime):
            ws.write_datetime(row, c, value, fmt or f.date)
        elif isinstance(value, bool):
            ws.write_string(row, c, "yes" if value else "no")
        elif isinstance(value, (int, float)):
            ws.write_number(row, c, value, fmt)
        elif value != "":
            ws.write_string(row, c, str(value), fmt)


def _won(crm: Crm, leads: pd.DataFrame) -> pd.Series:
    """Leads whose sale milestone is reached (a sold date, or the b2b won date)."""
    sale = next((m for m in crm.settings.milestones if m.key == "sale"), None)
    if sale is None or sale.sheet != crm.schema.lead_sheet or sale.column not in leads:
        return pd.Series(False, index=leads.index)
    return leads[sale.column].notna()


def _scores_builder(crm: Crm, result: ScoreResult, today: dt.date) -> SheetBuilder:
    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> None:
        f = Formats(book, crm.schema)
        mql, sql = result.thresholds
        hot = book.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": "#548235",
                               "align": "center"})
        warm = book.add_format({"bold": True, "bg_color": "#E2EFDA", "align": "center"})
        top = book.add_format({})
        banner(ws, crm.schema, f, "Lead scores",
               f"Scored on {today:%Y-%m-%d} with Settings > Scoring rules: SQL from {sql:g} "
               f"points, MQL from {mql:g}. Open leads first, highest score first, then those "
               "already won; the people's own columns are not touched.")
        ws.write_string(0, 0, "Owned by xlcrm: rewritten by `xlcrm score`; edits made here "
                              "are overwritten.", f.banner)
        counts = result.counts()
        ws.write_string(3, 0, f"SQL: {counts['SQL']:,}   MQL: {counts['MQL']:,}   "
                              f"scored: {len(result.scores):,}", f.title)
        if result.unknown_fields:
            ws.write_string(3, 4, "Rules not understood (fix them in Settings): "
                            + "; ".join(result.unknown_fields), f.note)
        lead_key = crm.schema.lead_sheet
        sheet = crm.schema.sheet(lead_key)
        extra = [c for c in ("account", "source", "owner", "rep", "stage") if sheet.has_column(c)]
        header = ["Lead", "Name", *[sheet.column(c).header for c in extra], "Score", "Grade",
                  "Why"]
        ws.write_row(5, 0, header, f.head)
        leads = crm.tables[lead_key]
        # open leads first (who to call), those already won after them
        won = _won(crm, leads).reindex(result.scores.index).fillna(False)
        order = result.scores.assign(_won=won.astype(bool)).sort_values(
            ["_won", "score"], ascending=[True, False], kind="stable")
        # the leads' cells in that order, column by column (a pandas row per lead would cost
        # more than writing it)
        picked = leads.reindex(order.index)
        names = [_name(rec) for rec in picked[[c for c in ("name", "first_name", "last_name")
                                               if c in picked]].to_dict("records")]
        ids = picked["id"] if "id" in picked else pd.Series(None, index=picked.index)
        others = [picked[c] if c in picked else pd.Series(None, index=picked.index)
                  for c in extra]
        for i, (record, name, *cells, score, g, why) in enumerate(zip(
                ids, names, *others, order["score"], order["grade"], order["why"]), 6):
            values = [record, name, *cells, score]
            _write_cells(ws, i, values, f, {len(values) - 1: top})
            ws.write_string(i, len(values), g, hot if g == "SQL" else warm if g else top)
            ws.write_string(i, len(values) + 1, why)
        n = len(header)
        ws.set_column(0, 0, 12)
        ws.set_column(1, 1, 24)
        ws.set_column(2, n - 4, 16)
        ws.set_column(n - 3, n - 2, 8)
        ws.set_column(n - 1, n - 1, 100)
        ws.freeze_panes(6, 2)
        ws.autofilter(5, 0, 5 + len(order), n - 1)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
    return build


_SEGMENT_TEXT = {
    "champions": "bought recently, often and for much: reward them, ask for referrals",
    "loyal": "buy regularly: offer more of what they take",
    "promising": "bought recently, not much yet: help them buy again",
    "cant_lose": "bought often and for much, but long ago: call them now",
    "at_risk": "good customers going quiet: reach out before they go",
    "need_attention": "average, slipping: a reason to come back",
    "hibernating": "small and quiet for a while",
    "lost": "small, long gone: only cheap campaigns",
}


def _rfm_builder(crm: Crm, result: ScoreResult, key: str, today: dt.date) -> SheetBuilder:
    def build(book: xlsxwriter.Workbook, ws: Worksheet) -> None:
        f = Formats(book, crm.schema)
        banner(ws, crm.schema, f, "RFM: recency, frequency, monetary value",
               f"Customers on {today:%Y-%m-%d}: days since the last purchase, number of "
               "purchases and their value, each scored 1-5 by quintile (5 the best fifth), "
               "and the segment that follows.")
        ws.write_string(0, 0, "Owned by xlcrm: rewritten by `xlcrm score`; edits made here "
                              "are overwritten.", f.banner)
        frame = result.rfm
        center = book.add_format({"align": "center"})
        ws.write_string(4, 0, "By segment", f.title)
        ws.write_row(5, 0, ["Segment", "Customers", "Value", "Share of value", "What to do"],
                     f.head)
        total = float(frame["monetary"].sum()) if len(frame) else 0.0
        row = 6
        for seg in SEGMENTS:
            part = frame[frame["segment"] == seg]
            if part.empty:
                continue
            ws.write_string(row, 0, crm.schema.locale.value("rfm_segments", seg))
            ws.write_number(row, 1, len(part), f.int)
            ws.write_number(row, 2, float(part["monetary"].sum()), f.money)
            ws.write_number(row, 3, float(part["monetary"].sum()) / total if total else 0.0,
                            f.pct)
            ws.write_string(row, 4, _SEGMENT_TEXT[seg])
            row += 1
        row += 1
        ws.write_string(row, 0, "Customers", f.title)
        header = ["Customer", "Name", "Last purchase", "Days since", "Purchases", "Value", "R",
                  "F", "M", "RFM", "Segment"]
        ws.write_row(row + 1, 0, header, f.head)
        table = crm.tables[key]
        named = [c for c in ("name", "first_name", "last_name") if c in table]
        name_of = dict(zip(table["id"], (_name(rec) for rec in table[named].to_dict(
            "records")))) if "id" in table else {}
        segment = {seg: crm.schema.locale.value("rfm_segments", seg)
                   for seg in frame["segment"].unique()} if not frame.empty else {}
        for i, rec in enumerate(frame.itertuples(), row + 2):
            values = [rec.Index, name_of.get(rec.Index, ""), rec.last, rec.recency_days,
                      rec.frequency, rec.monetary, rec.r, rec.f, rec.m, rec.rfm,
                      segment[rec.segment]]
            _write_cells(ws, i, values, f, {5: f.money, 3: f.int, 4: f.int, 6: center,
                                            7: center, 8: center, 9: center})
        if frame.empty:
            ws.write_string(row + 2, 0, "No purchases yet.", f.note)
        ws.set_column(0, 0, 18)
        ws.set_column(1, 1, 30)
        ws.set_column(2, 3, 13)
        ws.set_column(4, 5, 12)
        ws.set_column(6, 9, 6)
        ws.set_column(10, 10, 18)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
    return build


# ----- the command -------------------------------------------------------------------------
def score(path: str | Path, *, today: dt.date | None = None, dry_run: bool = False,
          force: bool = False, backups: int = 5) -> ScoreResult:
    """Score the leads and rank the customers; write the Lead scores and RFM sheets.

    Args:
        path: the CRM workbook.
        today: the day the scores are for (recent activity, recency); default today.
        dry_run: compute and return everything, write nothing.
        force: write even though Excel or LibreOffice has the workbook open.
        backups: how many earlier versions to keep beside the workbook.
    """
    with bulk_work():
        return _score(Path(path), today=today or dt.date.today(), dry_run=dry_run,
                      force=force, backups=backups)


def _score(path: Path, *, today: dt.date, dry_run: bool, force: bool,
           backups: int) -> ScoreResult:
    crm = load(path)
    purchases, customer_key = _purchases(crm)
    basis = normalize_header(str(crm.settings.options.get("rfm_recency") or "purchase"))
    touch = _customer_touch(crm, customer_key) if basis.startswith("activ") else None
    customers = rfm(purchases, today=today, last_touch=touch)
    rules, unknown = scoring_rules(crm)
    leads = _lead_fields(crm, rules, customers, today)
    mql = float(crm.settings.options.get("mql_threshold") or 40)
    sql = float(crm.settings.options.get("sql_threshold") or 70)
    scores = score_leads(leads, rules, mql=mql, sql=sql)
    scores.insert(0, "id", leads["id"])
    result = ScoreResult(path, scores, customers, rules, (mql, sql), unknown)
    builders: dict[str, SheetBuilder] = {}
    names = {k: crm.sheet_names.get(k, crm.schema.locale.label("sheets", k))
             for k in ("lead_scores", "rfm")}
    builders[names["lead_scores"]] = _scores_builder(crm, result, today)
    builders[names["rfm"]] = _rfm_builder(crm, result, customer_key, today)
    result.sheets = list(builders)
    if not dry_run:
        result.saved = write_owned_sheets(path, builders, force=force, backups=backups)
    return result
