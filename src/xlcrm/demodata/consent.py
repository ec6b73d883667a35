"""Marketing consent in the demo: who agreed to hear from the dealer, when and how.

Decided from each record's id (a checksum), not from the simulation's random stream, so adding
consent changed no other number of the demo. Of the people with an e-mail, about six in ten
ticked the box on the form they came through (online sources) or signed the showroom's
privacy form (walk-ins, phone calls); the consent date is the day they became a lead.
"""

from __future__ import annotations

import datetime as dt
import zlib
from typing import Any

__all__ = ["add_consent"]

_ONLINE = ("web", "portal", "site", "social", "ads", "form", "online", "newsletter", "webinar")


def add_consent(columns: dict[str, list[Any]], phrases: dict[str, Any], *,
                share: float = 0.6) -> None:
    """Fill the ``marketing_consent`` and ``consent_source`` columns of a people table, the
    source in the demo's language (``phrases``: the ``[demo]`` words of its locale)."""
    dates: list[Any] = []
    sources: list[Any] = []
    for rid, created, email, source in zip(columns["id"], columns["created"],
                                           columns["email"], columns["source"]):
        agreed = bool(email) and zlib.crc32(str(rid).encode()) % 1000 < share * 1000
        if not agreed or not isinstance(created, dt.date):
            dates.append(None)
            sources.append(None)
            continue
        day = created.date() if isinstance(created, dt.datetime) else created
        online = any(word in str(source).casefold() for word in _ONLINE)
        dates.append(day)
        sources.append(phrases["consent_online" if online else "consent_signed"])
    columns["marketing_consent"] = dates
    columns["consent_source"] = sources
