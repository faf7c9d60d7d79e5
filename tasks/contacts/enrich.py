"""Pure contact clean-up rules: tidy names, and a company name guessed from the email domain.

Names: whitespace is collapsed; a word written all in lower or all in upper case is recased
("ann LEE" -> "Ann Lee", "o'NEIL" -> "O'Neil", "mary-jane" -> "Mary-Jane", "mcdonald" ->
"McDonald"; parts split by hyphens and apostrophes count as words), while a word with
deliberate mixed case ("DeVito", "McKay") is left alone. Name
particles (van, von, de, der, da, di, du, la, le, del, bin, al ...) stay lower case except as the
first word, and roman numerals (II, III, IV ...) stay upper case.

Company from domain: the label just left of the public suffix, hyphens and underscores as
spaces, each word capitalised: 'acme-corp.co.uk' -> 'Acme Corp', 'mail.globex.com' -> 'Globex'.
The suffixes are a small built-in table of common two-label ones (co.uk, com.au, co.jp ...),
not the full Public Suffix List (no network dependency); anything else counts as a one-label
suffix. Free-mail domains give no company: the base list shared with deduplication
(tasks.data.similarity.FREE_MAIL: gmail.com, outlook.com, hotmail.com, yahoo.com, icloud.com,
proton.me, ...) plus the regional variants below.
"""

from __future__ import annotations

import re

from tasks.data.similarity import FREE_MAIL as _SHARED_FREE_MAIL

REGIONAL_FREE_MAIL = frozenset({
    "yahoo.co.uk", "yahoo.fr", "yahoo.de", "yahoo.es", "yahoo.it", "yahoo.co.jp", "yahoo.com.br",
    "hotmail.co.uk", "hotmail.fr", "hotmail.de", "hotmail.es", "hotmail.it", "outlook.de",
    "outlook.fr", "live.co.uk", "live.fr", "btinternet.com", "orange.fr", "free.fr", "laposte.net",
    "t-online.de", "libero.it", "pm.me", "tutanota.com", "duck.com", "comcast.net",
    "verizon.net", "att.net", "naver.com", "126.com", "sina.com", "rediffmail.com",
})
FREE_MAIL = _SHARED_FREE_MAIL | REGIONAL_FREE_MAIL

# Second-level public suffixes: the registrable name is the label before these two.
TWO_LABEL_SUFFIXES = frozenset({
    "co.uk", "org.uk", "ac.uk", "gov.uk", "ltd.uk", "plc.uk", "me.uk", "net.uk",
    "com.au", "net.au", "org.au", "edu.au", "gov.au", "co.nz", "org.nz", "net.nz",
    "co.jp", "ne.jp", "or.jp", "ac.jp", "co.kr", "or.kr", "co.in", "net.in", "org.in",
    "com.br", "net.br", "org.br", "com.mx", "com.ar", "com.cn", "net.cn", "org.cn", "com.tw",
    "com.hk", "com.sg", "com.my", "co.za", "co.il", "com.tr", "co.id", "com.ph", "com.vn",
    "com.ua", "com.pl", "com.es", "com.co", "com.pe", "co.th", "com.sa", "com.eg", "com.ng",
})
PARTICLES = frozenset({"van", "von", "de", "der", "den", "da", "di", "du", "la", "le", "del",
                       "della", "dos", "das", "do", "bin", "binti", "al", "el", "ter", "ten"})
ROMAN = re.compile(r"^(?:II|III|IV|VI|VII|VIII|IX|XI|XII)$", re.IGNORECASE)
_WORD_PARTS = re.compile(r"([-'\u2019])")  # hyphenated and O'Neil-style names recase per part


def _recase_part(part: str) -> str:
    if not (part.islower() or part.isupper()):
        return part  # no letters, or deliberate mixed case ("DeVito", "McKay"): keep it
    if len(part) > 2 and part.lower().startswith("mc"):
        return "Mc" + part[2:].capitalize()
    return part.capitalize()


def _recase_word(word: str, first: bool) -> str:
    if ROMAN.match(word) and not first:
        return word.upper()
    if word.lower() in PARTICLES and not first and (word.islower() or word.isupper()):
        return word.lower()
    return "".join(_recase_part(p) for p in _WORD_PARTS.split(word))


def clean_name(raw: str | None) -> str | None:
    """The tidied name, or None for a blank one."""
    if raw is None:
        return None
    words = raw.split()
    if not words:
        return None
    return " ".join(_recase_word(word, index == 0) for index, word in enumerate(words))


def registrable_domain(domain: str) -> str | None:
    """'mail.acme-corp.co.uk' -> 'acme-corp.co.uk'; None when the domain is only a suffix."""
    labels = [label for label in domain.strip(".").lower().split(".") if label]
    suffix_len = 2 if ".".join(labels[-2:]) in TWO_LABEL_SUFFIXES else 1
    if len(labels) <= suffix_len:
        return None
    return ".".join(labels[-suffix_len - 1:])


def company_from_domain(domain: str | None) -> str | None:
    """The company an email domain names, or None (free mail, an IP literal, no name)."""
    if not domain:
        return None
    domain = domain.strip().lower().rstrip(".")
    if domain.startswith("[") or domain.replace(".", "").isdigit():
        return None
    registrable = registrable_domain(domain)
    if registrable is None or domain in FREE_MAIL or registrable in FREE_MAIL:
        return None
    label = registrable.split(".", 1)[0]
    words = [w for w in re.split(r"[-_]+", label) if w]
    if not words or label.startswith("xn--"):  # punycode: no readable name to show
        return None
    return " ".join(word.capitalize() for word in words)
