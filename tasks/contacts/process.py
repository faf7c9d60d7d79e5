"""contacts.process: normalise and enrich one contact, writing only what changes."""

from __future__ import annotations

from email.utils import parseaddr
from typing import Any

import sqlalchemy as sa
import structlog
from celery import shared_task

from tasks import store
from tasks.contacts.enrich import clean_name, company_from_domain
from tasks.data.transient import transient_database
from tasks.errors import PermanentError, require_integer

log = structlog.get_logger(__name__)


def _squash(text: str | None) -> str | None:
    """Whitespace collapsed; None for blank."""
    if text is None:
        return None
    return " ".join(text.split()) or None


def contact_changes(row: Any) -> tuple[dict[str, Any], list[str]]:
    """What processing would set on the contact (every rule, changed or not), and warnings.

    - email: the bare, lower-case address (store.normalize_email), or the raw text kept when it
      is not an address (a warning; its normalised twin is then None);
    - phone: the canonical number (store.normalize_phone), likewise kept raw when invalid;
    - name: tidied (enrich.clean_name); a blank name takes the display name of an email
      written as 'Ann Lee <ann@x.com>';
    - company: whitespace tidied; a blank one is guessed from the email domain (enrich).
    """
    warnings: list[str] = []
    target: dict[str, Any] = {}
    raw_email = _squash(row.email)
    email = store.normalize_email(raw_email)
    target["email"], target["email_normalized"] = (email, email) if email else (raw_email, None)
    if raw_email and not email:
        warnings.append(f"email {raw_email!r} is not an address")
    raw_phone = _squash(row.phone)
    phone = store.normalize_phone(raw_phone)
    target["phone"], target["phone_normalized"] = (phone, phone) if phone else (raw_phone, None)
    if raw_phone and not phone:
        warnings.append(f"phone {raw_phone!r} is not a phone number")
    name = clean_name(row.name)
    if name is None and raw_email:
        name = clean_name(parseaddr(raw_email)[0])
    target["name"] = name
    company = _squash(row.company)
    target["company"] = company or company_from_domain(store.email_domain(email))
    return target, warnings


def process_contact(conn: sa.Connection, contact_id: int) -> dict[str, Any]:
    """Apply contact_changes to the contact (or the one it was merged into); returns
    {contact_id, changed: {field: new value}, warnings}."""
    row = store.get_contact(conn, contact_id)
    if row is None:
        raise PermanentError(f"no contact {contact_id}")
    if row.merged_into is not None:
        row = store.get_contact(conn, store.resolve_contact(conn, contact_id))
        assert row is not None  # merged_into is a foreign key
    target, warnings = contact_changes(row)
    changed = {field: value for field, value in target.items() if getattr(row, field) != value}
    if changed:
        store.update_contact(conn, row.id, **changed)  # one UPDATE, only when something differs
    return {"contact_id": row.id, "changed": changed, "warnings": warnings}


@shared_task(name="contacts.process", bind=True)
def process(self: Any, contact_id: int) -> dict[str, Any]:
    """Normalise and enrich one contact; returns {contact_id, changed, warnings}, where
    `changed` maps each field written to its new value (empty on a re-run)."""
    require_integer("contact_id", contact_id)
    with transient_database(), store.transaction() as conn:
        result = process_contact(conn, contact_id)
    log.info("contact_processed", contact_id=result["contact_id"],
             changed=sorted(result["changed"]), warnings=len(result["warnings"]))
    return result
