"""Settings of the sync tasks (mail and calendar), read from AIR_SYNC_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from tasks.env import number, positive_int


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncSettings:
    """Read once per task run with `from_env()`."""

    batch_size: int = 200  # AIR_SYNC_BATCH_SIZE: messages or files per transaction
    max_body_chars: int = 100_000  # AIR_SYNC_MAX_BODY_CHARS: longer bodies are cut
    max_recipients: int = 10  # AIR_SYNC_MAX_RECIPIENTS: contacts per sent message, at most
    # AIR_SYNC_MAILDIR_SLACK, seconds: a Maildir message whose file is older than the newest one
    # seen by up to this much is still picked up (deliveries are renamed into new/ after being
    # written, and fetchers run for minutes, so files can appear out of mtime order). The cursor
    # keeps the keys of the messages within this window of the newest (about 50 bytes each).
    maildir_slack: float = 3600.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> SyncSettings:
        base = cls()  # slots: the class attributes are descriptors, not the defaults
        slack = number(env, "AIR_SYNC_MAILDIR_SLACK", base.maildir_slack, float, minimum=0.0,
                       problem="must not be negative")
        return cls(
            batch_size=positive_int(env, "AIR_SYNC_BATCH_SIZE", base.batch_size),
            max_body_chars=positive_int(env, "AIR_SYNC_MAX_BODY_CHARS", base.max_body_chars),
            max_recipients=positive_int(env, "AIR_SYNC_MAX_RECIPIENTS", base.max_recipients),
            maildir_slack=slack,
        )
