"""The AI provider interface the four AI tasks use, and the factory that picks one."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import httpx

from tasks.ai.inputs import ContactProfile, MeetingInfo
from tasks.ai.local import LocalProvider
from tasks.ai.openai_compat import OpenAIProvider
from tasks.ai.settings import AISettings


class Provider(Protocol):
    """What the AI tasks need from a model. Results are JSON-ready and shaped as results.py
    checks: analyze -> {sentiment: {label, score}, topics, keywords, summary, action_items};
    extract_interests -> [{interest, weight, evidence, terms}], heaviest first."""

    name: str  # recorded with every stored result
    fingerprint: str  # changes whenever the same input may give a different result

    def analyze(self, text: str) -> dict[str, Any]: ...

    def extract_interests(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """Interests behind `texts`, given newest first (newer texts may count for more)."""
        ...

    def briefing(self, meeting: MeetingInfo, attendees: Sequence[ContactProfile]) -> str:
        """A briefing for `meeting`; `attendees` are the known contacts among its attendees."""
        ...

    def draft_message(
        self, contact: ContactProfile, purpose: str, context: str | None = None, *,
        sender: str | None = None,
    ) -> str:
        """A draft to `contact` for one of PURPOSES; `context` is an optional note to include."""
        ...


@contextmanager
def open_provider(settings: AISettings) -> Iterator[Provider]:
    """The provider `settings` choose, with its HTTP client (if any) closed afterwards."""
    if settings.provider == "local":
        yield LocalProvider()
        return
    timeout = httpx.Timeout(settings.timeout, connect=min(5.0, settings.timeout))
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        yield OpenAIProvider(settings, client)
