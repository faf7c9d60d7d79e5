"""The plain data the AI providers take: interactions, contacts, meetings (no database ids)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

PURPOSES = ("follow_up", "check_in", "intro", "thank_you")


def check_purpose(purpose: str) -> None:
    """Raise ValueError unless `purpose` is one of PURPOSES (a provider's draft_message)."""
    if purpose not in PURPOSES:
        raise ValueError(f"purpose {purpose!r} is not one of {PURPOSES}")


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
