"""The B2B demo: accounts and their contacts, deals, activities, tasks, campaigns, tickets and
documents, on a slower sales cycle than the dealer's."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from .consent import add_consent
from .dirt import dirty_contact, duplicate_accounts, duplicate_people
from .generator import (
    Generator,
    Journey,
    Table,
    as_date,
    ascii_key,
    leave_unowned,
    make_id,
    plan_tasks,
)

__all__ = ["simulate"]

# Lead sources: share of leads, and how likely each step is compared with the average.
# (share, contact, appointment|contact, show|appointment, sale|show)
_B2B_SOURCES = {
    "web_form": (0.26, 0.50, 1.00, 1.00, 1.00),
    "trade_show": (0.18, 0.55, 1.10, 1.05, 1.00),
    "ebook": (0.16, 0.30, 0.70, 0.90, 0.80),
    "referral": (0.08, 0.75, 1.30, 1.10, 1.30),
    "cold_outreach": (0.14, 0.22, 0.80, 0.85, 0.80),
    "paid_search": (0.12, 0.45, 0.95, 1.00, 0.95),
    "partner": (0.06, 0.65, 1.20, 1.05, 1.15),
}
# Average step rates (contact, appointment, show, sale), on a slower cycle than the dealer's.
_B2B_RATES = (0.95, 0.45, 0.72, 0.38)


def simulate(gen: Generator) -> dict[str, dict[str, list[Any]]]:
    """Return the columns of every B2B data sheet, and of Plans, for one demo."""
    s, rng, ph = gen.schema, gen.rng, gen.phrases
    tables = {sheet.key: Table([c.key for c in sheet.columns]) for sheet in s.data_sheets}
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
            id=make_id("ACC", i + 1), name=name,
            industry=gen.v("industries", rng.choice([r for r in s.settings_list(
                "industries").item_keys])),
            company_size=rng.choice(s.settings_list("company_sizes").items),
            territory=territory, owner=rep_by_territory.get(territory, gen.reps[0][0]),
            status=gen.v("account_statuses", "prospect"),
            website=f"https://www.{ascii_key(last)}{ascii_key(word)}{pool['tld']}",
            phone=gen.phone(lang), city=rng.choice(pool["cities"]), country=pool["country"],
            created=gen.start - dt.timedelta(days=rng.randint(0, 900)),
        )
        acc["_lang"], acc["_domain"] = lang, f"{ascii_key(last)}{ascii_key(word)}{pool['tld']}"
        if i > 5 and rng.random() < 0.1:
            parent = accounts[rng.randrange(i)]
            acc["parent"] = parent["id"]
            acc["territory"] = parent["territory"] if rng.random() < 0.9 else territory
        accounts.append(acc)
    duplicate_accounts(gen, tables["accounts"], accounts)

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
    products = gen.phrases["products"]
    contacts: list[tuple[dict[str, Any], Journey]] = []
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
        dirty_contact(gen, person)
        status = ("customer" if j.sold else "qualified" if j.appointment_set
                  else "contacted" if j.contact else "new")
        row = tables["contacts"].add(
            created=created, first_name=person.first, last_name=person.last,
            title=gen.pick(tuple(gen.phrases["job_titles"])),
            account=acc["id"], email=person.email, phone=person.phone,
            source=gen.v("sources", src),
            channel=gen.v("channels", rng.choice(("email", "phone", "video", "in_person"))),
            owner=acc["owner"], stage=gen.v("lead_statuses", status),
            first_contact=j.contact, appointment_set=j.appointment_set,
            appointment_shown=as_date(j.shown), sold=as_date(j.sold),
        )
        row["_src"] = src
        contacts.append((row, j))
    twins = gen.twins.setdefault("contacts", [])
    for original, dup in duplicate_people(gen, [r for r, _ in contacts], 0.015,
                                          source_list="sources", sources=source_keys):
        dup.update(owner=rng.choice(gen.reps)[0], stage=gen.v("lead_statuses", "new"))
        twins.append((original, tables["contacts"].add(**dup)))
    contact_cols = tables["contacts"].finish("CON", "created")
    add_consent(contact_cols, gen.phrases)

    open_stages = ("active_request", "request_sent", "agreed_invoiced", "payment_received")
    deals: list[tuple[dict[str, Any], Journey, str]] = []
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
    plan_tasks(gen, tables["tasks"], open_items, closed_items, "owner", "record")

    _campaigns(gen, tables["campaigns"], contacts)
    _tickets(gen, tables["tickets"], [r for r, j in contacts if j.sold] or
             [r for r, _ in contacts])
    for acc in accounts:
        acc.pop("_lang"), acc.pop("_domain")
    account_cols = tables["accounts"].finish("ACC", None)
    leave_unowned(gen, contact_cols["owner"])
    return {"accounts": account_cols, "contacts": contact_cols, "deals": deal_cols,
            "activities": tables["activities"].finish("ACT", "date"),
            "tasks": tables["tasks"].finish("T", "due_date"),
            "campaigns": tables["campaigns"].finish("CMP", "start"),
            "tickets": tables["tickets"].finish("TK", "date"),
            "documents": tables["documents"].finish("DOC", "date"), "plans": gen.plans()}


def _documents(gen: Generator, table: Table, deal: dict[str, Any], stage: str) -> None:
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


def _campaigns(gen: Generator, table: Table,
               contacts: list[tuple[dict[str, Any], Journey]]) -> None:
    """A campaign every few weeks; responses are the contacts its source brought meanwhile."""
    rng = gen.rng
    for k in range(8):
        start = gen.start + dt.timedelta(weeks=3 * k + rng.randint(0, 1))
        end = start + dt.timedelta(weeks=rng.randint(2, 4))
        src = rng.choice(["trade_show", "ebook", "paid_search", "cold_outreach", "web_form"])
        responses = sum(1 for r, _ in contacts
                        if r["_src"] == src and start <= r["created"].date() <= end)
        name = gen.phrases["campaign"].format(source=gen.v("sources", src), number=k + 1)
        table.add(name=name,
                  channel=gen.v("channels", "email" if src != "trade_show" else "in_person"),
                  source=gen.v("sources", src), start=start, end=end,
                  budget=float(rng.choice((1500, 2500, 4000, 8000, 12000))),
                  audience=gen.phrases["audience"], responses=responses)
    for row, _ in contacts:
        row.pop("_src", None)


def _tickets(gen: Generator, table: Table, customers: list[dict[str, Any]]) -> None:
    """Service tickets of customers: complaints, requests (some an upsell), suggestions."""
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
