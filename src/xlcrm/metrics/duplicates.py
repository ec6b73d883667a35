"""Duplicate people and companies: the keys of :mod:`.identity`, fuzzy names, blocking.

People are the same by the rule written in :mod:`xlcrm.metrics.identity`: a shared mailbox
key or E.164 phone with names that agree, or the same company and names that agree closely
(typos and swapped first and last names allowed) with nothing contradicting it. Companies are
the same when they share a website domain or a phone and their names agree, or when their
names agree closely once the legal form (S.r.l., GmbH, Ltd) is set aside.

Only records that share a *blocking key* (an e-mail, a phone, a company and the initials of
a name, a company name's leading letters) are compared, so the search grows with the number
of records rather than with its square: 100,000 contacts make a few hundred thousand pairs
to score, not five billion.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
from rapidfuzz import fuzz

from .identity import company_key, email_key, fold_text, is_free_mail, name_key, phone_key

__all__ = [
    "DuplicateSearch",
    "Kind",
    "find_duplicates",
    "group_pairs",
    "pairs_within",
]

Kind = Literal["person", "company"]

#: pairs scoring at least this are reported as duplicates
THRESHOLD = 0.8
#: a blocking key shared by more records than this says little (a switchboard, info@...):
#: its records are not compared on that key alone
MAX_BLOCK = 60


# ----- websites ----------------------------------------------------------------------------
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
    phones = [phone_key(p, region) if isinstance(p, str) else None
              for p in col("phone")]
    emails: list[str | None]
    context: list[set[str]] = [set() for _ in range(n)]
    if kind == "person":
        names = [name_key(f, la) for f, la in zip(col("first_name"), col("last_name"))]
        emails = [email_key(e) if isinstance(e, str) else None for e in col("email")]
        for i, (email, account, company) in enumerate(zip(emails, col("account"),
                                                          col("company"))):
            domain = email.rpartition("@")[2] if email else None
            if domain and not is_free_mail(domain):
                context[i].add("d:" + domain)
            if isinstance(account, str) and account.strip():
                context[i].add("a:" + account.strip())
            firm = company_key(company) if isinstance(company, str) else ""
            if firm:
                context[i].add("c:" + firm)
    else:
        names = [company_key(v) for v in col("name")]
        emails = [_domain_of_url(w) for w in col("website")]  # the website plays the e-mail
        for i, city in enumerate(col("city")):
            if isinstance(city, str) and fold_text(city):
                context[i].add("t:" + fold_text(city))
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


#: each reason in English, by its key in the locale files' ``[owned]`` section
REASONS = {
    "quality_reason_same_email": "same e-mail", "quality_reason_same_website": "same website",
    "quality_reason_same_email_value": "same e-mail {value}",
    "quality_reason_same_website_value": "same website {value}",
    "quality_reason_same_phone": "same phone",
    "quality_reason_same_phone_value": "same phone {value}",
    "quality_reason_same_account": "same account {value}",
    "quality_reason_same_company": "same company",
    "quality_reason_same_domain": "same company domain {value}",
    "quality_reason_same_town": "same town", "quality_reason_same_name": "same name",
    "quality_reason_names_alike": "names {percent} alike",
}


def _say(words: Mapping[str, str] | None, key: str, **values: Any) -> str:
    return ((words or {}).get(key) or REASONS[key]).format(**values)


def _score(p: _Prepared, a: int, b: int, kind: Kind,
           words: Mapping[str, str] | None = None) -> tuple[float, str]:
    """Score one candidate pair (0-1) and say why, in words a person checks quickly (English,
    or ``words``: the workbook language's ``quality_reason_*`` words)."""
    name_a, name_b = p.names[a], p.names[b]
    name = fuzz.token_sort_ratio(name_a, name_b) / 100 if name_a and name_b else 0.5
    reasons: list[str] = []
    same_email = p.emails[a] is not None and p.emails[a] == p.emails[b]
    same_phone = p.phones[a] is not None and p.phones[a] == p.phones[b]
    what = "email" if kind == "person" else "website"
    score = 0.0
    if same_email and same_phone:
        score = 0.85 + 0.15 * name
        reasons += [_say(words, f"quality_reason_same_{what}"),
                    _say(words, "quality_reason_same_phone")]
    elif same_email:  # a shared mailbox (a family's, an office's) needs names that agree
        score = 0.6 + 0.4 * name
        reasons.append(_say(words, f"quality_reason_same_{what}_value", value=p.emails[a]))
    elif same_phone:  # a switchboard is shared by people with other names
        score = 0.45 + 0.5 * name
        reasons.append(_say(words, "quality_reason_same_phone_value", value=p.phones[a]))
    shared = p.context[a] & p.context[b]
    if kind == "person" and shared:
        reasons.append(_context_words(shared, words))
    if not (same_email or same_phone):
        if kind == "person":  # every word alike too: Lena and Leon Schmidt are two people
            alike = name >= 0.9 and bool(shared) and _weakest_word(name_a, name_b) >= 0.8
        elif shared:  # companies in the same town
            alike = name >= 0.9
            reasons.append(_say(words, "quality_reason_same_town"))
        else:  # a town differs or is missing: only near-identical names
            alike = name >= 0.97 and not (p.context[a] and p.context[b])
        if alike:
            score = 0.9 * name + (0.05 if kind == "person" else 0.0)
            if p.emails[a] and p.emails[b]:
                score -= 0.3  # two different addresses (websites): likely two people
            if p.phones[a] and p.phones[b]:
                score -= 0.2
    if name_a and name_b:
        reasons.append(_say(words, "quality_reason_same_name") if name_a == name_b
                       else _say(words, "quality_reason_names_alike", percent=f"{name:.0%}"))
    return max(0.0, min(score, 1.0)), "; ".join(reasons)


def _weakest_word(a: str, b: str) -> float:
    """How alike the least alike word of one name is to its best match in the other (0-1)."""
    words_a, words_b = a.split(), b.split()
    if len(words_a) > len(words_b):
        words_a, words_b = words_b, words_a
    if not words_a:
        return 0.0
    return min(max(fuzz.ratio(w, v) for v in words_b) for w in words_a) / 100


def _context_words(shared: set[str], words: Mapping[str, str] | None = None) -> str:
    kinds = sorted(shared)
    first = kinds[0]
    if first.startswith("a:"):
        return _say(words, "quality_reason_same_account", value=first[2:])
    if first.startswith("c:"):
        return _say(words, "quality_reason_same_company")
    return _say(words, "quality_reason_same_domain", value=first[2:])


def find_duplicates(records: pd.DataFrame, *, kind: Kind = "person", region: str = "US",
                    threshold: float = THRESHOLD,
                    words: Mapping[str, str] | None = None) -> DuplicateSearch:
    """Find the records that are the same person (or company) entered more than once.

    Args:
        records: one row per record, with an ``id`` column and, for people, ``first_name``,
            ``last_name``, ``email``, ``phone`` and optionally ``account`` (an id) and
            ``company`` (a name); for companies, ``name``, ``website`` and ``phone``. Rows
            are taken oldest first: ``a`` in each pair is the one that comes first.
        kind: ``person`` or ``company``.
        region: ISO country whose numbers need no country code (Settings' phone region).
        threshold: the lowest score reported.
        words: the reasons' words in the workbook's language (``quality_reason_*`` of the
            locale file's ``[owned]``); English when None.

    Returns:
        The pairs scoring at least ``threshold``, with the number of pairs compared.
    """
    p = _prepare(records, kind, region)
    candidates = _candidates(_blocks(p, kind))
    rows = []
    for a, b in sorted(candidates):
        score, reason = _score(p, a, b, kind, words)
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
