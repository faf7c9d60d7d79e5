"""Settings of the contact tasks (processing, interaction analysis, scoring), from env vars."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactsSettings:
    """Read once per task run with `from_env()`."""

    batch_size: int = 500  # AIR_CONTACTS_BATCH_SIZE: interactions or contacts per transaction

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> ContactsSettings:
        base = cls()  # slots: the class attributes are descriptors, not the defaults
        raw = env.get("AIR_CONTACTS_BATCH_SIZE", "").strip()
        batch_size = int(raw) if raw else base.batch_size
        if batch_size < 1:
            raise ValueError(f"AIR_CONTACTS_BATCH_SIZE={raw!r}: must be a positive integer")
        return cls(batch_size=batch_size)
