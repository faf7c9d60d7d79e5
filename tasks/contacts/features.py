"""Pure rules of interaction analysis: per-interaction features and a contact's next touch.

Features of one interaction (stored as JSON in interactions.features, FEATURES_VERSION 1):
- `word_count`, `question_count`: words, and runs of '?', in the subject and body together;
- `direction`: 'in', 'out' or None;
- `weekday` (0 = Monday) and `hour` (0..23) when it happened, in the user's time zone
  (`timezone`, UTC when the user's zone is unknown);
- `response_latency_seconds`: when the contact's previous directed interaction (meetings and
  other undirected ones are skipped) went the other way, the seconds since it: how long a reply
  took. None for the first message, a follow-up in the same direction, or no direction.
Features are computed once per interaction; one synced later with an earlier time does not
update the latency of those already analysed.

Touches: the last touch is the contact's latest interaction. The next touch is the last touch
plus the median gap between the contact's consecutive interactions, clamped to [7, 90] days;
with fewer than 2 interactions the gap is 30 days; without any interaction both are None.
Neither depends on the current time, so re-analysing changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

FEATURES_VERSION = 1
MIN_GAP = timedelta(days=7)
MAX_GAP = timedelta(days=90)
DEFAULT_GAP = timedelta(days=30)

_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_QUESTION = re.compile(r"\?+")
_UTC = ZoneInfo("UTC")


def user_zone(name: str | None) -> ZoneInfo:
    """The user's IANA time zone; UTC when unset or unknown."""
    try:
        return ZoneInfo(name) if name else _UTC
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return _UTC


def text_counts(subject: str | None, body: str | None) -> tuple[int, int]:
    """(words, questions) of the subject and body together."""
    text = "\n".join(part for part in (subject, body) if part)
    return len(_WORD.findall(text)), len(_QUESTION.findall(text))


def previous_directed(timeline: Sequence[Any], index: int) -> Any | None:
    """The nearest interaction before `timeline[index]` that has a direction, or None."""
    for earlier in reversed(timeline[:index]):
        if earlier.direction is not None:
            return earlier
    return None


def response_latency(current: Any, previous: Any | None) -> int | None:
    """Seconds from `previous` to `current` when `current` answers it (opposite directions)."""
    if previous is None or current.direction is None or previous.direction == current.direction:
        return None
    seconds = (current.occurred_at - previous.occurred_at).total_seconds()
    return max(0, round(float(seconds)))


def interaction_features(row: Any, previous: Any | None, zone: tzinfo) -> dict[str, Any]:
    """The features of one interaction row, given the contact's previous directed one."""
    words, questions = text_counts(row.subject, row.body)
    local = row.occurred_at.astimezone(zone)
    return {
        "version": FEATURES_VERSION,
        "word_count": words,
        "question_count": questions,
        "direction": row.direction,
        "weekday": local.weekday(),
        "hour": local.hour,
        "timezone": str(getattr(zone, "key", None) or zone.tzname(local) or "UTC"),
        "response_latency_seconds": response_latency(row, previous),
    }


def touch_gap(times: Sequence[datetime]) -> timedelta:
    """The median gap between consecutive times (sorted here), clamped; DEFAULT_GAP for < 2."""
    if len(times) < 2:
        return DEFAULT_GAP
    gaps = sorted(later - earlier for earlier, later in pairwise(sorted(times)))
    middle = len(gaps) // 2
    median = gaps[middle] if len(gaps) % 2 else (gaps[middle - 1] + gaps[middle]) / 2
    return min(MAX_GAP, max(MIN_GAP, median))


def touches(times: Sequence[datetime]) -> tuple[datetime | None, datetime | None]:
    """(last touch, next touch) of a contact whose interactions happened at `times`."""
    if not times:
        return None, None
    last = max(times)
    return last, last + touch_gap(times)
