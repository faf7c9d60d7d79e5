"""The AI provider interface the four AI tasks use, the plain data it takes, and the factory."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx

from tasks.ai.settings import AISettings

PURPOSES = ("follow_up", "check_in", "intro", "thank_you")


@dataclass(frozen=True, slots=True, kw_only=True)
class Touch:
    """One interaction as the providers see it: its cleaned text, without database ids."""

    occurred_at: datetime
    kind: str
    direction: str | None
    subject: str | None
    body: str

    @property
    def text(self) -> str:
        return "\n\n".join(part for part in (self.subject, self.body) if part)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactProfile:
    """A contact with their most recent interactions (newest first) and stored interests."""

    contact_id: int
    name: str | None
    email: str | None
    company: str | None
    last_touch_at: datetime | None
    touches: tuple[Touch, ...] = ()
    interests: tuple[dict[str, Any], ...] = ()  # as extract_interests returns them
    timezone: str = "UTC"  # the owner's IANA zone, for the dates a text mentions

    @property
    def display_name(self) -> str:
        return self.name or self.email or f"contact {self.contact_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingInfo:
    meeting_id: int
    title: str | None
    starts_at: datetime
    ends_at: datetime
    location: str | None
    description: str | None
    attendees: tuple[str, ...]  # normalised emails, the owner's own excluded
    timezone: str = "UTC"  # the owner's IANA zone, for the times a briefing shows


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
    # Imported here: both implementations import this module's types.
    if settings.provider == "local":
        from tasks.ai.local import LocalProvider

        yield LocalProvider()
        return
    from tasks.ai.openai_compat import OpenAIProvider

    timeout = httpx.Timeout(settings.timeout, connect=min(5.0, settings.timeout))
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        yield OpenAIProvider(settings, client)
