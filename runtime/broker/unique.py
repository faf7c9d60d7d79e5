"""Unique tasks: while one task of a name and key is queued or running, another send of it is a
no-op that returns the first one's id. A claim is one Redis key holding that id, set only if
absent and with a TTL (`unique.for`), so a crashed worker's claim expires instead of leaking;
the task releases it when it ends, and only if the claim is still its own."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

KEY = "air:unique:{task}:{digest}"

# KEYS[1] the claim; ARGV[1] the task id that ends. Deletes the claim only if it is this task's.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def claim_key(task: str, names: Sequence[str], arguments: Mapping[str, Any]) -> str:
    """The claim for `task` with the values of `names` in `arguments` (missing ones are null)."""
    values = json.dumps([arguments.get(name) for name in names], sort_keys=True, default=str)
    digest = hashlib.sha256(values.encode()).hexdigest()[:32]
    return KEY.format(task=task, digest=digest)


class Claims:
    def __init__(self, client: Any) -> None:
        self.client = client
        self._release = client.register_script(_RELEASE)

    def claim(self, key: str, task_id: str, hold: float) -> str | None:
        """Claim `key` for `task_id` for `hold` seconds; the id already holding it, or None."""
        while True:
            if self.client.set(key, task_id, nx=True, px=max(1, round(hold * 1000))):
                return None
            holder = self.client.get(key)
            if holder is not None:  # else it expired in between: try again
                return holder.decode() if isinstance(holder, bytes) else str(holder)

    def release(self, key: str, task_id: str) -> bool:
        return bool(self._release(keys=[key], args=[task_id]))
