"""Small normalisers for the keys that imports match on and exports carry: e-mail and phone.

Kept deliberately small (the clean-up work owns the full normalisers): an e-mail is trimmed,
lower-cased and has an accidental doubled ``@`` collapsed; a phone becomes E.164 with
``phonenumbers`` in the workbook's phone region, or stays as typed when it is not a number.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

__all__ = ["email_key", "is_email", "normalize_email", "normalize_phone", "phone_key"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")


def normalize_email(value: str | None) -> str | None:
    """Return the e-mail trimmed and lower-cased (``A@@B.it `` -> ``a@b.it``), None if empty."""
    if value is None:
        return None
    text = re.sub(r"@{2,}", "@", str(value).strip().strip("<>").lower())
    text = text.removeprefix("mailto:")
    return text or None


def is_email(value: str | None) -> bool:
    """Tell whether a (normalised) e-mail has the shape every CRM importer accepts."""
    return bool(value) and _EMAIL.match(str(value)) is not None


@lru_cache(maxsize=65536)
def normalize_phone(value: str | None, region: str = "US") -> str | None:
    """Return the phone in E.164 (``+393456211018``), or as typed when it can't be parsed.

    Args:
        value: the phone as typed (spaces, dots, brackets, ``00`` prefix all accepted).
        region: ISO country code used for numbers typed without a country prefix.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region.upper() or None)
    except phonenumbers.NumberParseException:
        return text
    if not phonenumbers.is_possible_number(number):
        return text
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def email_key(value: str | None) -> str | None:
    """Return the key two e-mails are the same person by, or None."""
    text = normalize_email(value)
    return text if is_email(text) else None


def phone_key(value: str | None, region: str = "US") -> str | None:
    """Return the key two phones are the same line by (E.164 digits), or None."""
    text = normalize_phone(value, region)
    if text is None:
        return None
    digits = re.sub(r"\D", "", text)
    return digits if len(digits) >= 7 else None
