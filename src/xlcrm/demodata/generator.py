"""The shared simulation of the demo: a sales desk's people, time and funnel, week by week.

Leads arrive with weekly seasonality from sources of different quality
(:meth:`Generator.arrival_times`), reps try to reach them, about half answer (a two-way
contact), some book an appointment, most of those show, some buy; the rest are lost with a
reason and, when they bought elsewhere, a competitor (:meth:`Generator.journey`). Milestones
that would fall after *today* have not happened yet, so recent weeks look immature as they do
in real life. Each preset (:mod:`.dealer`, :mod:`.b2b`) turns these journeys into its sheets'
records.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import repeat
from typing import Any

from .._resources import templates_dir
from ..metrics.identity import email_key
from ..schema import Schema, load_locale

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["WEEKS", "Generator", "Journey", "Person", "Table", "as_date", "ascii_key",
           "leave_unowned", "make_id", "plan_tasks"]

WEEKS = 26  # the demo covers half a year of leads, ending yesterday


class Table:
    """Columnar records of one sheet, filled row by row."""

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = list(keys)
        self.rows: list[dict[str, Any]] = []

    def add(self, **values: Any) -> dict[str, Any]:
        """Append a record and return it, so the caller can still fill in what it learns."""
        self.rows.append(values)
        return values

    def finish(self, prefix: str, sort_key: str | None) -> dict[str, list[Any]]:
        """Sort by ``sort_key``, number the ids in that order and return the columns."""
        if sort_key:
            self.rows.sort(key=lambda r: _sortable(r.get(sort_key)))
        for i, row in enumerate(self.rows, 1):
            row["id"] = make_id(prefix, i)
        return {k: list(map(dict.get, self.rows, repeat(k))) for k in self.keys}


def _sortable(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    return dt.datetime.min


def make_id(prefix: str, n: int) -> str:
    """Return the ``n``-th id of a sheet, as the workbook numbers them (``L-000042``)."""
    return f"{prefix}-{n:06d}"


@lru_cache(maxsize=1 << 16)  # a demo's names come from a pool: each folded once
def ascii_key(text: str) -> str:
    """Fold a name to lower-case ASCII letters and digits, for e-mail addresses and websites."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


@dataclass
class Person:
    """A generated person: name, language and the contact details as entered."""

    first: str
    last: str
    lang: str
    email: str | None
    phone: str | None


@dataclass
class Journey:
    """What happened to one lead: its milestones, as datetimes (None: not, or not yet)."""

    created: dt.datetime
    contact: dt.datetime | None = None
    appointment_set: dt.datetime | None = None
    appointment_date: dt.datetime | None = None
    shown: dt.datetime | None = None
    sold: dt.datetime | None = None
    lost_reason: str | None = None
    competitor: str | None = None
    attempts: list[tuple[dt.datetime, str]] = field(default_factory=list)


class Generator:
    """The shared state of one demo: schema, seeded random source, reps, calendar, names used."""

    def __init__(self, schema: Schema, n: int, seed: int, today: dt.date) -> None:
        self.schema = schema
        self.loc = schema.locale
        self.n = n
        self.rng = random.Random(f"xlcrm-demo-{schema.preset}-{seed}")
        self.today = today
        self.now = dt.datetime.combine(today, dt.time(8, 0))
        # the demo's first week starts on the Monday WEEKS weeks before today's week
        monday = today - dt.timedelta(days=today.weekday())
        self.start = monday - dt.timedelta(weeks=WEEKS)
        with (templates_dir() / "demo" / "names.toml").open("rb") as fh:
            self.names = tomllib.load(fh)
        self.langs = list(self.names["weights"])
        self.lang_weights = [self.names["weights"][k] for k in self.langs]
        # the demo's own phrases in its language ([demo] of the locale file), English for a
        # phrase a locale lacks
        english = load_locale("en").sections["demo"]
        self.phrases: dict[str, Any] = {**english, **self.loc.sections.get("demo", {})}
        self.reps = self._reps()
        self.emails_used: set[str] = set()
        self.names_used: set[tuple[str, str, str]] = set()
        #: per sheet, the (original, copy) records entered twice on purpose
        self.twins: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
        self._labels: dict[tuple[str, str], str] = {}

    # ----- labels -------------------------------------------------------------------------
    def v(self, list_key: str, item: str) -> str:
        """Return a list item's label in the demo's language."""
        label = self._labels.get((list_key, item))
        if label is None:
            label = self._labels[list_key, item] = self.loc.value(list_key, item)
        return label

    def pick(self, items: Sequence[Any], weights: Sequence[float] | None = None) -> Any:
        """Pick one item, by weight when given."""
        return self.rng.choices(items, weights=weights, k=1)[0]

    # ----- people ---------------------------------------------------------------------------
    def _reps(self) -> list[tuple[str, str, str]]:
        territories = [row[0] for row in self.schema.settings_list("territories").rows]
        rng = random.Random(f"reps-{self.schema.preset}")  # reps don't change with the seed
        reps: list[tuple[str, str, str]] = []
        seen: set[str] = set()
        while len(reps) < 5:
            lang = self.langs[len(reps) % 2]  # a mixed team
            first = rng.choice(self.names[lang]["first"])
            last = rng.choice(self.names[lang]["last"])
            name = f"{first} {last}"
            if name in seen:
                continue
            seen.add(name)
            email = f"{ascii_key(first)}.{ascii_key(last)}@our-company.example"
            reps.append((name, email, territories[len(reps) % len(territories)]))
        return reps

    def person(self, *, domain: str | None = None, lang: str | None = None) -> Person:
        lang = lang or self.pick(self.langs, self.lang_weights)
        pool = self.names[lang]
        first, last = self.rng.choice(pool["first"]), self.rng.choice(pool["last"])
        tries = 0
        while domain and (domain, first, last) in self.names_used and tries < 50:
            first, last = self.rng.choice(pool["first"]), self.rng.choice(pool["last"])
            tries += 1  # one Fabio Greco per firm, as far as the name pool allows
        if domain:
            self.names_used.add((domain, first, last))
        local = self.pick([f"{ascii_key(first)}.{ascii_key(last)}",
                           f"{ascii_key(first)}{ascii_key(last)}",
                           f"{ascii_key(first)[0]}{ascii_key(last)}",
                           f"{ascii_key(first)}.{ascii_key(last)}{self.rng.randint(1, 99)}"],
                          [4, 2, 2, 2])
        email = f"{local}@{domain or self.rng.choice(pool['mail'])}"
        n = 1
        key = email_key(email)
        while key in self.emails_used:  # a mailbox belongs to one person
            n += 1
            email = f"{local}{n}@{email.partition('@')[2]}"
            key = email_key(email)
        self.emails_used.add(str(key))
        return Person(first, last, lang, email, self.phone(lang))

    def phone(self, lang: str) -> str:
        prefix = self.names[lang]["phone_prefix"]
        # randint(0, 9) ten times, as the same draws of the generator (randint is
        # randrange, which is _randbelow): a fifth of the time, for 100k phones
        below = self.rng._randbelow  # type: ignore[attr-defined]
        digits = "".join([str(below(10)) for _ in range(10)])
        mobile = {"+39": "3", "+44": "7", "+49": "15", "+33": "6", "+34": "6"}[prefix]
        length = {"+39": 10, "+44": 10, "+49": 11, "+33": 9, "+34": 9}[prefix]
        number = mobile + digits[: length - len(mobile)]
        style = self.rng.random()
        if style < 0.45:
            return f"{prefix} {number[:3]} {number[3:6]} {number[6:]}"
        if style < 0.8:  # as dialled at home: Italy and Spain have no trunk zero
            return number if prefix in ("+39", "+34") else f"0{number}"
        return f"{prefix}{number}"

    # ----- the plan the team tried --------------------------------------------------------
    @property
    def plan_start(self) -> dt.date:
        """Eight weeks ago the team started answering every new lead within 15 minutes."""
        return self.start + dt.timedelta(weeks=WEEKS - 8)

    def plan_lift(self, created: dt.datetime) -> float:
        """Faster first replies reach more people: the plan lifts the contact rate."""
        return 1.18 if created.date() >= self.plan_start else 1.0

    def plans(self) -> dict[str, list[Any]]:
        return {"id": ["P-000001"], "name": [self.phrases["plan_name"]],
                "start": [self.plan_start], "end": [None],
                "notes": [self.phrases["plan_notes"]]}

    # ----- time ---------------------------------------------------------------------------
    def arrival_times(self, n: int, weekday_weights: Sequence[float],
                      hours: Sequence[int], hour_weights: Sequence[float]) -> list[dt.datetime]:
        """Sample lead arrival times with weekly seasonality and a gentle upward trend."""
        days = [self.start + dt.timedelta(days=d) for d in range(WEEKS * 7)]
        days = [d for d in days if d < self.today]
        weights = []
        for d in days:
            week = (d - self.start).days / 7
            season = 1 + 0.25 * math.sin(2 * math.pi * week / 13) + 0.15 * week / WEEKS
            weights.append(weekday_weights[d.weekday()] * season)
        picked = self.rng.choices(days, weights=weights, k=n)
        picked.sort()
        out = []
        for d in picked:
            hour = self.pick(hours, hour_weights)
            out.append(dt.datetime.combine(d, dt.time(hour, self.rng.randrange(60))))
        return out

    def business_time(self, when: dt.datetime) -> dt.datetime:
        """Move a time into opening hours (9-19, Monday to Saturday)."""
        if when.hour < 9:
            when = when.replace(hour=9, minute=self.rng.randrange(60))
        elif when.hour >= 19:
            when = (when + dt.timedelta(days=1)).replace(hour=9, minute=self.rng.randrange(60))
        if when.weekday() == 6:
            when += dt.timedelta(days=1)
        return when

    def lag_hours(self, median: float, spread: float, cap: float) -> dt.timedelta:
        hours = min(self.rng.lognormvariate(math.log(median), spread), cap)
        return dt.timedelta(minutes=round(hours * 60))  # people log whole minutes

    # ----- the funnel -----------------------------------------------------------------------
    def journey(self, created: dt.datetime, quality: Sequence[float], skill: float,
                rates: Sequence[float], slow: float) -> Journey:
        """Simulate one lead's path; ``slow`` stretches the time between steps (B2B)."""
        j = Journey(created)
        rng = self.rng
        contact_p = min(quality[1] * rates[0] * skill, 0.98)
        t = created
        contacted = rng.random() < contact_p
        n_attempts = rng.choice((0, 1, 2, 2)) if contacted else rng.choice((2, 2, 3, 3, 4))
        for _ in range(n_attempts):
            t = self.business_time(t + self.lag_hours(3 * slow, 1.0, 72 * slow))
            if t <= self.now:
                j.attempts.append((t, self.pick(("call", "email", "sms"), (5, 3, 2))))
        if not contacted:
            return j
        contact = self.business_time(t + self.lag_hours(2 * slow, 1.2, 240 * slow))
        if contact > self.now:
            return j
        j.contact = contact
        if rng.random() >= min(rates[1] * quality[2], 0.95):
            return j
        booked = self.business_time(contact + self.lag_hours(18 * slow, 1.0, 400 * slow))
        if booked > self.now:
            return j
        j.appointment_set = booked
        when = booked + dt.timedelta(days=rng.randint(1, 6) * slow)
        j.appointment_date = self.business_time(
            when.replace(hour=rng.randint(9, 17), minute=rng.choice((0, 30))))
        if j.appointment_date > self.now or rng.random() >= min(rates[2] * quality[3], 0.97):
            return j
        j.shown = j.appointment_date
        if rng.random() >= min(rates[3] * quality[4], 0.95):
            return j
        sold = self.business_time(j.shown + dt.timedelta(days=rng.expovariate(1 / (3 * slow))))
        if sold <= self.now:
            j.sold = sold
        return j

    def close_lost(self, j: Journey, reasons: Mapping[str, Sequence[tuple[str, float]]],
                   competitors: Sequence[str], competitor_reasons: set[str],
                   patience_days: float) -> str:
        """Decide the stage of a lead that did not buy: still open, or lost with a reason."""
        rng = self.rng
        age = (self.now - j.created).days
        if j.shown:
            step, after = "shown", (self.now - j.shown).days
        elif j.appointment_set:
            step, after = "appointment", (self.now - (j.appointment_date or j.created)).days
        elif j.contact:
            step, after = "contact", (self.now - j.contact).days
        else:
            step, after = "new", age
        limit = {"shown": 10, "appointment": 3, "contact": 21, "new": 14}[step] * patience_days
        if after > limit and rng.random() < 0.85:
            keys, weights = zip(*reasons[step])
            j.lost_reason = self.pick(keys, weights)
            if j.lost_reason in competitor_reasons:
                j.competitor = rng.choice(list(competitors))
            return "lost"
        return step


def as_date(value: dt.datetime | None) -> dt.date | None:
    """Return the day of a milestone (a date column), or None when it has not happened."""
    return value.date() if value else None


def leave_unowned(gen: Generator, owners: list[Any]) -> None:
    """Leave a few records without an owner, once their activities and tasks are planned."""
    for i in gen.rng.sample(range(len(owners)), k=max(1, len(owners) // 100)):
        owners[i] = None


def plan_tasks(gen: Generator, table: Table,
               open_items: list[tuple[str, str, str, dt.datetime]],
               closed_items: list[tuple[str, str, str, dt.datetime]], owner_key: str,
               record_key: str) -> None:
    """Plan follow-ups: open records get tasks around today, closed ones a done history."""
    rng, ph = gen.rng, gen.phrases
    results = (ph["done_ok"], ph["done_no_answer"], ph["done_rescheduled"])
    offsets = (-6, -3, -2, -1, -1, 0, 0, 0, 1, 1, 1, 2, 3, 5, 8)
    for record, owner, subject, anchor in open_items:
        due = max(anchor.date() + dt.timedelta(days=1),
                  gen.today + dt.timedelta(days=rng.choice(offsets)))
        done = due < gen.today and rng.random() < 0.45
        table.add(due_date=due, due_time=dt.time(rng.randint(9, 18), rng.choice((0, 30))),
                  **{owner_key: owner, record_key: record}, subject=subject,
                  done=done, done_date=due if done else None,
                  result=rng.choice(results) if done else None)
    for record, owner, subject, anchor in closed_items:
        if rng.random() < 0.5:
            continue
        due = anchor.date()
        table.add(due_date=due, due_time=dt.time(rng.randint(9, 18), rng.choice((0, 30))),
                  **{owner_key: owner, record_key: record}, subject=subject, done=True,
                  done_date=due, result=rng.choice(results))
