"""When two contacts are the same person: name similarity with a same-organisation guard.

Names are folded (accents, case) and stripped of initials and honorifics, then compared with
difflib's ratio (0..1) twice: in their own word order and with words sorted, so "Smith, John"
equals "John Smith"; the higher score counts. The default threshold 0.92 accepts a one-letter
variant of a full name ("Jon Smith" / "John Smith" 0.95, "Ann Lee" / "Anne Lee" 0.93,
"Katherine Jones" / "Catherine Jones" 0.93) and refuses different first names ("Maria Garcia" /
"Mario Garcia" 0.917, "Bob Smith" / "Rob Smith" 0.89, "John Smith" / "Jane Smith" 0.8). A name
of a single word never matches on similarity: "Ann" alone says too little; numbers must be equal.

A similar name is not enough: the two contacts must also share an organisation, either the same
company name (normalised) or the same email domain, except free-mail domains (two John Smiths
at gmail.com are not one person).
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from typing import Any

from tasks import store

HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "jr", "sr"})
COMPANY_SUFFIXES = frozenset({"inc", "ltd", "llc", "gmbh", "ag", "sa", "corp", "co", "plc",
                              "bv", "srl", "limited", "incorporated", "corporation", "company"})
FREE_MAIL = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
    "yahoo.com", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com", "proton.me",
    "protonmail.com", "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com", "yandex.com",
    "yandex.ru", "mail.ru", "qq.com", "163.com", "zoho.com", "fastmail.com", "hey.com",
})
DIFFERENT_NAMES = 0.6  # below this two names are clearly different people (see phone_guard)

_WORD = re.compile(r"[^\W_]+")


def tokens(text: str | None) -> list[str]:
    """Lower-case words without accents: 'José  O'Neil' -> ['jose', 'o', 'neil']."""
    if not text:
        return []
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).casefold()
    return _WORD.findall(folded)


def name_key(name: str | None) -> str:
    """Name words without initials and honorifics: 'Dr. Smith, John A.' -> 'smith john'."""
    return " ".join(t for t in tokens(name) if len(t) > 1 and t not in HONORIFICS)


def company_key(company: str | None) -> str:
    """'ACME, Inc.' -> 'acme'."""
    return " ".join(t for t in tokens(company) if t not in COMPANY_SUFFIXES)


def org_domain(email_normalized: str | None) -> str | None:
    """The email domain when it names an organisation, None for free-mail providers."""
    domain = store.email_domain(email_normalized)
    return None if domain is None or domain in FREE_MAIL else domain


def _ratio(a: str, b: str, floor: float) -> float:
    """difflib's ratio, or 0.0 once cheap upper bounds prove it stays below `floor` (that keeps
    comparing a large block of names fast)."""
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < floor or matcher.quick_ratio() < floor:
        return 0.0
    return matcher.ratio()


def name_similarity(a: str, b: str, floor: float = 0.0) -> float:
    """The better ratio of two name keys as written and with their words sorted."""
    if not a or not b:
        return 0.0
    as_written = _ratio(a, b, floor)
    if as_written == 1.0:
        return as_written
    return max(as_written, _ratio(" ".join(sorted(a.split())), " ".join(sorted(b.split())), floor))


def _numbers(key: str) -> set[str]:
    return {word for word in key.split() if any(ch.isdigit() for ch in word)}


def similar_names(a: str, b: str, threshold: float) -> bool:
    """Both keys have two words or more, the same numbers ("Person 10" is not "Person 110": a
    number is an identifier, not a spelling) and a similarity of at least `threshold`."""
    if a.count(" ") < 1 or b.count(" ") < 1 or _numbers(a) != _numbers(b):
        return False
    return name_similarity(a, b, threshold) >= threshold


def same_organisation(a: Any, b: Any) -> bool:
    """The guard: same normalised company, or same non-free-mail email domain."""
    company_a, company_b = company_key(a.company), company_key(b.company)
    if company_a and company_a == company_b:
        return True
    domain_a = org_domain(a.email_normalized)
    return domain_a is not None and domain_a == org_domain(b.email_normalized)


def phone_guard(a: Any, b: Any) -> bool:
    """Whether a shared phone number may join two contacts: not when both have clearly
    different names (an office switchboard or a shared family line)."""
    key_a, key_b = name_key(a.name), name_key(b.name)
    if not key_a or not key_b:
        return True
    return name_similarity(key_a, key_b) >= DIFFERENT_NAMES
