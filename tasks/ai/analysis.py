"""ai.analyze and ai.extract_interests: analyse interactions and a contact's interests."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import structlog
from celery import shared_task

from tasks import store
from tasks.ai import context
from tasks.ai.provider import Provider, open_provider
from tasks.ai.settings import AISettings
from tasks.errors import PermanentError, TransientError

log = structlog.get_logger(__name__)

EMPTY_ANALYSIS: dict[str, Any] = {"sentiment": {"label": "neutral", "score": 0.0}, "topics": [],
                                  "keywords": [], "summary": "", "action_items": []}


def analyze_interaction(provider: Provider, interaction_id: int, settings: AISettings) -> str:
    """Analyse one interaction and store it: 'saved', or 'unchanged' when the stored analysis
    was made by the same provider from the same text (then the provider is not even asked)."""
    with store.transaction(readonly=True) as conn:
        row = store.get_interaction(conn, interaction_id)
        if row is None:
            raise PermanentError(f"no interaction {interaction_id}")
        stored = store.get_interaction_analysis(conn, interaction_id, "analysis")
    text = context.touch(row, settings.max_chars).text
    digest = context.digest(provider.fingerprint, text)
    if stored is not None and stored.results.get("input_digest") == digest:
        return "unchanged"
    results = provider.analyze(text) if text.strip() else dict(EMPTY_ANALYSIS)
    results = {**results, "engine": provider.fingerprint, "input_digest": digest}
    with store.transaction() as conn:
        if store.get_interaction(conn, interaction_id) is None:  # deleted while we worked
            return "gone"
        changed = store.save_interaction_analysis(conn, interaction_id=interaction_id,
                                                  kind="analysis", results=results,
                                                  provider=provider.name)
    log.info("interaction_analysed", interaction_id=interaction_id, provider=provider.name,
             changed=changed, topics=results["topics"][:3])
    return "saved" if changed else "unchanged"


def analyze_pending(provider: Provider, settings: AISettings, task: Any = None) -> dict[str, Any]:
    """Analyse up to `settings.batch_size` interactions that have none, each saved on its own.
    One failing item does not stop the rest; transient failures are raised at the end, so the
    retry redoes only them. Past `settings.budget` seconds no new analysis is started."""
    with store.transaction(readonly=True) as conn:
        ids = store.interactions_without_analysis(conn, kind="analysis",
                                                  limit=settings.batch_size)
    counts: Counter[str] = Counter({"saved": 0, "unchanged": 0, "failed": 0, "transient": 0,
                                    "deferred": 0})
    errors: list[str] = []
    started = time.monotonic()
    for done, interaction_id in enumerate(ids):
        if done and time.monotonic() - started > settings.budget:
            counts["deferred"] = len(ids) - done  # the next run takes them, inside the limit
            break
        try:
            counts[analyze_interaction(provider, interaction_id, settings)] += 1
        except TransientError as exc:
            counts["transient"] += 1
            errors.append(str(exc))
        except PermanentError as exc:
            counts["failed"] += 1
            errors.append(str(exc))
            log.error("interaction_analysis_failed", interaction_id=interaction_id, error=str(exc))
        if task is not None:
            task.progress(done + 1, len(ids))
    summary = {"pending": len(ids), "provider": provider.name, **counts}
    log.info("interactions_analysed", **summary)
    if counts["transient"]:
        raise TransientError(f"{counts['transient']} of {len(ids)} analyses failed transiently "
                             f"({errors[0]}); {counts['saved']} saved")
    if counts["failed"] and not (counts["saved"] or counts["unchanged"]):
        raise PermanentError(f"every analysis failed: {errors[0]}")
    return summary


def extract_contact_interests(provider: Provider, contact_id: int,
                              settings: AISettings) -> dict[str, Any]:
    """Interests from the contact's latest interactions, stored as contact analysis
    'interests'; skipped (no provider call) when the texts and provider are unchanged."""
    with store.transaction(readonly=True) as conn:
        if store.get_contact(conn, contact_id) is None:
            raise PermanentError(f"no contact {contact_id}")
        contact_id = store.resolve_contact(conn, contact_id)  # merged: use the survivor
        profile = context.contact_profile(conn, contact_id, settings)
        stored = store.get_contact_analysis(conn, contact_id, "interests")
    assert profile is not None
    texts = [touch.text for touch in profile.touches if touch.text.strip()]
    digest = context.digest(provider.fingerprint, texts)
    summary = {"contact_id": contact_id, "provider": provider.name, "interactions": len(texts)}
    if stored is not None and stored.results.get("input_digest") == digest:
        return {**summary, "status": "unchanged", "interests": len(stored.results["interests"])}
    interests = provider.extract_interests(texts) if texts else []
    results = {"interests": interests, "interactions": len(texts),
               "engine": provider.fingerprint, "input_digest": digest}
    with store.transaction() as conn:
        if store.get_contact(conn, contact_id) is None:
            return {**summary, "status": "gone", "interests": 0}
        changed = store.save_contact_analysis(conn, contact_id=contact_id, kind="interests",
                                              results=results, provider=provider.name)
    log.info("interests_extracted", contact_id=contact_id, changed=changed,
             interests=[i["interest"] for i in interests[:5]])
    return {**summary, "status": "saved" if changed else "unchanged", "interests": len(interests)}


@shared_task(name="ai.analyze", bind=True)
def analyze(self: Any, interaction_id: int | None = None) -> dict[str, Any]:
    """Analyse interaction `interaction_id` (sentiment, topics, keywords, summary, action
    items), or without it every interaction not analysed yet (AIR_AI_BATCH_SIZE per run)."""
    settings = AISettings.from_env()
    with open_provider(settings) as provider:
        if interaction_id is None:
            return analyze_pending(provider, settings, task=self)
        status = analyze_interaction(provider, int(interaction_id), settings)
    return {"interaction_id": int(interaction_id), "provider": provider.name, "status": status}


@shared_task(name="ai.extract_interests", bind=True)
def extract_interests(self: Any, contact_id: int) -> dict[str, Any]:
    """Extract and store the interests of contact `contact_id` from their interactions."""
    settings = AISettings.from_env()
    with open_provider(settings) as provider:
        return extract_contact_interests(provider, int(contact_id), settings)
