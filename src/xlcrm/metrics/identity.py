"""Who is the same person: the one rule, and the only normalisers of e-mails, phones and names.

Two records are the same person when

1. they carry the same **id** (an export read back, a file that names the record); or
2. their e-mails have the same **mailbox key** (:func:`email_key`): case, spaces,
   ``mailto:`` and ``<...>`` aside, the ``+tag`` dropped where the provider delivers it to the
   same mailbox (Gmail, Outlook, iCloud ...), Gmail's dots dropped and ``googlemail.com`` read
   as ``gmail.com``; or
3. their phones have the same **E.164 key** (:func:`phone_key`), a number without a country
   code read as one of the Settings *phone region*.

A value without a key (a malformed e-mail, a phone no numbering plan allows, a placeholder
such as ``0000000000``) matches nothing. Names are never a key on their own: they are
evidence, compared fuzzily (:func:`name_key`, :func:`company_key`). ``xlcrm import`` takes a
shared id, e-mail key or phone key as enough, since a lead form's names are often partial;
``xlcrm clean``, which proposes merges of records already in the workbook, also asks their
names to agree (a family shares a mailbox, an office a switchboard) and, with no shared
e-mail or phone, finds people at one company whose every name word is alike
(:mod:`xlcrm.metrics.duplicates` scores it).

The key is for matching only. What import writes into a cell and export hands to a CRM is the
**stored form**: :func:`stored_email` (trimmed, lower case, a doubled ``@`` repaired, dots and
tags kept as typed) and :func:`stored_phone` (E.164, or the text as typed when it is not a
phone number, which the caller reports).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers

__all__ = [
    "FREE_MAIL",
    "company_key",
    "email_domain",
    "email_key",
    "fold_text",
    "is_email",
    "is_free_mail",
    "name_key",
    "phone_key",
    "stored_email",
    "stored_phone",
]

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
# Placeholders typed to get past a required field (0000000000, 123456789): nobody's number.
_RUNS = frozenset(run[:n] for run in ("1234567890", "0123456789", "9876543210")
                  for n in range(5, 11))
# Legal forms and filler words a company name is written with or without.
_LEGAL = frozenset({
    "srl", "srls", "spa", "snc", "sas", "sapa", "scarl", "figli", "fratelli", "ltd", "limited",
    "plc", "llp", "llc", "inc", "incorporated", "corp", "corporation", "co", "company",
    "group", "sons", "gmbh", "kg", "ag", "ohg", "ug", "ev", "sarl", "sa", "sl", "slu", "bv",
    "nv", "oy", "ab", "as", "the", "and", "und", "et", "e", "y", "di", "de", "del", "della",
})


# ----- e-mail ----------------------------------------------------------------------------------
def is_email(text: str | None) -> bool:
    """Tell whether ``text`` (spaces around it aside) is a well-formed e-mail address."""
    return bool(text) and _EMAIL_RE.fullmatch(str(text).strip()) is not None


_MANY_ATS = re.compile(r"@{2,}")


def stored_email(text: str | None) -> str | None:
    """Return the e-mail as a cell keeps it: trimmed, lower case, None when empty.

    ``mailto:`` and ``<...>`` are dropped and a doubled ``@`` repaired (``A@@B.it `` ->
    ``a@b.it``); dots and ``+tags`` stay as typed, since they are how the person wrote it.
    Whether the result is an address at all is :func:`is_email`'s question.
    """
    if text is None:
        return None
    s = str(text).strip().strip("<>").strip().lower()
    if "@@" in s:  # (the rare case: a pattern run on every address costs 3 µs each)
        s = _MANY_ATS.sub("@", s)
    return s.removeprefix("mailto:") or None


# asked of each e-mail by the checks and again by the duplicate search: the cache holds a
# million, as an LRU cache smaller than the e-mails asked of in order keeps none of them
@lru_cache(maxsize=1 << 20)
def email_key(text: str | None) -> str | None:
    """Return the mailbox an address reaches, the key two e-mails match by; None if not one.

    Case and spaces never matter; ``mailto:`` and ``<...>`` are dropped; a ``+tag`` is
    dropped where the provider delivers it to the same mailbox (Gmail, Outlook, iCloud ...),
    and Gmail's dots too (``Mario.Rossi+cars@GoogleMail.com`` is ``mariorossi@gmail.com``).
    A malformed address (``a@@b.it``, ``a@b``) has no key: a person fixes it first.
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
    key = email_key(text)
    return key.rpartition("@")[2] if key else None


def is_free_mail(domain: str | None) -> bool:
    """Tell whether a domain is a personal mailbox provider rather than a company's."""
    return bool(domain) and domain in FREE_MAIL


# ----- phone -----------------------------------------------------------------------------------
#: "+" and digits, grouped by single spaces at most: how most stored numbers look
_PLUS_DIGITS = re.compile(r"\+[0-9]+(?: [0-9]+)*")
_pnu = phonenumbers.phonenumberutil
_LENGTH_REJECTED = (_pnu.ValidationResult.TOO_SHORT, _pnu.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
                    _pnu.ValidationResult.INVALID_LENGTH)


def _parse_plus_digits(text: str) -> phonenumbers.PhoneNumber | None:
    """``phonenumbers.parse`` of a number written as ``+`` and digits, the same steps minus
    the ones such text makes moot (finding the number in prose, extensions, letters, other
    scripts' digits): a third of the time, and a 100k-lead workbook has 100k phones.

    None whenever the full parse is needed to be sure (an unknown country code, a length the
    parser refuses): the caller then runs it, so every answer is the library's own.
    """
    try:
        digits = text[1:].replace(" ", "")
        code, national = _pnu._extract_country_code(digits)
        if code == 0 or len(digits) > 17 + 3:
            return None
        metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
            code, _pnu.region_code_for_country_code(code))
        if metadata is None or len(national) < 2:
            return None
        number = _with_national(phonenumbers.PhoneNumber(country_code=code), national,
                                metadata)
    except AttributeError:  # a phonenumbers without these steps: its parse does it all
        return None
    return number


# The library's length test reads nothing of a number but its length (the country's possible
# lengths): its answers, kept by country and length, are the library's own at a dictionary
# lookup each (100k phones ask a few dozen questions).
_LENGTHS: dict[tuple[int, int], tuple[phonenumbers.PhoneMetadata, object]] = {}
_POSSIBLE: dict[tuple[int | None, int], bool] = {}


def _length_test(national: str, metadata: phonenumbers.PhoneMetadata) -> object:
    """``_test_number_length(national, metadata)``, kept by the metadata and the length."""
    key = (id(metadata), len(national))
    known = _LENGTHS.get(key)
    if known is None or known[0] is not metadata:
        known = _LENGTHS[key] = (metadata, _pnu._test_number_length(national, metadata))
    return known[1]


def _is_possible(number: phonenumbers.PhoneNumber, national: str) -> bool:
    """``phonenumbers.is_possible_number(number)``, kept by country code and length of the
    national significant number ``national``: all the library's answer depends on."""
    key = (number.country_code, len(national))
    known = _POSSIBLE.get(key)
    if known is None:
        known = _POSSIBLE[key] = bool(phonenumbers.is_possible_number(number))
    return known


def _with_national(number: phonenumbers.PhoneNumber, national: str,
                   metadata: phonenumbers.PhoneMetadata) -> phonenumbers.PhoneNumber | None:
    """The library's last parse steps, shared by both fast paths: strip a national prefix
    when what is left still has a valid length, check the length, keep Italian leading zeros
    and set the national number. None when the length is out of range."""
    _, stripped, _ = _pnu._maybe_strip_national_prefix_carrier_code(national, metadata)
    if _length_test(stripped, metadata) not in _LENGTH_REJECTED:
        national = stripped
    if not 2 <= len(national) <= 17:
        return None
    _pnu._set_italian_leading_zeros_for_phone_number(national, number)
    number.national_number = int(national)
    return number


_FULL_PARSE = "full parse"  # not a key: the caller parses the number the long way
_CODES: dict[str, tuple[int, int]] = {}  # the first three digits -> country code, its width
_METADATA: dict[int, phonenumbers.PhoneMetadata | None] = {}


def _plus_key(text: str) -> str | None:
    """:func:`phone_key` of a number written as ``+`` and digits: :func:`_parse_plus_digits`
    and the checks after it, with the library's answers that hang on the country and the
    length alone looked up (a key is ``+``, the country code and the national significant
    number, which here is the national number as written, leading zeros and all).

    :data:`_FULL_PARSE` whenever the library's full parse must answer."""
    try:
        digits = text[1:].replace(" ", "")
        head = digits[:3]  # all the library reads of a number to find its country code
        found = _CODES.get(head)
        if found is None:
            code, rest = _pnu._extract_country_code(head)
            found = _CODES[head] = (code, len(head) - len(rest))
        code, width = found
        if code == 0 or len(digits) > 17 + 3:
            return _FULL_PARSE
        if code not in _METADATA:
            _METADATA[code] = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
                code, _pnu.region_code_for_country_code(code))
        metadata = _METADATA[code]
        national = digits[width:]
        if metadata is None or len(national) < 2:
            return _FULL_PARSE
        _, stripped, _ = _pnu._maybe_strip_national_prefix_carrier_code(national, metadata)
        if _length_test(stripped, metadata) not in _LENGTH_REJECTED:
            national = stripped
        if not 2 <= len(national) <= 17:
            return _FULL_PARSE
        possible = _POSSIBLE.get((code, len(national)))
        if possible is None:
            number = _parse_plus_digits(text)
            if number is None:
                return _FULL_PARSE
            possible = _is_possible(number, _pnu.national_significant_number(number))
    except AttributeError:  # a phonenumbers without these steps: its parse does it all
        return _FULL_PARSE
    if not possible:
        return None
    significant = national.lstrip("0") or "0"  # the national number, as an integer writes it
    if len(set(significant)) == 1 or significant in _RUNS:
        return None
    return f"+{code}{national}"


_DIGITS = re.compile(r"[0-9]{2,17}")
_DOUBLE_ZERO = re.compile(r"^\s*00(?=[1-9])")  # 00 written for +


def _parse_national_digits(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    """``phonenumbers.parse(text, region)`` of a number written as digits alone (a national
    number, or one with the country code and no ``+``): the library's own steps after the
    ones such text makes moot (finding the number in text, extensions, letters, other
    scripts' digits), as :func:`_parse_plus_digits` does for ``+`` numbers.

    None whenever the full parse is needed (an unknown region, any step that would fail):
    the caller then runs it, so every answer is the library's own.
    """
    try:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region, None)
        if metadata is None:
            return None
        number = phonenumbers.PhoneNumber()
        code, national = _pnu._maybe_extract_country_code(text, metadata, False, number)
        if code != 0:
            number_region = _pnu.region_code_for_country_code(code)
            if number_region != region:
                metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
                    code, number_region)
                if metadata is None:
                    return None
        else:
            national += text  # what the library's _normalize makes of ASCII digits
            number.country_code = metadata.country_code
        if len(national) < 2:
            return None
        return _with_national(number, national, metadata)
    except (AttributeError, phonenumbers.NumberParseException):
        return None  # a phonenumbers without these steps, or a case for the full parse


# a command looks at each phone two or three times (checks, duplicates): the cache holds a
# million, as an LRU cache smaller than the phones looked at in order keeps none of them
@lru_cache(maxsize=1 << 20)
def phone_key(text: str | None, region: str = "US") -> str | None:
    """Return a phone number in E.164 (``+393471234567``), the key two phones match by.

    A number without a country code is read as one of ``region`` (ISO country code, the
    Settings option *Default phone region*); ``00`` works as ``+``. A number is kept when its
    length is possible for its country, whatever its formatting (spaces, dots, dashes,
    brackets, ``tel:``); else, and for placeholders such as ``0000000000``, None.
    """
    if not isinstance(text, str) or sum(map(str.isdigit, text)) < 5:
        return None
    s = text.strip()
    if s.lower().startswith("tel:"):
        s = s[4:]
    s = _DOUBLE_ZERO.sub("+", s)
    if _PLUS_DIGITS.fullmatch(s):
        key = _plus_key(s)
        if key is not _FULL_PARSE:
            return key
    number = _parse_plus_digits(s) if _PLUS_DIGITS.fullmatch(s) else \
        _parse_national_digits(s, (region or "US").upper()) if _DIGITS.fullmatch(s) else None
    if number is None:
        try:
            number = phonenumbers.parse(s, (region or "US").upper())
        except phonenumbers.NumberParseException:
            return None
    if not _is_possible(number, _pnu.national_significant_number(number)):
        return None
    national = str(number.national_number)
    if len(set(national)) == 1 or national in _RUNS:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def stored_phone(text: str | None, region: str = "US") -> str | None:
    """Return the phone as a cell keeps it: E.164, or the text as typed when it isn't a number.

    Nothing typed is thrown away: ``n/a`` or ``347-12`` stay for a person to fix (the caller
    reports it; :func:`phone_key` of them is None). None when empty.
    """
    if text is None:
        return None
    typed = str(text).strip()
    return (phone_key(typed, region) or typed) if typed else None


# ----- names -----------------------------------------------------------------------------------
@lru_cache(maxsize=1 << 18)  # names repeat: each folded once
def fold_text(text: str) -> str:
    """Return ``text`` as lowercase ASCII words without accents or punctuation (``ß`` is ss)."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[^a-z0-9]+", " ", plain.replace("ß", "ss")).strip()


def name_key(*parts: str | None) -> str:
    """Return a person's name as sorted lowercase words without accents or punctuation.

    Sorting makes ``Rossi Mario`` and ``Mario ROSSI`` the same; names are compared fuzzily
    on this key, as evidence only.
    """
    words = fold_text(" ".join(p for p in parts if isinstance(p, str))).split()
    return " ".join(sorted(words))


def company_key(text: str | None) -> str:
    """Return a company name without case, accents, punctuation and legal form.

    ``Rossi Meccanica S.r.l.`` and ``ROSSI MECCANICA srl`` both become ``rossi meccanica``.
    """
    if not isinstance(text, str):
        return ""
    s = re.sub(r"\b([a-z])\.(?=[a-z]\.)", r"\1", text.casefold())  # S.r.l. -> srl
    s = s.replace(".", "")
    words = [w for w in fold_text(s).split() if w not in _LEGAL]
    return " ".join(words)
