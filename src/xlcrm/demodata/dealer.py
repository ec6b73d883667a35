"""The dealer demo: a car dealership's leads, their activities and follow-up tasks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .consent import add_consent
from .dirt import dirty_contact, duplicate_people
from .generator import Generator, Journey, Table, as_date, leave_unowned, plan_tasks

__all__ = ["simulate"]

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
# Average step rates: roughly half contacted, a fifth book, two thirds show, two fifths of
# shows buy.
_DEALER_RATES = (1.0, 0.40, 0.68, 0.40)
_CHANNEL_BY_SOURCE = {
    "dealer_website": ("web_form", "chat"), "listing_portal": ("web_form", "email"),
    "manufacturer_site": ("web_form",), "social_ads": ("web_form",), "phone_in": ("phone",),
    "walk_in": ("in_person",), "referral": ("phone", "email"), "trade_show": ("in_person",),
    "web_form": ("web_form",), "ebook": ("email",), "cold_outreach": ("email", "phone"),
    "paid_search": ("web_form",), "partner": ("email", "phone"),
}
_REPLY_TYPE = {"web_form": "email", "chat": "chat", "email": "email", "phone": "call",
               "in_person": "call", "sms": "sms", "video": "video"}


def simulate(gen: Generator) -> dict[str, dict[str, list[Any]]]:
    """Return the columns of every dealer data sheet, and of Plans, for one demo."""
    s, rng, ph = gen.schema, gen.rng, gen.phrases
    leads = Table([c.key for c in s.sheet("leads").columns])
    acts = Table([c.key for c in s.sheet("activities").columns])
    tasks = Table([c.key for c in s.sheet("tasks").columns])
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
    journeys: list[tuple[dict[str, Any], Journey]] = []
    for created in created_times:
        src_i = rng.choices(range(len(source_keys)), weights=shares, k=1)[0]
        src = source_keys[src_i]
        rep_i = rng.randrange(len(gen.reps))
        j = gen.journey(created, _DEALER_SOURCES[src], skills[rep_i] * gen.plan_lift(created),
                        _DEALER_RATES, 1.0)
        person = gen.person()
        if src in ("walk_in", "phone_in") and rng.random() < 0.4:
            person.email = None
        dirty_contact(gen, person)
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
            appointment_date=j.appointment_date, appointment_shown=as_date(j.shown),
            sold=as_date(j.sold), amount=amount,
            lost_reason=gen.v("lost_reasons", j.lost_reason) if j.lost_reason else None,
            competitor=gen.v("competitors", j.competitor) if j.competitor else None,
        )
        journeys.append((row, j))
    twins = gen.twins.setdefault("leads", [])
    for original, dup in duplicate_people(gen, leads.rows, 0.015, source_list="sources",
                                          sources=source_keys):
        dup.update(rep=rng.choice(gen.reps)[0], stage=gen.v("stages", "new"),
                   trade_in=False, vehicle_condition=gen.v("vehicle_conditions", "used"))
        twins.append((original, leads.add(**dup)))
    lead_cols = leads.finish("L", "created")
    add_consent(lead_cols, gen.phrases)

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
    plan_tasks(gen, tasks, open_items, closed_items, "rep", "record")
    leave_unowned(gen, lead_cols["rep"])
    return {"leads": lead_cols, "plans": gen.plans(), "activities": acts.finish("ACT", "date"),
            "tasks": tasks.finish("T", "due_date")}
