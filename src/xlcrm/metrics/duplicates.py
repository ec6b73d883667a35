"""Duplicate people and companies: normalised e-mail and phone, fuzzy names, blocking.

Two records are the same person when they share a way to reach them (the same e-mail once
case, spaces and the provider's ignored dots and ``+tags`` are set aside; the same phone once
written in E.164) and their names agree, or when they work at the same company and their
names agree closely (typos and swapped first and last names allowed) with nothing
contradicting it. Companies are the same when they share a website domain or a phone and
their names agree, or when their names agree closely once the legal form (S.r.l., GmbH, Ltd)
is set aside.

Only records that share a *blocking key* (an e-mail, a phone, a company and the initials of
a name, a company name's leading letters) are compared, so the search grows with the number
of records rather than with its square: 100,000 contacts make a few hundred thousand pairs
to score, not five billion.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import pandas as pd
import phonenumbers
from rapidfuzz import fuzz

__all__ = [
    "DuplicateSearch",
    "Kind",
    "email_domain",
    "find_duplicates",
    "group_pairs",
    "is_free_mail",
    "normalize_company",
    "normalize_email",
    "normalize_name",
    "normalize_phone",
    "valid_email",
]

Kind = Literal["person", "company"]

#: pairs scoring at least this are reported as duplicates
THRESHOLD = 0.8
#: a blocking key shared by more records than this says little (a switchboard, info@...):
#: its records are not compared on that key alone
MAX_BLOCK = 60

# Providers that ignore dots in the local part, and those that ignore a "+tag".
_DOTLESS = frozenset({"gmail.com", "googlemail.com"})
_PLUS_TAGS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
    "outlook.it", "hotmail.it", "live.it", "outlook.es", "hotmail.es", "outlook.de",
    "hotmail.de", "outlook.fr", "hotmail.fr", "hotmail.co.uk", "live.co.uk", "icloud.com",
    "me.com", "mac.com", "fastmail.com", "fastmail.fm", "protonmail.com", "proton.me",
    "pm.me", "posteo.de", "mailbox.org",
})
_ALIAS_DOMAINS = {"googlemail.com": "gmail.com"}
_RUNS = frozenset(run[:n] for run in ("1234567890", "0123456789", "9876543210")
                  for n in range(5, 11))
#: personal mailbox providers: their domain says nothing about the company
FREE_MAIL = frozenset({
    *_PLUS_TAGS, "yahoo.com", "yahoo.co.uk", "yahoo.it", "yahoo.es", "yahoo.fr", "yahoo.de",
    "ymail.com", "aol.com", "gmx.de", "gmx.net", "gmx.com", "web.de", "t-online.de",
    "libero.it", "virgilio.it", "tiscali.it", "alice.it", "tin.it", "email.it", "orange.fr",
    "free.fr", "laposte.net", "sfr.fr", "wanadoo.fr", "telefonica.net", "terra.es",
    "yandex.ru", "mail.ru", "qq.com", "163.com",
})
_EMAIL_RE = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
# Legal forms and filler words a company name is written with or without.
_LEGAL = frozenset({
    "srl", "srls", "spa", "snc", "sas", "sapa", "scarl", "figli", "fratelli", "ltd", "limited",
    "plc", "llp", "llc", "inc", "incorporated", "corp", "corporation", "co", "company",
    "group", "sons", "gmbh", "kg", "ag", "ohg", "ug", "ev", "sarl", "sa", "sl", "slu", "bv",
    "nv", "oy", "ab", "as", "the", "and", "und", "et", "e", "y", "di", "de", "del", "della",
})


# ----- normalisation -----------------------------------------------------------------------
def valid_email(text: str | None) -> bool:
    """Tell whether ``text`` (spaces around it aside) is a well-formed e-mail address."""
    return bool(text) and _EMAIL_RE.fullmatch(str(text).strip()) is not None


def normalize_email(text: str | None) -> str | None:
    """Return the address a mailbox receives, or None when ``text`` is not an address.

    Case and spaces never matter; ``mailto:`` and ``<...>`` are dropped; a ``+tag`` is
    dropped where the provider delivers it to the same mailbox (Gmail, Outlook, iCloud ...),
    and Gmail's dots too (``Mario.Rossi+cars@GoogleMail.com`` is ``mariorossi@gmail.com``).
    """
    if not isinstance(text, str):
        return None
    s = text.strip().strip("<>").strip()
    if s.lower().startswith("mailto:"):
        s = s[7:]
    if not _EMAIL_RE.fullmatch(s):
        return None
    local, _, domain = s.lower().rpartition("@")
    domain = _ALIAS_DOMAINS.get(domain, domain)
    if domain in _PLUS_TAGS:
        local = local.split("+", 1)[0]
    if domain in _DOTLESS:
        local = local.replace(".", "")
    return f"{local}@{domain}" if local else None


def email_domain(text: str | None) -> str | None:
    """Return the domain of an e-mail address (``acme.it``), or None when it isn't one."""
    normal = normalize_email(text)
    return normal.rpartition("@")[2] if normal else None


def is_free_mail(domain: str | None) -> bool:
    """Tell whether a domain is a personal mailbox provider rather than a company's."""
    return bool(domain) and domain in FREE_MAIL


@lru_cache(maxsize=1 << 18)
def normalize_phone(text: str | None, region: str = "US") -> str | None:
    """Return a phone number in E.164 (``+393471234567``), or None when it can't be one.

    A number without a country code is read as one of ``region`` (ISO country code, the
    Settings option *Default phone region*); ``00`` works as ``+``. A number is kept when its
    length is possible for its country, whatever its formatting (spaces, dots, dashes,
    brackets, ``tel:``).
    """
    if not isinstance(text, str) or sum(ch.isdigit() for ch in text) < 5:
        return None
    s = text.strip()
    if s.lower().startswith("tel:"):
        s = s[4:]
    s = re.sub(r"^\s*00(?=[1-9])", "+", s)
    try:
        number = phonenumbers.parse(s, (region or "US").upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    national = str(number.national_number)
    if len(set(national)) == 1 or national in _RUNS:
        return None  # a placeholder such as 0000000000 or 123456789: nobody's number
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[^a-z0-9]+", " ", plain.replace("ß", "ss")).strip()


def normalize_name(*parts: str | None) -> str:
    """Return a person's name as sorted lowercase words without accents or punctuation.

    Sorting makes ``Rossi Mario`` and ``Mario ROSSI`` the same.
    """
    words = _plain(" ".join(p for p in parts if isinstance(p, str))).split()
    return " ".join(sorted(words))


def normalize_company(text: str | None) -> str:
    """Return a company name without case, accents, punctuation and legal form.

    ``Rossi Meccanica S.r.l.`` and ``ROSSI MECCANICA srl`` both become ``rossi meccanica``.
    """
    if not isinstance(text, str):
        return ""
    s = re.sub(r"\b([a-z])\.(?=[a-z]\.)", r"\1", text.casefold())  # S.r.l. -> srl
    s = s.replace(".", "")
    words = [w for w in _plain(s).split() if w not in _LEGAL]
    return " ".join(words)


def _domain_of_url(text: str | None) -> str | None:
    if not isinstance(text, str) or not text.strip():
        return None
    s = re.sub(r"^[a-z]+://", "", text.strip().lower())
    s = s.split("/", 1)[0].split(":", 1)[0]
    if s.startswith("www."):
        s = s[4:]
    return s if "." in s else None


# ----- the search --------------------------------------------------------------------------
@dataclass
class DuplicateSearch:
    """What :func:`find_duplicates` found.

    Attributes:
        pairs: one row per pair of records judged the same: ``a`` and ``b`` (ids, ``a`` the
            older), ``score`` (0-1) and ``reason``; sorted by score, best first.
        compared: how many candidate pairs the blocking produced and were scored.
        records: how many records were searched.
    """

    pairs: pd.DataFrame
    compared: int
    records: int


@dataclass
class _Prepared:
    ids: list[str]
    names: list[str]
    emails: list[str | None]
    phones: list[str | None]
    context: list[set[str]]  # company evidence: domains, account ids, company names


def _prepare(records: pd.DataFrame, kind: Kind, region: str) -> _Prepared:
    n = len(records)

    def col(name: str) -> list[Any]:
        return records[name].tolist() if name in records else [None] * n

    ids = [str(v) for v in col("id")]
    phones = [normalize_phone(p, region) if isinstance(p, str) else None
              for p in col("phone")]
    emails: list[str | None]
    context: list[set[str]] = [set() for _ in range(n)]
    if kind == "person":
        names = [normalize_name(f, la) for f, la in zip(col("first_name"), col("last_name"))]
        emails = [normalize_email(e) if isinstance(e, str) else None for e in col("email")]
        for i, (email, account, company) in enumerate(zip(emails, col("account"),
                                                          col("company"))):
            domain = email.rpartition("@")[2] if email else None
            if domain and not is_free_mail(domain):
                context[i].add("d:" + domain)
            if isinstance(account, str) and account.strip():
                context[i].add("a:" + account.strip())
            company_key = normalize_company(company) if isinstance(company, str) else ""
            if company_key:
                context[i].add("c:" + company_key)
    else:
        names = [normalize_company(v) for v in col("name")]
        emails = [_domain_of_url(w) for w in col("website")]  # the website plays the e-mail
        for i, city in enumerate(col("city")):
            if isinstance(city, str) and _plain(city):
                context[i].add("t:" + _plain(city))
    return _Prepared(ids, names, emails, phones, context)


def _blocks(p: _Prepared, kind: Kind) -> dict[str, list[int]]:
    blocks: dict[str, list[int]] = defaultdict(list)
    for i in range(len(p.ids)):
        keys: set[str] = set()
        if p.emails[i]:
            keys.add("e:" + str(p.emails[i]))
        if p.phones[i]:
            keys.add("p:" + str(p.phones[i]))
        words = p.names[i].split()
        if kind == "person":
            # people at one company whose names start alike (sorted words: swaps don't matter)
            initials = "".join(w[0] for w in words[:3])
            for ctx in p.context[i]:
                keys.add(f"n:{ctx}|{initials}")
        elif words:
            # companies whose two leading words (in either order) start with the same letters
            heads = sorted(w[:3] for w in words[:2])
            keys.add("c:" + "|".join(heads))
            keys.add("c1:" + words[0][:5] + "|" + (words[1][:1] if len(words) > 1 else ""))
        for key in keys:
            blocks[key].append(i)
    return blocks


def _candidates(blocks: dict[str, list[int]]) -> set[tuple[int, int]]:
    pairs: set[tuple[int, int]] = set()
    for members in blocks.values():
        if len(members) < 2 or len(members) > MAX_BLOCK:
            continue
        for x in range(len(members)):
            a = members[x]
            for b in members[x + 1:]:
                pairs.add((a, b) if a < b else (b, a))
    return pairs


def _score(p: _Prepared, a: int, b: int, kind: Kind) -> tuple[float, str]:
    """Score one candidate pair (0-1) and say why, in words a person checks quickly."""
    name_a, name_b = p.names[a], p.names[b]
    name = fuzz.token_sort_ratio(name_a, name_b) / 100 if name_a and name_b else 0.5
    reasons: list[str] = []
    same_email = p.emails[a] is not None and p.emails[a] == p.emails[b]
    same_phone = p.phones[a] is not None and p.phones[a] == p.phones[b]
    what = "e-mail" if kind == "person" else "website"
    score = 0.0
    if same_email and same_phone:
        score = 0.85 + 0.15 * name
        reasons += [f"same {what}", "same phone"]
    elif same_email:  # a shared mailbox (a family's, an office's) needs names that agree
        score = 0.6 + 0.4 * name
        reasons.append(f"same {what} {p.emails[a]}")
    elif same_phone:  # a switchboard is shared by people with other names
        score = 0.45 + 0.5 * name
        reasons.append(f"same phone {p.phones[a]}")
    shared = p.context[a] & p.context[b]
    if kind == "person" and shared:
        reasons.append(_context_words(shared))
    if not (same_email or same_phone):
        if kind == "person":  # every word alike too: Lena and Leon Schmidt are two people
            alike = name >= 0.9 and bool(shared) and _weakest_word(name_a, name_b) >= 0.8
        elif shared:  # companies in the same town
            alike = name >= 0.9
            reasons.append("same town")
        else:  # a town differs or is missing: only near-identical names
            alike = name >= 0.97 and not (p.context[a] and p.context[b])
        if alike:
            score = 0.9 * name + (0.05 if kind == "person" else 0.0)
            if p.emails[a] and p.emails[b]:
                score -= 0.3  # two different addresses (websites): likely two people
            if p.phones[a] and p.phones[b]:
                score -= 0.2
    if name_a and name_b:
        reasons.append("same name" if name_a == name_b else f"names {name:.0%} alike")
    return max(0.0, min(score, 1.0)), "; ".join(reasons)


def _weakest_word(a: str, b: str) -> float:
    """How alike the least alike word of one name is to its best match in the other (0-1)."""
    words_a, words_b = a.split(), b.split()
    if len(words_a) > len(words_b):
        words_a, words_b = words_b, words_a
    if not words_a:
        return 0.0
    return min(max(fuzz.ratio(w, v) for v in words_b) for w in words_a) / 100


def _context_words(shared: set[str]) -> str:
    kinds = sorted(shared)
    first = kinds[0]
    if first.startswith("a:"):
        return f"same account {first[2:]}"
    if first.startswith("c:"):
        return "same company"
    return f"same company domain {first[2:]}"


def find_duplicates(records: pd.DataFrame, *, kind: Kind = "person", region: str = "US",
                    threshold: float = THRESHOLD) -> DuplicateSearch:
    """Find the records that are the same person (or company) entered more than once.

    Args:
        records: one row per record, with an ``id`` column and, for people, ``first_name``,
            ``last_name``, ``email``, ``phone`` and optionally ``account`` (an id) and
            ``company`` (a name); for companies, ``name``, ``website`` and ``phone``. Rows
            are taken oldest first: ``a`` in each pair is the one that comes first.
        kind: ``person`` or ``company``.
        region: ISO country whose numbers need no country code (Settings' phone region).
        threshold: the lowest score reported.

    Returns:
        The pairs scoring at least ``threshold``, with the number of pairs compared.
    """
    p = _prepare(records, kind, region)
    candidates = _candidates(_blocks(p, kind))
    rows = []
    for a, b in sorted(candidates):
        score, reason = _score(p, a, b, kind)
        if score >= threshold:
            rows.append((p.ids[a], p.ids[b], round(score, 3), reason))
    pairs = pd.DataFrame(rows, columns=["a", "b", "score", "reason"])
    pairs = pairs.sort_values(["score", "a", "b"], ascending=[False, True, True],
                              ignore_index=True)
    return DuplicateSearch(pairs, len(candidates), len(p.ids))


def group_pairs(pairs: pd.DataFrame, order: Sequence[str] | None = None) -> list[list[str]]:
    """Join pairs into groups of records that are all one (a with b, b with c: a, b, c).

    Each group lists its ids in ``order`` (oldest first) when given, else as found; groups
    come in the order of their first record.
    """
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(pairs["a"], pairs["b"]):
        ra, rb = find(str(a)), find(str(b))
        if ra != rb:
            parent[rb] = ra
    groups: dict[str, list[str]] = defaultdict(list)
    for x in list(parent):
        groups[find(x)].append(x)
    rank = {v: i for i, v in enumerate(order or [])}
    out = [sorted(g, key=lambda v: (rank.get(v, len(rank)), v)) for g in groups.values()]
    return sorted(out, key=lambda g: (rank.get(g[0], len(rank)), g[0]))


def pairs_within(groups: Iterable[Sequence[str]]) -> set[tuple[str, str]]:
    """Every unordered pair inside the groups (for precision and recall)."""
    out: set[tuple[str, str]] = set()
    for g in groups:
        for i, a in enumerate(g):
            for b in g[i + 1:]:
                out.add((a, b) if a < b else (b, a))
    return out
