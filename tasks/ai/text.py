"""Text plumbing for the local provider: clean an email body, split sentences, tokenize."""

from __future__ import annotations

import re
from collections.abc import Container

_QUOTE_HEADER = re.compile(r"^(on .{4,200} wrote:|-+ ?original message ?-+|from: .+@.+)$", re.I)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
# A sentence ends at . ! or ? (and closing quotes/brackets) before whitespace and a capital,
# digit or opening quote; a piece ending in a known abbreviation is joined to the next one.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_ABBREVIATION = re.compile(
    r"(?:^|\s)(?:e\.g|i\.e|etc|vs|mr|mrs|ms|dr|prof|st|no|inc|ltd|jr|sr|approx|cf|[a-z])\.$",
    re.I)
_TOKEN = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
_CHUNK_BREAK = re.compile(r"[,;:()\[\]{}\"“”!?.…]+(?:\s|$)|\s[-–—]+\s|[–—]")
_MAX_SENTENCE = 400  # characters; longer runs (tables, pasted logs) are cut, not summarised


def clean_body(body: str | None) -> str:
    """The author's own words: quoted replies, forwarded headers and the signature removed."""
    kept: list[str] = []
    for raw in (body or "").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.rstrip()
        if line == "-- " or line.strip() == "--" or _QUOTE_HEADER.match(line.strip()):
            break  # a signature or the start of the quoted message below
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept).strip()


def sentences(text: str) -> list[str]:
    """Sentences in order. Blank lines and bullets end a sentence; other line breaks are the
    wrapping of one paragraph, so they are joined."""
    blocks: list[list[str]] = [[]]
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            blocks.append([])
            continue
        if _BULLET.match(line):
            blocks.append([_BULLET.sub("", line, count=1)])
            continue
        blocks[-1].append(line.strip())
    found: list[str] = []
    for block in blocks:
        paragraph = " ".join(block).strip()
        if not paragraph:
            continue
        pieces: list[str] = []
        for piece in _SENTENCE_END.split(paragraph):
            if pieces and _ABBREVIATION.search(pieces[-1]):
                pieces[-1] += " " + piece
            else:
                pieces.append(piece)
        for sentence in pieces:
            sentence = " ".join(sentence.split())
            if _TOKEN.search(sentence.lower()):
                found.append(sentence[:_MAX_SENTENCE])
    return found


def tokens(text: str) -> list[str]:
    """Lower-case word tokens; apostrophes and hyphens inside a word keep it whole."""
    return _TOKEN.findall(text.lower().replace("’", "'"))


def chunks(sentence: str) -> list[list[str]]:
    """The sentence's token runs between punctuation marks: keyword phrases never cross one."""
    return [found for part in _CHUNK_BREAK.split(sentence) if (found := tokens(part))]


def lexicon_key(token: str, known: Container[str]) -> str | None:
    """`token` or its singular ("contracts", "businesses") if the lexicon knows it."""
    for candidate in (token, token[:-1] if token.endswith("s") else "",
                      token[:-2] if token.endswith("es") else ""):
        if candidate and candidate in known:
            return candidate
    return None


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] or text[: limit - 1]
    return cut.rstrip(" ,;:") + "…"
