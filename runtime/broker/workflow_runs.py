"""Where a workflow run stands, in one Redis hash per run: its name, how many task runs it
makes, how many have succeeded, and its state (running, succeeded, failed)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from runtime.broker.redis_values import text

KEY = "air:workflow:{}"
# Message headers of every step of a run (runtime/sending/workflows.py sets them).
NAME, RUN, STEP = "air_workflow", "air_workflow_id", "air_workflow_step"
KEEP = 7 * 86400  # seconds a run's record outlives its last step

# KEYS[1] the run; ARGV[1] the outcome ('done' or 'failed'), ARGV[2] the step, ARGV[3] keep (s).
_STEP_ENDED = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] == 'failed' then
  redis.call('HSET', KEYS[1], 'state', 'failed', 'failed_step', ARGV[2])
else
  local done = redis.call('HINCRBY', KEYS[1], 'done', 1)
  if done >= tonumber(redis.call('HGET', KEYS[1], 'total')) then
    redis.call('HSET', KEYS[1], 'state', 'succeeded')
  end
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    name: str
    total: int
    done: int
    state: str  # running | succeeded | failed
    failed_step: str | None
    started_at: float


class WorkflowRuns:
    def __init__(self, client: Any) -> None:
        self.client = client
        self._step_ended = client.register_script(_STEP_ENDED)

    def start(self, run_id: str, name: str, total: int) -> None:
        key = KEY.format(run_id)
        fields = {"name": name, "total": total, "done": 0, "state": "running"}
        with self.client.pipeline() as pipe:
            pipe.hset(key, mapping={**fields, "started_at": time.time()})
            pipe.expire(key, KEEP)
            pipe.execute()

    def resume(self, run_id: str, done: int) -> None:
        """A replay runs the workflow again from a step: `done` task runs came before it."""
        key = KEY.format(run_id)
        with self.client.pipeline() as pipe:
            pipe.hset(key, mapping={"done": done, "state": "running"})
            pipe.hdel(key, "failed_step")
            pipe.expire(key, KEEP)
            pipe.execute()

    def step_ended(self, run_id: str, step: str, *, succeeded: bool) -> None:
        outcome = "done" if succeeded else "failed"
        self._step_ended(keys=[KEY.format(run_id)], args=[outcome, step, KEEP])

    def get(self, run_id: str) -> Run | None:
        raw = {text(k): text(v) for k, v in self.client.hgetall(KEY.format(run_id)).items()}
        if not raw:
            return None
        return Run(
            id=run_id,
            name=raw["name"],
            total=int(raw["total"]),
            done=int(raw["done"]),
            state=raw["state"],
            failed_step=raw.get("failed_step"),
            started_at=float(raw.get("started_at", 0)),
        )
