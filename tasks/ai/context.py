"""What the AI tasks hand a provider, read from the store: contact profiles and meetings."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from tasks import store
from tasks.ai.inputs import ContactProfile, MeetingInfo, Touch
from tasks.ai.settings import AISettings
from tasks.ai.text import clean_body, truncate

_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|fwd?|aw|wg|sv|tr)\s*(?:\[\d+\])?\s*:\s*)+", re.I)


def clean_subject(subject: str | None) -> str | None:
    """The subject without its "Re: Fwd:" chain; None when nothing is left."""
    cleaned = " ".join(_REPLY_PREFIX.sub("", subject or "").split())
    return cleaned or None


def tidy_name(name: str | None) -> str | None:
    """Spaces collapsed; a word typed in one case ("ann LEE") capitalised, others kept (McKay)."""
    words = [w.capitalize() if w.islower() or w.isupper() else w for w in (name or "").split()]
    return " ".join(words) or None


def touch(row: Any, max_chars: int) -> Touch:
    """An interaction row as a provider sees it: quoted replies and signature stripped."""
    return Touch(occurred_at=row.occurred_at, kind=row.kind, direction=row.direction,
                 subject=clean_subject(row.subject),
                 body=truncate(clean_body(row.body), max_chars))


def owner_zone(conn: sa.Connection, user_id: int) -> str:
    """The owner's IANA time zone, or UTC when it is unset or unknown."""
    user = store.get_user(conn, user_id)
    zone = (user.timezone if user is not None else None) or "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return zone


def contact_profile(
    conn: sa.Connection, contact_id: int, settings: AISettings, *,
    before: datetime | None = None,
) -> ContactProfile | None:
    """The contact with their latest `settings.history` interactions and stored interests."""
    row = store.get_contact(conn, contact_id)
    if row is None:
        return None
    rows = store.recent_interactions(conn, contact_id=contact_id, limit=settings.history,
                                     before=before)
    stored = store.get_contact_analysis(conn, contact_id, "interests")
    interests = stored.results.get("interests", []) if stored is not None else []
    return ContactProfile(
        contact_id=row.id, name=tidy_name(row.name),
        email=row.email_normalized or row.email, company=row.company,
        last_touch_at=row.last_touch_at, touches=tuple(touch(r, settings.max_chars) for r in rows),
        interests=tuple(interests), timezone=owner_zone(conn, row.user_id),
    )


def meeting_context(
    conn: sa.Connection, meeting: Any, settings: AISettings
) -> tuple[MeetingInfo, list[ContactProfile]]:
    """The meeting and a profile of each attendee who is one of the owner's contacts, with the
    history from before the meeting."""
    owner = store.get_user(conn, meeting.user_id)
    own_email = store.normalize_email(owner.email) if owner is not None else None
    emails = tuple(e for e in dict.fromkeys(meeting.attendees or []) if e and e != own_email)
    profiles: list[ContactProfile] = []
    for email in emails:
        contact_id = store.find_contact(conn, user_id=meeting.user_id, email=email)
        profile = None if contact_id is None else contact_profile(
            conn, contact_id, settings, before=meeting.starts_at)
        if profile is not None and all(p.contact_id != profile.contact_id for p in profiles):
            profiles.append(profile)
    info = MeetingInfo(
        meeting_id=meeting.id, title=meeting.title, starts_at=meeting.starts_at,
        ends_at=meeting.ends_at, location=meeting.location, description=meeting.description,
        attendees=emails, timezone=owner_zone(conn, meeting.user_id),
    )
    return info, profiles


def sender_name(conn: sa.Connection, user_id: int) -> str | None:
    user = store.get_user(conn, user_id)
    return None if user is None else (user.name or user.email)


def digest(fingerprint: str, inputs: Any) -> str:
    """A short hash of what a result was computed from: the provider's fingerprint and inputs."""
    payload = json.dumps([fingerprint, inputs], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]
