"""Realistic, reproducible demo data: the library twin of ``xlcrm demo``.

The generator simulates a sales desk week by week: leads arrive with weekly seasonality from
sources of different quality, reps try to reach them, about half answer (a two-way contact),
some book an appointment, most of those show, some buy; the rest are lost with a reason and,
when they bought elsewhere, a competitor. Milestones that would fall after *today* have not
happened yet, so recent weeks look immature as they do in real life. A few dirty records
(duplicates with typos, missing e-mail, bad phone numbers) are mixed in for the clean-up tools.

The same seed, preset, size and date always give the same workbook.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._resources import templates_dir
from ..metrics.identity import email_key
from ..schema import Schema, load_schema
from ..sheets.workbook import write_new_workbook
from ..xlsx.save import prepare_target, safe_save

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["DemoData", "demo", "generate_demo"]

WEEKS = 26  # the demo covers half a year of leads, ending yesterday
_MIN = dt.timedelta(minutes=1)


@dataclass
class DemoData:
    """A generated data set, ready for :func:`xlcrm.build.write_new_workbook`."""

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


class _Table:
    """Columnar records of one sheet, filled row by row."""

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = list(keys)
        self.rows: list[dict[str, Any]] = []

    def add(self, **values: Any) -> dict[str, Any]:
        self.rows.append(values)
        return values

    def finish(self, prefix: str, sort_key: str | None) -> dict[str, list[Any]]:
        """Sort by ``sort_key``, number the ids in that order and return the columns."""
        if sort_key:
            self.rows.sort(key=lambda r: _sortable(r.get(sort_key)))
        for i, row in enumerate(self.rows, 1):
            row["id"] = _id(prefix, i)
        return {k: [r.get(k) for r in self.rows] for k in self.keys}


def _sortable(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    return dt.datetime.min


def _id(prefix: str, n: int) -> str:
    return f"{prefix}-{n:06d}"


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


@dataclass
class _Person:
    first: str
    last: str
    lang: str
    email: str | None
    phone: str | None


@dataclass
class _Journey:
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


# Lead sources: share of leads, and how likely each step is compared with the average.
# (share, contact, appointment|contact, show|appointment, sale|show)
_DEALER_SOURCES = {
    "dealer_website": (0.30, 0.55, 1.05, 1.00, 1.00),
    "listing_portal": (0.28, 0.40, 0.85, 0.90, 0.90),
    "manufacturer_site": (0.12, 0.50, 1.00, 1.00, 1.05),
    "social_ads": (0.12, 0.28, 0.75, 0.80, 0.75),
    "phone_in": (0.08, 0.85, 1.15, 1.05, 1.10),
    "walk_in": (0.04, 0.95, 1.30, 1.25, 1.25),
    "referral": (0.06, 0.70, 1.20, 1.10, 1.20),
}
_B2B_SOURCES = {
    "web_form": (0.26, 0.50, 1.00, 1.00, 1.00),
    "trade_show": (0.18, 0.55, 1.10, 1.05, 1.00),
    "ebook": (0.16, 0.30, 0.70, 0.90, 0.80),
    "referral": (0.08, 0.75, 1.30, 1.10, 1.30),
    "cold_outreach": (0.14, 0.22, 0.80, 0.85, 0.80),
    "paid_search": (0.12, 0.45, 0.95, 1.00, 0.95),
    "partner": (0.06, 0.65, 1.20, 1.05, 1.15),
}
# Average step rates: dealer (roughly half contacted, a fifth book, two thirds show, two
# fifths of shows buy) and a slower B2B cycle.
_DEALER_RATES = (1.0, 0.40, 0.68, 0.40)
_B2B_RATES = (0.95, 0.45, 0.72, 0.38)
_CHANNEL_BY_SOURCE = {
    "dealer_website": ("web_form", "chat"), "listing_portal": ("web_form", "email"),
    "manufacturer_site": ("web_form",), "social_ads": ("web_form",), "phone_in": ("phone",),
    "walk_in": ("in_person",), "referral": ("phone", "email"), "trade_show": ("in_person",),
    "web_form": ("web_form",), "ebook": ("email",), "cold_outreach": ("email", "phone"),
    "paid_search": ("web_form",), "partner": ("email", "phone"),
}
_REPLY_TYPE = {"web_form": "email", "chat": "chat", "email": "email", "phone": "call",
               "in_person": "call", "sms": "sms", "video": "video"}


class _Generator:
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
        text = self.names["phrases"]
        self.phrases: dict[str, str] = text.get(self.loc.code, text["en"])
        self.reps = self._reps()
        self.emails_used: set[str] = set()
        self.names_used: set[tuple[str, str, str]] = set()
        #: per sheet, the (original, copy) records entered twice on purpose
        self.twins: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}

    # ----- labels -------------------------------------------------------------------------
    def v(self, list_key: str, item: str) -> str:
        return self.loc.value(list_key, item)

    def pick(self, items: Sequence[Any], weights: Sequence[float] | None = None) -> Any:
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
            email = f"{_ascii(first)}.{_ascii(last)}@our-company.example"
            reps.append((name, email, territories[len(reps) % len(territories)]))
        return reps

    def person(self, *, domain: str | None = None, lang: str | None = None) -> _Person:
        lang = lang or self.pick(self.langs, self.lang_weights)
        pool = self.names[lang]
        first, last = self.rng.choice(pool["first"]), self.rng.choice(pool["last"])
        tries = 0
        while domain and (domain, first, last) in self.names_used and tries < 50:
            first, last = self.rng.choice(pool["first"]), self.rng.choice(pool["last"])
            tries += 1  # one Fabio Greco per firm, as far as the name pool allows
        if domain:
            self.names_used.add((domain, first, last))
        local = self.pick([f"{_ascii(first)}.{_ascii(last)}", f"{_ascii(first)}{_ascii(last)}",
                           f"{_ascii(first)[0]}{_ascii(last)}",
                           f"{_ascii(first)}.{_ascii(last)}{self.rng.randint(1, 99)}"],
                          [4, 2, 2, 2])
        email = f"{local}@{domain or self.rng.choice(pool['mail'])}"
        n = 1
        while email_key(email) in self.emails_used:  # a mailbox belongs to one person
            n += 1
            email = f"{local}{n}@{email.partition('@')[2]}"
        self.emails_used.add(str(email_key(email)))
        return _Person(first, last, lang, email, self.phone(lang))

    def phone(self, lang: str) -> str:
        prefix = self.names[lang]["phone_prefix"]
        digits = "".join(str(self.rng.randint(0, 9)) for _ in range(10))
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
                rates: Sequence[float], slow: float) -> _Journey:
        """Simulate one lead's path; ``slow`` stretches the time between steps (B2B)."""
        j = _Journey(created)
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

    def close_lost(self, j: _Journey, reasons: Mapping[str, Sequence[tuple[str, float]]],
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

    # ----- dirt for the clean-up tools ----------------------------------------------------
    def typo(self, text: str) -> str:
        if len(text) < 4:
            return text.upper()
        i = self.rng.randrange(1, len(text) - 2)
        kind = self.rng.random()
        if kind < 0.4:
            return text[:i] + text[i + 1] + text[i] + text[i + 2:]
        if kind < 0.7:
            return text[:i] + text[i + 1:]
        return text.lower() if kind < 0.85 else text.upper()

    def email_variant(self, email: str | None) -> str | None:
        if not email or self.rng.random() < 0.25:
            return None
        local, _, domain = email.partition("@")
        kind = self.rng.random()
        if kind < 0.4:
            return email.upper() if self.rng.random() < 0.5 else email.capitalize()
        if kind < 0.7 and domain == "gmail.com":
            return f"{local.replace('.', '')}+cars@{domain}"
        return f" {email} "

    def phone_variant(self, phone: str | None) -> str | None:
        """The same number written another way (or left out)."""
        if not phone:
            return phone
        r = self.rng.random()
        digits = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
        if r < 0.15:
            return None
        if r < 0.35:
            return digits
        if r < 0.5 and digits.startswith("+"):
            return "00" + digits[1:]
        if r < 0.65:
            return "-".join(phone.split()) if " " in phone else f"{phone[:3]} {phone[3:]}"
        if r < 0.75 and digits.startswith("+39"):
            return digits[3:]  # Italian numbers keep no trunk zero
        return phone

    def dirty_contact(self, person: _Person) -> None:
        """Spoil a few records the way hand entry does."""
        r = self.rng.random()
        if r < 0.05:
            person.email = None
        elif r < 0.06:
            person.email = person.phone = None
        elif r < 0.067:
            person.phone = self.pick(("12345", "347-12", "n/a", "0000000000"))
        elif r < 0.071 and person.email:
            person.email = person.email.replace("@", "@@") if r < 0.069 else \
                person.email.rsplit(".", 1)[0]


def _date(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


def _duplicates(gen: _Generator, rows: list[dict[str, Any]], share: float, *,
                source_list: str, sources: Sequence[str]
                ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Re-enter some people a second time, damaged the way hand entry and web forms do it:
    a typo in a name, first and last name swapped, the e-mail in capitals or with a tag, the
    phone written another way, fields left out. Returns (original, copy) pairs."""
    extra = []
    rng = gen.rng
    for original in rng.sample(rows, k=int(len(rows) * share)):
        copy = {k: original.get(k) for k in ("first_name", "last_name", "phone", "account",
                                             "title", "vehicle", "channel")}
        first, last = str(original.get("first_name") or ""), str(original["last_name"])
        r = rng.random()
        if r < 0.45:
            last = gen.typo(last)
        elif r < 0.6:
            first = gen.typo(first)
        elif r < 0.75:
            first, last = last, first  # typed into the wrong boxes
        elif r < 0.85:
            first, last = first.upper(), last.upper()
        copy["first_name"], copy["last_name"] = first or None, last
        copy["email"] = gen.email_variant(original.get("email"))
        copy["phone"] = gen.phone_variant(original.get("phone"))
        if not copy["email"] and not copy["phone"] and rng.random() < 0.7:
            copy["phone"] = original.get("phone")  # people rarely change both at once
        for key in ("title", "vehicle", "channel"):
            if copy.get(key) and rng.random() < 0.3:
                copy[key] = None
        created: dt.datetime = original["created"] + dt.timedelta(
            days=rng.randint(0, 40), hours=rng.randint(0, 9))
        if created >= gen.now:
            continue
        copy["created"] = created
        copy["source"] = gen.v(source_list, rng.choice(list(sources)))
        extra.append((original, copy))
    return extra


def _duplicate_accounts(gen: _Generator, table: _Table, accounts: list[dict[str, Any]]) -> None:
    """Enter a few companies twice: the legal form written another way or left out, a typo,
    the website with or without ``www``, the switchboard written another way."""
    rng = gen.rng
    twins = gen.twins.setdefault("accounts", [])
    for original in rng.sample(accounts, k=max(1, len(accounts) * 3 // 100)):
        words = str(original["name"]).split(" ")
        head, form = words[:2], " ".join(words[2:])
        r = rng.random()
        if r < 0.3:
            form = form.replace(".", "").lower()
        elif r < 0.55:
            form = ""
        elif r < 0.8:
            head[1] = gen.typo(head[1])
        else:
            head = [w.upper() for w in head]
        website = original["website"]
        r = rng.random()
        if r < 0.3:
            website = None
        elif r < 0.6:
            website = str(website).replace("https://www.", "http://")
        copy = table.add(**{k: v for k, v in original.items() if k not in ("id", "parent")})
        copy.update(id=_id("ACC", len(accounts) + 1), name=" ".join(head + [form]).strip(),
                    website=website, phone=gen.phone_variant(original["phone"]),
                    created=original["created"] + dt.timedelta(days=rng.randint(1, 300)),
                    status=gen.v("account_statuses", "prospect"))
        accounts.append(copy)
        twins.append((original, copy))


def _unowned(gen: _Generator, owners: list[Any]) -> None:
    """Leave a few records without an owner, once their activities and tasks are planned."""
    for i in gen.rng.sample(range(len(owners)), k=max(1, len(owners) // 100)):
        owners[i] = None


def _tasks(gen: _Generator, table: _Table, open_items: list[tuple[str, str, str, dt.datetime]],
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


def _dealer(gen: _Generator) -> dict[str, dict[str, list[Any]]]:
    s, rng, ph = gen.schema, gen.rng, gen.phrases
    leads = _Table([c.key for c in s.sheet("leads").columns])
    acts = _Table([c.key for c in s.sheet("activities").columns])
    tasks = _Table([c.key for c in s.sheet("tasks").columns])
    source_keys = list(_DEALER_SOURCES)
    shares = [q[0] for q in _DEALER_SOURCES.values()]
    skills = [1.12, 1.0, 0.92, 1.05, 0.88]
    veh = gen.names["vehicles"]
    lost_reasons = {
        "new": [("no_response", 1.0)],
        "appointment": [("no_response", 0.5), ("not_ready", 0.3), ("bought_elsewhere", 0.2)],
        "contact": [("not_ready", 0.35), ("bought_elsewhere", 0.25), ("price", 0.2),
                    ("vehicle_sold", 0.1), ("financing_declined", 0.1)],
        "shown": [("price", 0.3), ("bought_elsewhere", 0.3), ("trade_in_value", 0.15),
                  ("financing_declined", 0.12), ("not_ready", 0.13)],
    }
    competitors = [row[0] for row in s.settings_list("competitors").rows]
    stage_of = {"new": "new", "contact": "contacted", "appointment": "appointment_set"}
    created_times = gen.arrival_times(
        gen.n, (1.15, 1.0, 0.95, 0.95, 1.0, 1.25, 0.7),
        list(range(7, 24)), (1, 2, 4, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 5, 4, 2))
    journeys: list[tuple[dict[str, Any], _Journey]] = []
    for created in created_times:
        src_i = rng.choices(range(len(source_keys)), weights=shares, k=1)[0]
        src = source_keys[src_i]
        rep_i = rng.randrange(len(gen.reps))
        j = gen.journey(created, _DEALER_SOURCES[src], skills[rep_i] * gen.plan_lift(created),
                        _DEALER_RATES, 1.0)
        person = gen.person()
        if src in ("walk_in", "phone_in") and rng.random() < 0.4:
            person.email = None
        gen.dirty_contact(person)
        condition = gen.pick(("new", "used", "demo"), (5, 4, 1))
        body = rng.choice(veh["bodies"])
        vehicle = f"{body} {rng.choice(veh['engines'])} {rng.choice(veh['trims'])}"
        if j.sold:
            stage, amount = "sold", round(rng.uniform(*{
                "new": (21_000, 56_000), "used": (7_500, 29_000), "demo": (17_000, 41_000)
            }[condition]) / 50) * 50
        else:
            step = gen.close_lost(j, lost_reasons, competitors, {"bought_elsewhere"}, 1.0)
            stage = step if step == "lost" else stage_of.get(step, "")
            if step == "shown":
                stage = "negotiation" if rng.random() < 0.5 else "shown"
            amount = None
        row = leads.add(
            created=created, first_name=person.first, last_name=person.last,
            email=person.email, phone=person.phone, source=gen.v("sources", src),
            channel=gen.v("channels", rng.choice(_CHANNEL_BY_SOURCE[src])),
            vehicle=vehicle, vehicle_condition=gen.v("vehicle_conditions", condition),
            trade_in=rng.random() < 0.35, rep=gen.reps[rep_i][0], stage=gen.v("stages", stage),
            first_contact=j.contact, appointment_set=j.appointment_set,
            appointment_date=j.appointment_date, appointment_shown=_date(j.shown),
            sold=_date(j.sold), amount=amount,
            lost_reason=gen.v("lost_reasons", j.lost_reason) if j.lost_reason else None,
            competitor=gen.v("competitors", j.competitor) if j.competitor else None,
        )
        journeys.append((row, j))
    twins = gen.twins.setdefault("leads", [])
    for original, dup in _duplicates(gen, leads.rows, 0.015, source_list="sources",
                                     sources=source_keys):
        dup.update(rep=rng.choice(gen.reps)[0], stage=gen.v("stages", "new"),
                   trade_in=False, vehicle_condition=gen.v("vehicle_conditions", "used"))
        twins.append((original, leads.add(**dup)))
    lead_cols = leads.finish("L", "created")

    open_items, closed_items = [], []
    for row, j in journeys:
        lead_id, rep = row["id"], row["rep"]
        for when, kind in j.attempts:
            acts.add(date=when, lead=lead_id, type=gen.v("activity_types", kind),
                     direction=gen.v("directions", "outbound"), rep=rep,
                     subject=ph[f"attempt_{kind}"])
        # the prospect's answer; a few are only recorded by hand in the milestone column
        if j.contact and rng.random() < 0.95:
            channel = next(k for k in _CHANNEL_BY_SOURCE if gen.v("sources", k) == row["source"])
            kind = _REPLY_TYPE[rng.choice(_CHANNEL_BY_SOURCE[channel])]
            acts.add(date=j.contact, lead=lead_id, type=gen.v("activity_types", kind),
                     direction=gen.v("directions", "inbound"), rep=rep, subject=ph["reply"])
        if j.contact and rng.random() < 0.5:
            acts.add(date=gen.business_time(j.contact + dt.timedelta(hours=rng.randint(1, 30))),
                     lead=lead_id, type=gen.v("activity_types", "email"),
                     direction=gen.v("directions", "outbound"), rep=rep, subject=ph["follow_up"])
        if j.appointment_set:
            acts.add(date=j.appointment_set, lead=lead_id, type=gen.v("activity_types", "call"),
                     direction=gen.v("directions", "outbound"), rep=rep,
                     subject=ph["appointment_booked"])
        if j.shown:
            acts.add(date=j.shown, lead=lead_id, type=gen.v("activity_types", "visit"),
                     direction=gen.v("directions", "inbound"), rep=rep, subject=ph["visit"])
        stage = row["stage"]
        if stage in (gen.v("stages", "sold"), gen.v("stages", "lost")):
            closed_items.append((lead_id, rep, ph["follow_up"], j.sold or j.contact or j.created))
        elif j.appointment_set and not j.shown:
            open_items.append((lead_id, rep, ph["confirm_appointment"], j.appointment_set))
        elif j.shown:
            open_items.append((lead_id, rep, ph["send_offer"], j.shown))
        else:
            open_items.append((lead_id, rep, ph["first_call"] if not j.contact
                               else ph["follow_up"], j.contact or j.created))
    _tasks(gen, tasks, open_items, closed_items, "rep", "record")
    _unowned(gen, lead_cols["rep"])
    return {"leads": lead_cols, "plans": gen.plans(), "activities": acts.finish("ACT", "date"),
            "tasks": tasks.finish("T", "due_date")}


def _b2b(gen: _Generator) -> dict[str, dict[str, list[Any]]]:
    s, rng, ph = gen.schema, gen.rng, gen.phrases
    tables = {sheet.key: _Table([c.key for c in sheet.columns]) for sheet in s.data_sheets}
    territories = [row[0] for row in s.settings_list("territories").rows]
    rep_by_territory = {rep[2]: rep[0] for rep in gen.reps}
    source_keys = list(_B2B_SOURCES)
    shares = [q[0] for q in _B2B_SOURCES.values()]

    # Accounts first, so contacts can belong to them; about one in ten is a subsidiary.
    n_accounts = max(10, gen.n // 4)
    accounts: list[dict[str, Any]] = []
    used_names: set[str] = set()
    for i in range(n_accounts):
        lang = gen.pick(gen.langs, gen.lang_weights)
        pool = gen.names[lang]
        last, word = rng.choice(pool["last"]), rng.choice(pool["company_words"])
        tries = 0
        while f"{last} {word}" in used_names:  # two companies don't share name and website
            tries += 1
            if tries <= 20:
                last, word = rng.choice(pool["last"]), rng.choice(pool["company_words"])
            else:  # a small name pool and many companies: founders with two surnames or more
                last = f"{last}-{rng.choice(pool['last'])}"
        used_names.add(f"{last} {word}")
        name = f"{last} {word} {rng.choice(pool['company_suffix'])}"
        territory = (territories[rng.randrange(3)] if lang == "it" else territories[3])
        acc = tables["accounts"].add(
            id=_id("ACC", i + 1), name=name,
            industry=gen.v("industries", rng.choice([r for r in s.settings_list(
                "industries").item_keys])),
            company_size=rng.choice(s.settings_list("company_sizes").items),
            territory=territory, owner=rep_by_territory.get(territory, gen.reps[0][0]),
            status=gen.v("account_statuses", "prospect"),
            website=f"https://www.{_ascii(last)}{_ascii(word)}{pool['tld']}",
            phone=gen.phone(lang), city=rng.choice(pool["cities"]), country=pool["country"],
            created=gen.start - dt.timedelta(days=rng.randint(0, 900)),
        )
        acc["_lang"], acc["_domain"] = lang, f"{_ascii(last)}{_ascii(word)}{pool['tld']}"
        if i > 5 and rng.random() < 0.1:
            parent = accounts[rng.randrange(i)]
            acc["parent"] = parent["id"]
            acc["territory"] = parent["territory"] if rng.random() < 0.9 else territory
        accounts.append(acc)
    _duplicate_accounts(gen, tables["accounts"], accounts)

    lost_reasons = {
        "new": [("went_silent", 1.0)],
        "appointment": [("no_decision", 0.5), ("timing", 0.5)],
        "contact": [("no_budget", 0.3), ("timing", 0.3), ("went_silent", 0.4)],
        "shown": [("price", 0.3), ("lost_to_competitor", 0.35), ("no_decision", 0.15),
                  ("missing_feature", 0.2)],
    }
    competitors = [row[0] for row in s.settings_list("competitors").rows]
    created_times = gen.arrival_times(
        gen.n, (1.2, 1.1, 1.1, 1.0, 0.9, 0.12, 0.08),
        list(range(8, 20)), (2, 5, 6, 6, 4, 5, 6, 6, 5, 4, 2, 1))
    account_weights = [rng.paretovariate(1.5) for _ in accounts]
    products = gen.names["products"]["names"]
    contacts: list[tuple[dict[str, Any], _Journey]] = []
    per_account: dict[str, int] = {}
    for created in created_times:
        acc = rng.choices(accounts, weights=account_weights, k=1)[0]
        while per_account.get(acc["id"], 0) >= 40:  # a small team's biggest customer
            acc = rng.choice(accounts)
        per_account[acc["id"]] = per_account.get(acc["id"], 0) + 1
        src = rng.choices(source_keys, weights=shares, k=1)[0]
        rep_i = next((i for i, r in enumerate(gen.reps) if r[0] == acc["owner"]), 0)
        j = gen.journey(created, _B2B_SOURCES[src],
                        (1.1, 1.0, 0.9, 1.05, 0.95)[rep_i] * gen.plan_lift(created),
                        _B2B_RATES, 2.5)
        person = gen.person(domain=acc["_domain"], lang=acc["_lang"])
        gen.dirty_contact(person)
        status = ("customer" if j.sold else "qualified" if j.appointment_set
                  else "contacted" if j.contact else "new")
        row = tables["contacts"].add(
            created=created, first_name=person.first, last_name=person.last,
            title=gen.pick(("CEO", "Purchasing manager", "Operations director", "Plant manager",
                            "Office manager", "IT manager", "Sales director", "Buyer")),
            account=acc["id"], email=person.email, phone=person.phone,
            source=gen.v("sources", src),
            channel=gen.v("channels", rng.choice(("email", "phone", "video", "in_person"))),
            owner=acc["owner"], stage=gen.v("lead_statuses", status),
            first_contact=j.contact, appointment_set=j.appointment_set,
            appointment_shown=_date(j.shown), sold=_date(j.sold),
        )
        row["_src"] = src
        contacts.append((row, j))
    twins = gen.twins.setdefault("contacts", [])
    for original, dup in _duplicates(gen, [r for r, _ in contacts], 0.015,
                                     source_list="sources", sources=source_keys):
        dup.update(owner=rng.choice(gen.reps)[0], stage=gen.v("lead_statuses", "new"))
        twins.append((original, tables["contacts"].add(**dup)))
    contact_cols = tables["contacts"].finish("CON", "created")

    open_stages = ("active_request", "request_sent", "agreed_invoiced", "payment_received")
    deals: list[tuple[dict[str, Any], _Journey, str]] = []
    for row, j in contacts:
        if not (j.appointment_set or (j.contact and rng.random() < 0.1)):
            continue
        acc = accounts[int(row["account"].split("-")[1]) - 1]  # ids follow creation order
        amount = round(rng.lognormvariate(math.log(12_000), 0.8) / 100) * 100
        opened = j.appointment_set or j.contact or j.created
        if j.sold:
            stage, close = "delivery", j.sold.date()
            acc["status"] = gen.v("account_statuses", "customer")
        else:
            step = gen.close_lost(j, lost_reasons, competitors, {"lost_to_competitor"}, 2.5)
            if step == "lost":
                stage, close = "lost", (j.shown or j.appointment_set or opened).date() + \
                    dt.timedelta(days=rng.randint(7, 40))
                close = min(close, gen.today - dt.timedelta(days=1))
            else:
                age = (gen.now - opened).days
                stage = ("interested_lead" if step in ("contact", "appointment")
                         else open_stages[min(age // 12, 3)])
                close = max(opened.date() + dt.timedelta(days=rng.randint(30, 90)),
                            gen.today + dt.timedelta(days=rng.randint(3, 45)))
        deal = tables["deals"].add(
            name=f"{acc['name'].split(' ')[0]} {acc['name'].split(' ')[1]}: "
                 f"{rng.choice(products)}",
            account=acc["id"], contact=row["id"], stage=gen.v("stages", stage), amount=amount,
            created=opened.date(), close_date=close, owner=row["owner"],
            source=row["source"],
            lost_reason=gen.v("lost_reasons", str(j.lost_reason)) if stage == "lost" else None,
            competitor=gen.v("competitors", j.competitor) if stage == "lost" and j.competitor
            else None,
            next_step=None if stage in ("delivery", "lost") else gen.pick(
                (ph["send_offer"], ph["follow_up"], ph["confirm_appointment"])),
            _opened=opened,
        )
        deals.append((deal, j, stage))
    deal_cols = tables["deals"].finish("D", "created")

    open_items, closed_items = [], []
    for row, j in contacts:
        cid, owner = row["id"], row["owner"]
        for when, kind in j.attempts:
            tables["activities"].add(
                date=when, type=gen.v("activity_types", "call" if kind == "call" else "email"),
                direction=gen.v("directions", "outbound"), contact=cid, owner=owner,
                subject=ph["attempt_call" if kind == "call" else "attempt_email"])
        if j.contact and rng.random() < 0.95:
            tables["activities"].add(
                date=j.contact, type=gen.v("activity_types", gen.pick(("email", "call"))),
                direction=gen.v("directions", "inbound"), contact=cid, owner=owner,
                subject=ph["reply"])
        if j.appointment_set:
            tables["activities"].add(
                date=j.appointment_set, type=gen.v("activity_types", "email"),
                direction=gen.v("directions", "outbound"), contact=cid, owner=owner,
                subject=ph["meeting_booked"])
        if not j.sold and not j.lost_reason:
            open_items.append((cid, owner, ph["first_call"] if not j.contact
                               else ph["follow_up"], j.contact or j.created))
    for deal, j, stage in deals:
        base = dict(contact=deal["contact"], deal=deal["id"], owner=deal["owner"])
        if j.shown:
            tables["activities"].add(
                date=j.shown, type=gen.v("activity_types", gen.pick(
                    ("meeting", "video", "site_visit"))),
                direction=gen.v("directions", "inbound"), subject=ph["meeting"], **base)
        if stage in ("request_sent", "agreed_invoiced", "payment_received", "delivery"):
            tables["activities"].add(
                date=gen.business_time(deal["_opened"] + dt.timedelta(days=rng.randint(3, 12))),
                type=gen.v("activity_types", "quote"),
                direction=gen.v("directions", "outbound"), subject=ph["quote"], **base)
        if stage in ("agreed_invoiced", "payment_received", "delivery"):
            when = gen.business_time(deal["_opened"] + dt.timedelta(days=rng.randint(12, 24)))
            if when <= gen.now:
                tables["activities"].add(
                    date=when, type=gen.v("activity_types", "invoice"),
                    direction=gen.v("directions", "outbound"), subject=ph["invoice"], **base)
            _documents(gen, tables["documents"], deal, stage)
        if stage not in ("delivery", "lost"):
            open_items.append((deal["id"], deal["owner"], ph["send_offer"], deal["_opened"]))
        else:
            closed_items.append((deal["id"], deal["owner"], ph["follow_up"], deal["_opened"]))
    _tasks(gen, tables["tasks"], open_items, closed_items, "owner", "record")

    _campaigns(gen, tables["campaigns"], contacts)
    _tickets(gen, tables["tickets"], [r for r, j in contacts if j.sold] or
             [r for r, _ in contacts])
    for acc in accounts:
        acc.pop("_lang"), acc.pop("_domain")
    account_cols = tables["accounts"].finish("ACC", None)
    _unowned(gen, contact_cols["owner"])
    return {"accounts": account_cols, "contacts": contact_cols, "deals": deal_cols,
            "activities": tables["activities"].finish("ACT", "date"),
            "tasks": tables["tasks"].finish("T", "due_date"),
            "campaigns": tables["campaigns"].finish("CMP", "start"),
            "tickets": tables["tickets"].finish("TK", "date"),
            "documents": tables["documents"].finish("DOC", "date"), "plans": gen.plans()}


def _documents(gen: _Generator, table: _Table, deal: dict[str, Any], stage: str) -> None:
    """Contract, invoice, payment and delivery papers, as far as the deal has come."""
    steps = ("contract", "invoice", "payment", "delivery")
    reached = {"agreed_invoiced": 2, "payment_received": 3, "delivery": 4}[stage]
    when = deal["created"]
    for i, kind in enumerate(steps[:reached]):
        when = min(when + dt.timedelta(days=gen.rng.randint(2, 12)), gen.today)
        status = {"contract": "signed", "invoice": "paid" if reached > 2 else "sent",
                  "payment": "paid", "delivery": "signed"}[kind]
        table.add(deal=deal["id"], type=gen.v("document_types", kind),
                  number=f"{kind[:3].upper()}-{when.year}-{gen.rng.randint(1, 9999):04d}",
                  date=when, amount=deal["amount"] if kind != "contract" or i == 0 else None,
                  status=gen.v("document_statuses", status))


def _campaigns(gen: _Generator, table: _Table,
               contacts: list[tuple[dict[str, Any], _Journey]]) -> None:
    """A campaign every few weeks; responses are the contacts its source brought meanwhile."""
    rng = gen.rng
    for k in range(8):
        start = gen.start + dt.timedelta(weeks=3 * k + rng.randint(0, 1))
        end = start + dt.timedelta(weeks=rng.randint(2, 4))
        src = rng.choice(["trade_show", "ebook", "paid_search", "cold_outreach", "web_form"])
        responses = sum(1 for r, _ in contacts
                        if r["_src"] == src and start <= r["created"].date() <= end)
        table.add(name=f"{gen.v('sources', src)} {gen.phrases['campaign']} {k + 1}",
                  channel=gen.v("channels", "email" if src != "trade_show" else "in_person"),
                  source=gen.v("sources", src), start=start, end=end,
                  budget=float(rng.choice((1500, 2500, 4000, 8000, 12000))),
                  audience=gen.phrases["audience"], responses=responses)
    for row, _ in contacts:
        row.pop("_src", None)


def _tickets(gen: _Generator, table: _Table, customers: list[dict[str, Any]]) -> None:
    rng, ph = gen.rng, gen.phrases
    for _ in range(max(5, gen.n // 15)):
        who = rng.choice(customers)
        kind = gen.pick(("complaint", "request", "suggestion"), (3, 5, 2))
        opened = max(who["created"].date(), gen.start) + dt.timedelta(days=rng.randint(0, 60))
        opened = min(opened, gen.today - dt.timedelta(days=1))
        closed = opened + dt.timedelta(days=rng.randint(1, 20))
        status = "closed" if closed < gen.today else gen.pick(("open", "in_progress"))
        table.add(date=opened, type=gen.v("ticket_types", kind), contact=who["id"],
                  account=who["account"], subject=ph[f"ticket_{kind}"],
                  status=gen.v("ticket_statuses", status), owner=who["owner"],
                  upsell=kind == "request" and rng.random() < 0.3,
                  closed=closed if status == "closed" else None)


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
    gen = _Generator(schema, leads, seed, today or dt.date.today())
    data = _b2b(gen) if schema.lead_sheet == "contacts" else _dealer(gen)
    reps = [(name, email, territory, True) for name, email, territory in gen.reps]
    baseline_to = gen.start + dt.timedelta(weeks=4, days=-1)
    return DemoData(
        schema=schema, today=gen.today, data=data,
        settings_rows={"reps": reps},
        options={"baseline_from": gen.start, "baseline_to": baseline_to},
        duplicates={sheet: [(a["id"], b["id"]) for a, b in pairs]
                    for sheet, pairs in gen.twins.items()},
    )


def demo(directory: str | Path = "xlcrm-demo", *, preset: str = "dealer", leads: int = 1000,
         seed: int = 7, locale: str = "en", today: dt.date | None = None,
         run_update: bool = True, run_report: bool | None = None) -> Path:
    """Write a populated demo workbook into ``directory`` and return its path.

    The file is ``DIRECTORY/demo-PRESET.xlsx``; an earlier demo of the same name is replaced.
    Unless ``run_update`` is false, the weekly update then fills its Tally, Baseline and
    Dashboard, ``clean`` and ``score`` fill Data quality, Lead scores and RFM, and (unless
    ``run_report`` is false) the weekly report of the last full week is written beside it:
    ``demo-PRESET-report-YYYY-Www.xlsx`` and ``.html``. See
    :func:`generate_demo` for the other arguments.
    """
    data = generate_demo(preset, leads=leads, seed=seed, locale=locale, today=today)
    target = prepare_target(Path(directory) / f"demo-{preset}.xlsx", force=True)
    safe_save(target, lambda tmp: write_new_workbook(
        tmp, data.schema, data.data, options=data.options, settings_rows=data.settings_rows),
        backups=0)
    if run_update:
        from .update import update

        update(target, today=data.today, backups=0)
        from .clean import clean
        from .score import score

        clean(target, today=data.today, backups=0)  # the planted duplicates, listed
        score(target, today=data.today, backups=0)
        if run_report is None or run_report:
            from .report import report

            report(target, target.parent, html=True, today=data.today)
    return target
