"""The shapes of AI results, and the checks that hold a remote model's JSON reply to them."""

from __future__ import annotations

import math
from typing import Any

SENTIMENT_LABELS = ("positive", "neutral", "negative")
ANALYSIS_KEYS = ("sentiment", "topics", "keywords", "summary", "action_items")
MAX_ITEMS = 12  # per list: a model that returns hundreds of topics is not summarising


class MalformedResult(ValueError):
    """Raised when a provider's result does not have the documented shape; says what is off."""


def check_analysis(value: Any) -> dict[str, Any]:
    """An analysis as local.analyze returns it, built from a model's JSON object. Tolerates
    the usual drift (a bare sentiment label or number, action items as objects); anything
    else missing or mistyped raises MalformedResult naming the field."""
    if not isinstance(value, dict):
        raise MalformedResult(f"expected a JSON object, got {type(value).__name__}")
    missing = [key for key in ANALYSIS_KEYS if key not in value]
    if missing:
        raise MalformedResult(f"missing keys: {', '.join(missing)}")
    summary = value["summary"]
    if not isinstance(summary, str):
        raise MalformedResult("summary: expected a string")
    return {
        "sentiment": _sentiment(value["sentiment"]),
        "topics": _strings(value["topics"], "topics", lower=True),
        "keywords": _strings(value["keywords"], "keywords", lower=True),
        "summary": summary.strip(),
        "action_items": _strings(value["action_items"], "action_items"),
    }


def check_interests(value: Any) -> list[dict[str, Any]]:
    """Interests, heaviest first: [{interest, weight in [0, 1], evidence: [str], terms: [str]}].
    Accepts the list itself or an object holding it under "interests"."""
    if isinstance(value, dict) and "interests" in value:
        value = value["interests"]
    if not isinstance(value, list):
        raise MalformedResult("interests: expected a list")
    found: dict[str, dict[str, Any]] = {}
    for index, item in enumerate(value):
        where = f"interests[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("interest"), str):
            raise MalformedResult(f"{where}: expected an object with a string 'interest'")
        name = " ".join(item["interest"].lower().split())
        weight = _number(item.get("weight", 0.0), f"{where}.weight")
        evidence = item.get("evidence", [])
        evidence = [evidence] if isinstance(evidence, str) else evidence
        if name and name not in found:
            found[name] = {
                "interest": name, "weight": round(min(1.0, max(0.0, weight)), 3),
                "evidence": _strings(evidence, f"{where}.evidence"),
                "terms": _strings(item.get("terms", []), f"{where}.terms", lower=True),
            }
    return sorted(found.values(), key=lambda i: (-i["weight"], i["interest"]))[:MAX_ITEMS]


def check_text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MalformedResult(f"{what}: expected non-empty text")
    return value.strip() + "\n"


def _sentiment(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = {"label": value}
    elif isinstance(value, int | float) and not isinstance(value, bool):
        value = {"score": value}
    if not isinstance(value, dict):
        raise MalformedResult("sentiment: expected an object with label and score")
    label = value.get("label")
    score = value.get("score")
    if label is not None and (not isinstance(label, str) or label.lower() not in
                              SENTIMENT_LABELS):
        raise MalformedResult(f"sentiment.label: {label!r} is not one of {SENTIMENT_LABELS}")
    if score is None:
        if label is None:
            raise MalformedResult("sentiment: needs a label or a score")
        score = {"positive": 0.5, "neutral": 0.0, "negative": -0.5}[label.lower()]
    score = round(min(1.0, max(-1.0, _number(score, "sentiment.score"))), 3)
    if label is None:
        label = "positive" if score >= 0.05 else "negative" if score <= -0.05 else "neutral"
    return {"label": label.lower(), "score": score}


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MalformedResult(f"{where}: expected a number")
    try:
        number = float(value)
    except ValueError:
        raise MalformedResult(f"{where}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise MalformedResult(f"{where}: {value!r} is not a finite number")
    return number


def _strings(value: Any, where: str, *, lower: bool = False) -> list[str]:
    """A list of non-empty strings, deduplicated in order; objects give their text field."""
    if not isinstance(value, list):
        raise MalformedResult(f"{where}: expected a list")
    found: list[str] = []
    for item in value:
        if isinstance(item, dict):  # {"text": ...} / {"task": ...}: common for action items
            item = next((item[k] for k in ("text", "task", "item", "description", "name")
                         if isinstance(item.get(k), str)), None)
        if not isinstance(item, str):
            raise MalformedResult(f"{where}: expected strings, got {type(item).__name__}")
        item = " ".join(item.split())
        item = item.lower() if lower else item
        if item and item not in found:
            found.append(item)
    return found[:MAX_ITEMS]
