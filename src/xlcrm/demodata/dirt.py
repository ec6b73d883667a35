"""Dirt for the clean-up tools: records spoilt and entered twice the way hand entry does it.

A few contacts lose their e-mail or get a bad phone number (:func:`dirty_contact`); some people
and companies are entered a second time with a typo, the names swapped, the e-mail in capitals
or the phone written another way (:func:`duplicate_people`, :func:`duplicate_accounts`). The
generator remembers each planted pair, so tests know which duplicates ``clean`` must find.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from .generator import Generator, Person, Table, make_id

__all__ = ["dirty_contact", "duplicate_accounts", "duplicate_people"]


def _typo(gen: Generator, text: str) -> str:
    """Misspell a word as fast typing does: two letters swapped or one dropped, or the case."""
    if len(text) < 4:
        return text.upper()
    i = gen.rng.randrange(1, len(text) - 2)
    kind = gen.rng.random()
    if kind < 0.4:
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if kind < 0.7:
        return text[:i] + text[i + 1:]
    return text.lower() if kind < 0.85 else text.upper()


def _email_variant(gen: Generator, email: str | None) -> str | None:
    """The same mailbox written another way: capitals, a Gmail tag, spaces around, or left out."""
    if not email or gen.rng.random() < 0.25:
        return None
    local, _, domain = email.partition("@")
    kind = gen.rng.random()
    if kind < 0.4:
        return email.upper() if gen.rng.random() < 0.5 else email.capitalize()
    if kind < 0.7 and domain == "gmail.com":
        return f"{local.replace('.', '')}+cars@{domain}"
    return f" {email} "


def _phone_variant(gen: Generator, phone: str | None) -> str | None:
    """The same number written another way (or left out)."""
    if not phone:
        return phone
    r = gen.rng.random()
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


def dirty_contact(gen: Generator, person: Person) -> None:
    """Spoil a few records the way hand entry does."""
    r = gen.rng.random()
    if r < 0.05:
        person.email = None
    elif r < 0.06:
        person.email = person.phone = None
    elif r < 0.067:
        person.phone = gen.pick(("12345", "347-12", "n/a", "0000000000"))
    elif r < 0.071 and person.email:
        person.email = person.email.replace("@", "@@") if r < 0.069 else \
            person.email.rsplit(".", 1)[0]


def duplicate_people(gen: Generator, rows: list[dict[str, Any]], share: float, *,
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
            last = _typo(gen, last)
        elif r < 0.6:
            first = _typo(gen, first)
        elif r < 0.75:
            first, last = last, first  # typed into the wrong boxes
        elif r < 0.85:
            first, last = first.upper(), last.upper()
        copy["first_name"], copy["last_name"] = first or None, last
        copy["email"] = _email_variant(gen, original.get("email"))
        copy["phone"] = _phone_variant(gen, original.get("phone"))
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


def duplicate_accounts(gen: Generator, table: Table,
                       accounts: list[dict[str, Any]]) -> None:
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
            head[1] = _typo(gen, head[1])
        else:
            head = [w.upper() for w in head]
        website = original["website"]
        r = rng.random()
        if r < 0.3:
            website = None
        elif r < 0.6:
            website = str(website).replace("https://www.", "http://")
        copy = table.add(**{k: v for k, v in original.items() if k not in ("id", "parent")})
        copy.update(id=make_id("ACC", len(accounts) + 1), name=" ".join(head + [form]).strip(),
                    website=website, phone=_phone_variant(gen, original["phone"]),
                    created=original["created"] + dt.timedelta(days=rng.randint(1, 300)),
                    status=gen.v("account_statuses", "prospect"))
        accounts.append(copy)
        twins.append((original, copy))
