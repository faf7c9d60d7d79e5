"""Local analysis: RAKE keywords, lexicon topics and sentiment, extractive summaries, interests."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from tasks.ai import lexicon
from tasks.ai.text import chunks, lexicon_key, sentences, tokens, truncate

TERM_TOPIC = {term: topic for topic, terms in lexicon.TOPICS.items() for term in terms}
_PLEASANTRY = frozenset(("hi", "hello", "hey", "dear", "thanks", "thank", "best", "regards",
                         "cheers", "sincerely", "kind", "warm", "warmly", "all"))
_DEADLINE = re.compile(
    r"\b(?:by|before|until|no later than|due)\s+(?:the\s+)?(?:end of (?:the )?(?:day|week|month)"
    r"|tomorrow|tonight|next week|eod|eow|" + "|".join(lexicon.WEEKDAYS + lexicon.MONTHS)
    + r"|\d{1,2}(?:st|nd|rd|th)?\b|\d{1,2}[/.]\d{1,2})", re.I)
_FULL_STOP = (".", "!", "?", "…", '."', ".)")
MAX_KEYWORDS = 8
MAX_PHRASE_WORDS = 4  # longer stopword-free runs are lists or boilerplate, not key phrases
SENTIMENT_ALPHA = 15.0  # VADER's normalisation constant: score = s / sqrt(s² + alpha)
RECENCY_DECAY = 0.85  # each older text counts this much less towards an interest


def word_scores(text: str) -> tuple[dict[str, float], list[tuple[str, ...]]]:
    """RAKE (Rose et al., 2010): candidate phrases are runs of non-stopwords between stopwords
    and punctuation; a word scores degree/frequency over those phrases. Returns the word scores
    and the candidate phrases in order of appearance."""
    phrases: list[tuple[str, ...]] = []
    for sentence in sentences(text):
        for run in chunks(sentence):
            if len(run) <= 3 and run[0] in _PLEASANTRY:
                continue  # "Hi Dana", "Thanks Ann": a name, not a key phrase
            phrase: list[str] = []
            for token in [*run, ""]:  # "" flushes the last phrase
                if token and token not in lexicon.STOPWORDS and not token.isdigit():
                    phrase.append(token)
                    continue
                if 0 < len(phrase) <= MAX_PHRASE_WORDS:
                    phrases.append(tuple(phrase))
                phrase = []
    frequency: Counter[str] = Counter()
    degree: Counter[str] = Counter()
    for candidate in phrases:
        for word in candidate:
            frequency[word] += 1
            degree[word] += len(candidate)
    return {word: degree[word] / frequency[word] for word in frequency}, phrases


def keywords(text: str, limit: int = MAX_KEYWORDS) -> list[str]:
    """The top RAKE phrases: highest score first, earlier appearance breaking ties."""
    scores, phrases = word_scores(text)
    ranked: dict[str, tuple[float, int]] = {}
    for position, phrase in enumerate(phrases):
        key = " ".join(phrase)
        if key not in ranked:
            ranked[key] = (sum(scores[word] for word in phrase), position)
    order = sorted(ranked, key=lambda key: (-ranked[key][0], ranked[key][1]))
    return order[:limit]


def topic_hits(text: str) -> dict[str, Counter[str]]:
    """{topic: Counter of the lexicon terms found}, two-word terms matched before single words."""
    words = tokens(text)
    hits: dict[str, Counter[str]] = defaultdict(Counter)
    index = 0
    while index < len(words):
        pair = " ".join(words[index:index + 2])
        if index + 1 < len(words) and pair in TERM_TOPIC:
            hits[TERM_TOPIC[pair]][pair] += 1
            index += 2
            continue
        term = lexicon_key(words[index], TERM_TOPIC)
        if term is not None:
            hits[TERM_TOPIC[term]][term] += 1
        index += 1
    return dict(hits)


def topics(text: str) -> list[str]:
    """Topics by number of lexicon hits, then name."""
    hits = topic_hits(text)
    return sorted(hits, key=lambda topic: (-sum(hits[topic].values()), topic))


def sentiment(text: str) -> dict[str, Any]:
    """Lexicon valence summed over words; a negator in the three words before a word flips and
    damps it, an intensifier right before it scales it. Normalised to (-1, 1) as VADER does;
    |score| < 0.05 is neutral."""
    words = tokens(text)
    total = 0.0
    for index, word in enumerate(words):
        valence = lexicon.SENTIMENT.get(word)
        if valence is None:
            continue
        if index and words[index - 1] in lexicon.INTENSIFIERS:
            valence *= lexicon.INTENSIFIERS[words[index - 1]]
        if any(w in lexicon.NEGATORS for w in words[max(0, index - 3):index]):
            valence *= -0.5
        total += valence
    score = round(total / math.sqrt(total * total + SENTIMENT_ALPHA), 3) if total else 0.0
    label = "positive" if score >= 0.05 else "negative" if score <= -0.05 else "neutral"
    return {"label": label, "score": score}


def content_sentences(text: str) -> list[str]:
    """Sentences that say something: greetings and sign-offs ("Hi Ann,", "Best, Dana") dropped."""
    kept = []
    for sentence in sentences(text):
        words = tokens(sentence)
        if words and not (len(words) <= 4 and words[0] in _PLEASANTRY):
            kept.append(sentence)
    return kept


def summary(text: str, max_chars: int = 400) -> str:
    """Extractive: the sentences with the highest keyword weight (sum of RAKE word scores over
    the square root of their length), kept in their original order."""
    candidates = list(dict.fromkeys(content_sentences(text)))  # a repeat says nothing new
    # Whole sentences over fragments (a subject line, a bullet) when the text has both.
    candidates = [s for s in candidates if s.endswith(_FULL_STOP)] or candidates
    if not candidates:
        return ""
    scores, _ = word_scores(text)
    ranked = []
    for position, sentence in enumerate(candidates):
        words = tokens(sentence)
        weight = sum(scores.get(word, 0.0) for word in set(words)) / math.sqrt(len(words))
        ranked.append((-weight, position))
    count = 1 if len(candidates) <= 3 else 2 if len(candidates) <= 8 else 3
    chosen = sorted(position for _, position in sorted(ranked)[:count])
    return truncate(" ".join(candidates[position] for position in chosen), max_chars)


def action_items(text: str) -> list[str]:
    """Sentences asking for or promising something: instructions ("Send the deck"), requests
    and questions to the reader, commitments ("I will ..."), and anything with a deadline."""
    found: list[str] = []
    for sentence in dict.fromkeys(content_sentences(text)):
        words = tokens(sentence)
        lowered = " ".join(words)
        start = words[1] if words[0] == "please" and len(words) > 1 else words[0]
        if (
            start in lexicon.IMPERATIVE_VERBS
            or "please" in words
            or (sentence.rstrip().endswith("?") and words[0] in lexicon.ASK_START)
            or any(lowered.startswith(cue) or f" {cue} " in f" {lowered} "
                   for cue in lexicon.COMMITMENT)
            or lexicon.DEADLINE_WORDS.intersection(words)
            or _DEADLINE.search(sentence)
        ):
            found.append(sentence)
    return found


def analyze(text: str) -> dict[str, Any]:
    return {
        "sentiment": sentiment(text),
        "topics": topics(text),
        "keywords": keywords(text),
        "summary": summary(text),
        "action_items": action_items(text),
    }


def interests(texts: Sequence[str], limit: int = 8) -> list[dict[str, Any]]:
    """Topics (and key phrases recurring in two or more texts) across `texts`, newest first.

    A text adds log2(1 + hits) to each of its topics, times RECENCY_DECAY**age: repeats inside
    one message have diminishing returns, recurrence across messages adds up, old news fades.
    Weights are relative to the strongest interest (1.0). Evidence: the first sentences (newest
    texts first) that contain one of the interest's terms.
    """
    score: dict[str, float] = defaultdict(float)
    terms: dict[str, Counter[str]] = defaultdict(Counter)
    phrase_texts: Counter[str] = Counter()
    for age, text in enumerate(texts):
        decay = RECENCY_DECAY ** age
        for topic, found in topic_hits(text).items():
            score[topic] += decay * math.log2(1 + sum(found.values()))
            terms[topic].update(found)
        for phrase in keywords(text, limit=5):
            if all(lexicon_key(word, TERM_TOPIC) for word in phrase.split()):
                continue  # its topic already counts it
            phrase_texts[phrase] += 1
            score[phrase] += decay
            terms[phrase][phrase] += 1
    for phrase, count in phrase_texts.items():
        if count < 2:  # a one-off phrase is not an interest
            del score[phrase]
    if not score or max(score.values()) <= 0:
        return []
    top = max(score.values())
    ranked = sorted((name for name in score if score[name] > 0),
                    key=lambda name: (-round(score[name], 9), name))[:limit]
    return [{"interest": name, "weight": round(score[name] / top, 3),
             "evidence": _evidence(texts, terms[name]),
             "terms": [term for term, _ in sorted(terms[name].items(),
                                                  key=lambda item: (-item[1], item[0]))]}
            for name in ranked]


def _evidence(texts: Sequence[str], terms: Counter[str], limit: int = 2) -> list[str]:
    """Up to `limit` sentences naming one of `terms`, newer texts first; a fragment (a subject
    line) only when no whole sentence names them."""
    every = [sentence for text in texts for sentence in content_sentences(text)]
    whole = [sentence for sentence in every if sentence.endswith(_FULL_STOP)]
    fragments = [sentence for sentence in every if not sentence.endswith(_FULL_STOP)]
    for candidates in (whole, fragments):
        quotes: list[str] = []
        for sentence in candidates:
            joined = f" {' '.join(tokens(sentence))} "
            words = set(joined.split())
            quote = truncate(sentence, 160)
            if quote not in quotes and any(
                f" {term} " in joined or _names(term, words) for term in terms
            ):
                quotes.append(quote)
                if len(quotes) == limit:
                    break
        if quotes:
            return quotes
    return []


def _names(term: str, words: set[str]) -> bool:
    """Whether a single-word lexicon term occurs in `words`, plural forms included."""
    return " " not in term and any(lexicon_key(word, {term}) for word in words)
