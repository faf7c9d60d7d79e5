"""Canonical forms of email addresses and phone numbers: the keys contacts are matched on.

Kept deliberately simple and stable, because stored `*_normalized` values must keep matching
what later calls compute. Richer enrichment (company from domain, ...) belongs to the tasks.
"""

from __future__ import annotations

import re
from email.utils import parseaddr

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_JUNK = re.compile(r"[\s().\-/]")
_EXTENSION = re.compile(r"(?:ext\.?|x|#)\s*\d+$", re.IGNORECASE)


def normalize_email(raw: str | None) -> str | None:
    """`'Ann <Ann.Lee@Example.COM>'` -> `'ann.lee@example.com'`; None when it is not an address."""
    if not raw:
        return None
    text = raw.strip()
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:"):]
    address = parseaddr(text)[1].strip().lower()
    return address if _EMAIL.match(address) else None


def normalize_phone(raw: str | None, *, default_country_code: str | None = None) -> str | None:
    """`'+1 (555) 010-2030'` -> `'+15550102030'`; `'00 44 20 7946 0000'` -> `'+442079460000'`.

    A number without an international prefix gets `default_country_code` (digits, e.g. '1') if
    given, else stays as its national digits. None when fewer than 5 digits remain.
    """
    if not raw:
        return None
    text = _EXTENSION.sub("", _PHONE_JUNK.sub("", raw.strip()))
    if text.startswith("00"):
        text = "+" + text[2:]
    international = text.startswith("+")
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) < 5 or len(digits) > 15:
        return None
    if international:
        return "+" + digits
    if default_country_code:
        return "+" + default_country_code.lstrip("+") + digits.lstrip("0")
    return digits


def email_domain(normalized_email: str | None) -> str | None:
    """The part after '@' of a normalised address."""
    if not normalized_email or "@" not in normalized_email:
        return None
    return normalized_email.rsplit("@", 1)[1]
