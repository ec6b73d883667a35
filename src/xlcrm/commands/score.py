"""Who to call first: the library twin of ``xlcrm score``.

:func:`score` scores every lead (contacts for b2b) with the rules of Settings > Scoring rules
(see :mod:`xlcrm.metrics.scoring`) and ranks customers by recency, frequency and monetary
value (see :mod:`xlcrm.metrics.rfm`). Both go to owned sheets, *Lead scores* and *RFM*; the
people's own columns are never written.

A rule's field is any column of the lead sheet (by its header in any language, or its key), a
column of the lead's account, or a computed field such as ``inbound_activities_30d`` (see
:mod:`xlcrm.metrics.lead_fields`). The sheets are laid out by :mod:`xlcrm.sheets.scores` and
:mod:`xlcrm.sheets.rfm`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..crm import Crm
from ..metrics.lead_fields import (
    call_order,
    closed_leads,
    customer_touch,
    lead_fields,
    purchases,
    scoring_rules,
)
from ..metrics.rfm import rfm
from ..metrics.scoring import Rule, score_leads
from ..read import bulk_work, load
from ..schema import normalize_header
from ..sheets.rfm import rfm_builder
from ..sheets.scores import scores_builder
from ..sheets.style import record_names
from ..xlsx.crypto import with_password
from ..xlsx.lock import locked_command
from ..xlsx.save import SaveResult
from ..xlsx.writer import SheetBuilder, write_owned_sheets

__all__ = ["ScoreResult", "score"]


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
    #: the data sheets with no records yet, and what they would feed (one line each)
    missing: list[str] = field(default_factory=list)
    #: the workbook's language (its locale code), for what is printed about the run
    locale: str = "en"
    saved: SaveResult | None = None

    def counts(self) -> dict[str, int]:
        """How many open leads there are and how many of them are SQL and MQL, and how many
        customers in each RFM segment."""
        grades = self.scores["grade"] if len(self.scores) else pd.Series(dtype=object)
        out = {"SQL": int((grades == "SQL").sum()), "MQL": int((grades == "MQL").sum()),
               "open leads": int(self.scores["open"].sum()) if len(self.scores) else 0}
        if len(self.rfm):
            for seg, n in self.rfm["segment"].value_counts().items():
                out[str(seg)] = int(n)
        return out


# ----- the command -------------------------------------------------------------------------
@with_password
@locked_command(lambda kw: not kw.get("dry_run"))
def score(path: str | Path, *, today: dt.date | None = None, dry_run: bool = False,
          force: bool = False, backups: int = 5, password: str | None = None) -> ScoreResult:
    """Score the leads and rank the customers; write the Lead scores and RFM sheets.

    Args:
        path: the CRM workbook.
        today: the day the scores are for (recent activity, recency); default today.
        dry_run: compute and return everything, write nothing.
        force: write even though Excel or LibreOffice has the workbook open.
        backups: how many earlier versions to keep beside the workbook.
        password: the workbook's password when it is encrypted; it is decrypted in
            memory only and every workbook written is encrypted with it.
    """
    with bulk_work():
        return _score(Path(path), today=today or dt.date.today(), dry_run=dry_run,
                      force=force, backups=backups)


def _names(crm: Crm, index: pd.Index) -> list[str]:
    """The name a person reads for each lead of ``index`` (the lead sheet's rows)."""
    return record_names(crm.tables[crm.schema.lead_sheet].reindex(index))


def _score(path: Path, *, today: dt.date, dry_run: bool, force: bool,
           backups: int) -> ScoreResult:
    crm = load(path)
    crm.require_xlcrm()
    bought, customer_key = purchases(crm)
    basis = normalize_header(str(crm.settings.options.get("rfm_recency") or "purchase"))
    touch = customer_touch(crm, customer_key) if basis.startswith("activ") else None
    customers = rfm(bought, today=today, last_touch=touch)
    rules, unknown = scoring_rules(crm)
    leads = lead_fields(crm, rules, customers, today)
    mql = float(crm.settings.options.get("mql_threshold") or 40)
    sql = float(crm.settings.options.get("sql_threshold") or 70)
    locale = crm.schema.locale
    scores = score_leads(leads, rules, mql=mql, sql=sql, words=None if locale.code == "en"
                         else locale.sections.get("values", {}).get("conditions"))
    scores.insert(0, "id", leads["id"])
    # a closed lead (sold, won or lost) is nobody's next call: scored, but never graded
    is_open = ~closed_leads(crm).reindex(scores.index).fillna(False).astype(bool)
    scores["open"] = is_open
    scores.loc[~is_open, "grade"] = "closed"
    scores.insert(1, "name", _names(crm, scores.index))
    result = ScoreResult(path, scores, customers, rules, (mql, sql), unknown,
                         locale=crm.schema.locale.code)
    result.missing = crm.missing_records(("lead", "deals"))
    builders: dict[str, SheetBuilder] = {}
    names = {k: crm.claim_sheet(k) for k in ("lead_scores", "rfm")}
    builders[names["lead_scores"]] = scores_builder(
        crm, call_order(crm, scores), thresholds=result.thresholds, counts=result.counts(),
        unknown_fields=unknown, today=today)
    builders[names["rfm"]] = rfm_builder(crm, customers, customer_key, today)
    result.sheets = list(builders)
    if not dry_run:
        result.saved = write_owned_sheets(path, builders, force=force, backups=backups,
                                          identities=crm.sheet_names)
    return result
