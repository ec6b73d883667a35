"""The table the scoring rules read, and the rules themselves, from a loaded workbook.

A rule's field is any column of the lead sheet (by its header in any language, or its key), a
column of the lead's account (b2b: company size, industry, territory), or a computed field:
``inbound_activities_30d`` (inbound activities in the last 30 days; any number of days),
``activities_14d`` (any direction), ``days_since_created``, ``rfm_segment`` and ``rfm_score``
(the RFM of the lead, or of its account). Also here: the purchases RFM ranks (won deals, or
the dealer's sold leads) and the order a rep calls the scored leads in. Pure: a loaded workbook
in, tables out; :mod:`xlcrm.metrics.scoring` scores them.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from ..crm import Crm
from ..schema import available_locales, item_labels, load_locale, load_schema, normalize_header
from .funnel import stage_rules
from .hygiene import last_touch
from .records import outcome_labels
from .scoring import Rule, condition_names

__all__ = ["CLOSED_STATUSES", "COMPUTED_FIELDS", "call_order", "closed_leads",
           "customer_touch", "field_names", "lead_fields", "purchases", "scoring_rules"]

#: computed fields counting a lead's activities in the last N days (inbound only, or all)
COMPUTED_FIELDS = re.compile(r"(inbound_)?activities_(\d+)d")


def field_names(crm: Crm) -> dict[str, str]:
    """Normalized field text in any language -> field key (``account.`` for account columns)."""
    names: dict[str, str] = {}
    lead = crm.schema.lead_sheet
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


def scoring_rules(crm: Crm) -> tuple[list[Rule], list[str]]:
    """Read Settings > Scoring rules into :class:`Rule` records; also return the fields no
    rule can use (a header that doesn't exist), so the person can fix them."""
    frame = crm.settings.lists.get("scoring")
    rules: list[Rule] = []
    unknown: list[str] = []
    if frame is None or frame.empty:
        return rules, unknown
    names = field_names(crm)
    conditions = condition_names()
    for fld, cond, value, points in zip(frame["field"], frame["condition"], frame["value"],
                                        frame["points"]):
        if not isinstance(fld, str) or not fld.strip() or pd.isna(points):
            continue
        text, typed = normalize_header(fld), fld.strip()
        key = names.get(text) or (typed if COMPUTED_FIELDS.fullmatch(typed) or typed
                                  in ("days_since_created", "rfm_segment", "rfm_score")
                                  else None)
        condition = conditions.get(normalize_header(str(cond)))
        if key is None or condition is None:
            unknown.append(f"{fld} {cond}")
            continue
        rules.append(Rule(key, condition, "" if value is None or (isinstance(value, float)
                                                                  and pd.isna(value)) else value,
                          float(points), typed))
    return rules, unknown


def lead_fields(crm: Crm, rules: list[Rule], customers: pd.DataFrame, today: dt.date
                ) -> pd.DataFrame:
    """The lead sheet's table with a column added for each rule field it lacks: the account's
    column, or the computed field (see the module docstring); ``customers`` is the RFM table."""
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
        m = COMPUTED_FIELDS.fullmatch(f)
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


def purchases(crm: Crm) -> tuple[pd.DataFrame, str]:
    """Won records as purchases: (customer, date, amount), and the customer sheet's key."""
    if "deals" in crm.tables and "account" in crm.tables["deals"]:
        deals = crm.tables["deals"]
        rules = stage_rules(crm.settings.lists["stages"], outcome_labels()) \
            if "stages" in crm.settings.lists else []
        won = {normalize_header(r.name) for r in rules if r.outcome == "won"}
        is_won = deals["stage"].map(lambda v: isinstance(v, str) and normalize_header(v) in won)
        chosen = deals[is_won.to_numpy(dtype=bool)]  # (an empty object array picks columns)
        when = chosen["close_date"].fillna(chosen["created"]) if "close_date" in chosen else \
            chosen["created"]
        return pd.DataFrame({"customer": chosen["account"], "date": when,
                             "amount": chosen["amount"]}), "accounts"
    lead_key = crm.schema.lead_sheet
    leads = crm.tables[lead_key]
    sold = leads[leads["sold"].notna()] if "sold" in leads else leads.iloc[:0]
    return pd.DataFrame({"customer": sold["id"], "date": sold["sold"],
                         "amount": sold.get("amount", 0.0)}), lead_key


def customer_touch(crm: Crm, key: str) -> pd.Series:
    """Each customer's (record of sheet ``key``) last activity, indexed by its id: the day RFM
    measures recency from when Settings says so."""
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


def _sale_reached(crm: Crm, leads: pd.DataFrame) -> pd.Series:
    """Leads whose sale milestone is reached (a sold date, or the b2b won date)."""
    sale = next((m for m in crm.settings.milestones if m.key == "sale"), None)
    if sale is None or sale.sheet != crm.schema.lead_sheet or sale.column not in leads:
        return pd.Series(False, index=leads.index)
    return leads[sale.column].notna()


#: lead statuses (Settings > Lead statuses items) that close a lead: nobody calls it again
CLOSED_STATUSES = ("customer", "unqualified")


def closed_leads(crm: Crm) -> pd.Series:
    """Which leads are closed, indexed like the lead sheet's table: sold (the sale milestone
    reached), or in a won or lost stage of Settings, or in a closing lead status (customer,
    unqualified). Closed leads are neither MQL nor SQL and never rank among the open ones."""
    leads = crm.tables[crm.schema.lead_sheet]
    closed = _sale_reached(crm, leads).astype(bool)
    sheet = crm.schema.sheet(crm.schema.lead_sheet)
    if "stage" not in leads or not sheet.has_column("stage"):
        return closed
    names: set[str] = set()
    if sheet.column("stage").list == "stages" and "stages" in crm.settings.lists:
        names = {normalize_header(r.name) for r in stage_rules(
            crm.settings.lists["stages"], outcome_labels()) if r.outcome in ("won", "lost")}
    elif sheet.column("stage").list == "lead_statuses":
        names = {normalize_header(label) for key in CLOSED_STATUSES
                 for label in item_labels("lead_statuses", key)}
    codes, distinct = pd.factorize(leads["stage"].to_numpy(dtype=object))
    shut = pd.Series([isinstance(v, str) and normalize_header(v) in names
                      for v in distinct] + [False], dtype=bool).to_numpy()[codes]
    return closed | pd.Series(shut, index=leads.index)


def call_order(crm: Crm, scores: pd.DataFrame) -> pd.DataFrame:
    """The scores in the order a rep works them: open leads first (who to call), highest score
    first, then the closed ones (sold, won or lost), highest first."""
    closed = ~scores["open"].astype(bool) if "open" in scores else \
        closed_leads(crm).reindex(scores.index).fillna(False).astype(bool)
    return scores.assign(_closed=closed.to_numpy()).sort_values(
        ["_closed", "score"], ascending=[True, False], kind="stable").drop(columns="_closed")
