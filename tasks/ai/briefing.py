"""ai.generate_briefing: a briefing for a meeting from its attendees' history in the store."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import structlog
from celery import shared_task

from tasks import store
from tasks.ai import context
from tasks.ai.provider import Provider, open_provider
from tasks.ai.settings import AISettings
from tasks.errors import PermanentError, TransientError

log = structlog.get_logger(__name__)


def brief_meetings(
    provider: Provider, settings: AISettings, *, meeting_id: int | None = None,
    now: Callable[[], datetime] = store.utcnow, task: Any = None,
) -> dict[str, Any]:
    """Write the briefing of `meeting_id`, or of every meeting starting within
    `settings.briefing_hours` that has none yet.

    The provider works outside any transaction; the briefings it wrote are saved together in
    one transaction at the end, whatever happened to the others. Then a transient failure is
    raised (the retry redoes only the meetings still without a briefing); a permanent one only
    if nothing was written. Past `settings.budget` seconds no new briefing is started: the
    rest are 'deferred' to the next run, inside the task's time limit.
    """
    with store.transaction(readonly=True) as conn:
        if meeting_id is not None:
            meeting = store.get_meeting(conn, meeting_id)
            if meeting is None:
                raise PermanentError(f"no meeting {meeting_id}")
            meetings = [meeting]
        else:
            start = now()
            meetings = store.upcoming_meetings(
                conn, start=start, end=start + timedelta(hours=settings.briefing_hours),
                without_briefing=True)
        contexts = [context.meeting_context(conn, m, settings) for m in meetings]
    log.info("briefings_due", meetings=len(contexts), provider=provider.name)
    written: dict[int, str] = {}
    transient: list[str] = []
    permanent: list[str] = []
    started = time.monotonic()
    for done, (info, attendees) in enumerate(contexts):
        if done and time.monotonic() - started > settings.budget:
            break
        try:
            written[info.meeting_id] = provider.briefing(info, attendees)
        except (TransientError, PermanentError) as exc:
            failures = transient if isinstance(exc, TransientError) else permanent
            failures.append(f"meeting {info.meeting_id}: {exc}")
            log.warning("briefing_failed", meeting_id=info.meeting_id, error=str(exc),
                        transient=isinstance(exc, TransientError))
        if task is not None:
            task.progress(done + 1, len(contexts))
    changed = _save(written, provider.name)
    attempted = len(written) + len(transient) + len(permanent)
    summary = {"meetings": len(contexts), "written": len(written), "changed": changed,
               "failed": len(permanent), "deferred": len(contexts) - attempted,
               "provider": provider.name, "meeting_ids": sorted(written)}
    log.info("briefings_done", **{k: v for k, v in summary.items() if k != "meeting_ids"})
    if transient:
        raise TransientError(f"{len(transient)} briefing(s) failed transiently, "
                             f"{len(written)} saved; first: {transient[0]}")
    if permanent and not written:
        raise PermanentError(permanent[0])
    return summary


def _save(written: dict[int, str], provider: str) -> int:
    """Store the briefings in one transaction; returns how many were new or different."""
    if not written:
        return 0
    changed = 0
    with store.transaction() as conn:
        for meeting_id, content in sorted(written.items()):
            if store.get_meeting(conn, meeting_id) is None:  # deleted while we wrote
                continue
            changed += store.save_briefing(conn, meeting_id=meeting_id, content=content,
                                           provider=provider)
    return changed


@shared_task(name="ai.generate_briefing", bind=True)
def generate_briefing(self: Any, meeting_id: int | None = None) -> dict[str, Any]:
    """Brief meeting `meeting_id` (rewriting its briefing), or every meeting in the next
    AIR_AI_BRIEFING_HORIZON hours that has no briefing yet."""
    settings = AISettings.from_env()
    with open_provider(settings) as provider:
        return brief_meetings(provider, settings, task=self,
                              meeting_id=None if meeting_id is None else int(meeting_id))
