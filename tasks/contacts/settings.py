"""Settings of the contact tasks (processing, interaction analysis, scoring), from env vars."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from tasks.env import positive_int


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactsSettings:
    """Read once per task run with `from_env()`."""

    batch_size: int = 500  # AIR_CONTACTS_BATCH_SIZE: interactions or contacts per transaction

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> ContactsSettings:
        base = cls()  # slots: the class attributes are descriptors, not the defaults
        return cls(batch_size=positive_int(env, "AIR_CONTACTS_BATCH_SIZE", base.batch_size))
