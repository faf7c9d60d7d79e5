"""ai.generate_message: draft a message to a contact for a purpose, from their history."""

from __future__ import annotations

from typing import Any

import structlog
from celery import shared_task

from tasks import store
from tasks.ai import context
from tasks.ai.inputs import PURPOSES
from tasks.ai.provider import Provider, open_provider
from tasks.ai.settings import AISettings
from tasks.errors import PermanentError

log = structlog.get_logger(__name__)


def draft_for(
    provider: Provider, settings: AISettings, *, contact_id: int, purpose: str,
    note: str | None = None,
) -> dict[str, Any]:
    """Draft and store the message for (contact, purpose); one draft per pair, replaced."""
    if purpose not in PURPOSES:
        raise PermanentError(f"purpose {purpose!r} is not one of {', '.join(PURPOSES)}")
    with store.transaction(readonly=True) as conn:
        contact = store.get_contact(conn, contact_id)
        if contact is None:
            raise PermanentError(f"no contact {contact_id}")
        contact_id = store.resolve_contact(conn, contact_id)  # merged: write to the survivor
        profile = context.contact_profile(conn, contact_id, settings)
        sender = context.sender_name(conn, contact.user_id)
    assert profile is not None
    draft = provider.draft_message(profile, purpose, note, sender=sender)
    with store.transaction() as conn:
        if store.get_contact(conn, contact_id) is None:  # deleted while we wrote
            return {"contact_id": contact_id, "purpose": purpose, "provider": provider.name,
                    "status": "gone"}
        changed = store.save_generated_message(conn, contact_id=contact_id, purpose=purpose,
                                               draft=draft, provider=provider.name)
    log.info("message_drafted", contact_id=contact_id, purpose=purpose, changed=changed,
             chars=len(draft))
    return {"contact_id": contact_id, "purpose": purpose, "provider": provider.name,
            "status": "saved" if changed else "unchanged", "chars": len(draft)}


@shared_task(name="ai.generate_message", bind=True)
def generate_message(
    self: Any, contact_id: int, purpose: str, context: str | None = None
) -> dict[str, Any]:
    """Draft a `purpose` message (follow_up, check_in, intro, thank_you) to `contact_id`;
    `context` is an optional note for the draft to include."""
    settings = AISettings.from_env()
    with open_provider(settings) as provider:
        return draft_for(provider, settings, contact_id=int(contact_id), purpose=str(purpose),
                         note=context)
