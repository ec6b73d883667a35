"""Match a file's column headers to a sheet's columns: by label, alias, saved choice or likeness.

The labels and aliases of every shipped language come first, then fuzzy matching
(``rapidfuzz``) with a confidence; a "Name" column with no first-name column is split into first
and last name. The import of a lead file and the adoption of a team's own sheet share this.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, process

from ..schema import Sheet, normalize_header

__all__ = ["FUZZY_CUTOFF", "SURNAME_PARTICLES", "ColumnMatch", "match_columns", "put_full_name",
           "split_name"]

FUZZY_CUTOFF = 80  # rapidfuzz score (0-100) below which a header is left unmapped
#: headers this short are never guessed, nor guessed to be names this short: "Nom" is 80%
#: like "no" (an id), "Città" 89% like "cita" (an appointment)
_FUZZY_MIN = 4
_FULL_NAME = frozenset(normalize_header(h) for h in (
    "name", "full name", "fullname", "contact name", "contact", "nome", "nome e cognome",
    "nominativo", "nome completo", "customer", "cliente", "client name", "lead name",
    "név", "teljes név", "ügyfél", "ügyfél neve", "фио", "ф.и.о.", "клиент", "имя клиента",
    "аты-жөнү", "аты жөнү", "кардар", "kunde", "kundenname", "vollständiger name",
    "nom", "nom complet", "client", "nom du client", "nombre completo", "nombre y apellidos"))
#: headers that mean a column only in a file of people to import, not in the workbook itself
#: (a bare "Date" on a lead list is when the lead came in)
_IMPORT_ALIASES = {normalize_header(h): key for h, key in (
    ("date", "created"), ("data", "created"), ("datum", "created"), ("fecha", "created"),
    ("comments", "notes"), ("commenti", "notes"), ("remarks", "notes"))}


@dataclass(frozen=True)
class ColumnMatch:
    """How one header of the file was matched to a column of the sheet."""

    header: str
    column: str | None
    confidence: float
    how: str  # label, fuzzy, saved, full name, export, unmapped

    def __str__(self) -> str:
        target = self.column or "(not imported)"
        return f'"{self.header}" -> {target} ({self.how}, {self.confidence:.0%})'


def match_columns(header: Iterable[str], sheet: Sheet, names: dict[str, str],
                  saved: dict[str, str | None] | None = None) -> list[ColumnMatch]:
    """Propose the column of the sheet for each header of a file, with a confidence.

    A ``saved`` choice (header -> column, from a mapping file) is used as it is; its
    confidence is the one matching would give it now, or 100% when a person changed it in
    the file (a choice of theirs is certain), so a fuzzy guess saved once is not shown as sure.
    """
    keys = {c.key for c in sheet.columns}
    header = list(header)
    fresh = {m.header: m for m in match_columns(header, sheet, names)} if saved else {}
    matches: list[ColumnMatch] = []
    taken: set[str] = set()
    for h in header:
        n = normalize_header(h)
        if saved is not None and h in saved:
            key = saved[h]
            key = key if key in keys or key == "full_name" else None
            guess = fresh.get(h)
            sure = guess.confidence if guess is not None and guess.column == key else 1.0
            matches.append(ColumnMatch(h, key, sure if key else 0.0, "saved"))
        elif n in names and names[n] in keys and names[n] not in taken:
            matches.append(ColumnMatch(h, names[n], 1.0, "label"))
        elif _IMPORT_ALIASES.get(n) in keys and _IMPORT_ALIASES[n] not in taken:
            matches.append(ColumnMatch(h, _IMPORT_ALIASES[n], 1.0, "label"))
        else:
            matches.append(ColumnMatch(h, None, 0.0, "unmapped"))
        if matches[-1].column:
            taken.add(matches[-1].column)
    has_first = "first_name" in taken
    if has_first and "last_name" not in taken and any(c.key == "last_name" for c in
                                                      sheet.columns):
        # one name column and no surname column ("Nombre", "Имя"): it holds the whole name
        matches = [ColumnMatch(m.header, "full_name", m.confidence, "full name")
                   if m.column == "first_name" and m.how != "saved" else m for m in matches]
        has_first = any(m.column == "first_name" for m in matches)
    out: list[ColumnMatch] = []
    for m in matches:
        n = normalize_header(m.header)
        full = (m.how != "saved" and not has_first and n in _FULL_NAME
                and m.column in (None, "last_name"))
        if full and not any(x.column == "last_name" and x is not m for x in matches):
            m = ColumnMatch(m.header, "full_name", 1.0, "full name")
        if m.column is None and m.how == "unmapped" and len(n) >= _FUZZY_MIN:
            pool = {k: v for k, v in names.items()
                    if v in keys and v not in taken and len(k) > _FUZZY_MIN}
            found = process.extractOne(n, list(pool), scorer=fuzz.ratio,
                                       score_cutoff=FUZZY_CUTOFF)
            if found is not None:
                m = ColumnMatch(m.header, pool[found[0]], round(found[1] / 100, 2), "fuzzy")
                taken.add(pool[found[0]])
        out.append(m)
    return out


#: words that begin a surname ("Anna Maria De Luca", "Ludwig van der Berg", "Omar bin Said"):
#: the surname is the first of them after the first name and everything that follows
SURNAME_PARTICLES = frozenset({
    "de", "di", "da", "del", "della", "delle", "dei", "degli", "dal", "dalla", "dallo", "d",
    "lo", "la", "le", "li", "van", "von", "vom", "zu", "der", "den", "ter", "ten", "dos", "das",
    "do", "du", "des", "mac", "mc", "o", "bin", "ibn", "ben", "bint", "al", "el", "san",
    "santa", "st", "af", "av"})


def split_name(text: str) -> tuple[str | None, str | None]:
    """Split a full name into (first, last).

    ``Rossi, Mario`` is last name first; ``ROSSI Mario`` too (a surname in capitals, the way
    many registers write it); a surname particle starts the surname (``Anna Maria De Luca``
    -> ``Anna Maria``, ``De Luca``); otherwise the last word is the surname.
    """
    text = " ".join(text.split())
    if "," in text:
        last, _, first = text.partition(",")
        return first.strip() or None, last.strip() or None
    parts = text.split(" ")
    if len(parts) == 1:
        return None, parts[0] or None
    capitals = [i for i, p in enumerate(parts) if _capitals(p)]
    if capitals and len(capitals) < len(parts) and capitals == list(range(len(capitals))):
        return " ".join(parts[len(capitals):]), " ".join(parts[:len(capitals)])
    for i in range(1, len(parts) - 1):
        if parts[i].casefold().rstrip("'’.") in SURNAME_PARTICLES:
            return " ".join(parts[:i]), " ".join(parts[i:])
    return " ".join(parts[:-1]), parts[-1]


def _capitals(word: str) -> bool:
    letters = [ch for ch in word if ch.isalpha()]
    return len(letters) > 1 and all(ch.isupper() for ch in letters)


def put_full_name(values: dict[str, Any], raw: object) -> None:
    """Fill a record's first and last name from one "full name" cell, unless its own first
    or last name columns already did (the import and the adoption of a sheet share this)."""
    first, last = split_name(str(raw))
    values.setdefault("first_name", first)
    values.setdefault("last_name", last)
