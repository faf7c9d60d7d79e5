"""Where a workflow run stands, in one Redis hash per run: its name, how many task runs it
makes, how many have succeeded, and its state (running, succeeded, failed). One more hash
counts runs per workflow and state, moved in the same script as the state itself, so
`air status` and the exporter read the counts with one HGETALL instead of a scan of runs."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from runtime.broker.redis_values import text

KEY = "air:workflow:{}"
COUNTS = "air:workflow:counts"  # hash: "workflow:state" -> runs (running now; ended ever)
STATES = ("running", "succeeded", "failed")
# Message headers of every step of a run (runtime/sending/workflows.py sets them).
NAME, RUN, STEP = "air_workflow", "air_workflow_id", "air_workflow_step"
KEEP = 7 * 86400  # seconds a run's record outlives its last step

# Moves a run from state `from` to `to` and its workflow's counts with it; a run in another
# state is left alone (a duplicate step report must not count twice).
_MOVE = """
local function move(from, to)
  if redis.call('HGET', KEYS[1], 'state') ~= from then return end
  local name = redis.call('HGET', KEYS[1], 'name')
  redis.call('HSET', KEYS[1], 'state', to)
  redis.call('HINCRBY', KEYS[2], name .. ':' .. from, -1)
  redis.call('HINCRBY', KEYS[2], name .. ':' .. to, 1)
end
"""
# KEYS[1] the run, KEYS[2] the counts; ARGV[1] the outcome ('done' or 'failed'), ARGV[2] the
# step, ARGV[3] keep (s).
_STEP_ENDED = (
    _MOVE
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] == 'failed' then
  move('running', 'failed')
  redis.call('HSET', KEYS[1], 'failed_step', ARGV[2])
else
  local done = redis.call('HINCRBY', KEYS[1], 'done', 1)
  if done >= tonumber(redis.call('HGET', KEYS[1], 'total')) then move('running', 'succeeded') end
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""
)
# KEYS as above; ARGV[1] the task runs done before the step replayed, ARGV[2] keep (s).
_RESUME = (
    _MOVE
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
move('failed', 'running')
redis.call('HSET', KEYS[1], 'done', ARGV[1])
redis.call('HDEL', KEYS[1], 'failed_step')
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
"""
)


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
        self._resume = client.register_script(_RESUME)

    def start(self, run_id: str, name: str, total: int) -> None:
        with self.client.pipeline() as pipe:  # MULTI/EXEC: the record and its count together
            for command, (key, *args) in self.start_commands(run_id, name, total):
                pipe.execute_command(command.upper(), key, *args)
            pipe.execute()

    @staticmethod
    def start_commands(run_id: str, name: str, total: int) -> list[tuple[str, tuple[Any, ...]]]:
        """The Redis commands that record a new run, as (command, (key, *args)): beat runs
        them inside its fire commit (runtime/broker/fires.py)."""
        key = KEY.format(run_id)
        fields = {"name": name, "total": total, "done": 0, "state": "running"}
        flat = [str(x) for item in {**fields, "started_at": time.time()}.items() for x in item]
        return [
            ("hset", (key, *flat)),
            ("expire", (key, KEEP)),
            ("hincrby", (COUNTS, f"{name}:running", 1)),
        ]

    def resume(self, run_id: str, done: int) -> None:
        """A replay runs the workflow again from a step: `done` task runs came before it."""
        self._resume(keys=[KEY.format(run_id), COUNTS], args=[done, KEEP])

    def step_ended(self, run_id: str, step: str, *, succeeded: bool) -> None:
        outcome = "done" if succeeded else "failed"
        self._step_ended(keys=[KEY.format(run_id), COUNTS], args=[outcome, step, KEEP])

    def counts(self) -> dict[str, dict[str, int]]:
        """Runs per workflow and state: {'nightly-pipeline': {'running': 1, 'succeeded': 9,
        'failed': 0}}. `running` is the runs in flight now; the ended states count every run
        that ended (their records expire after KEEP, the counts do not)."""
        found: dict[str, dict[str, int]] = {}
        for field, value in self.client.hgetall(COUNTS).items():
            name, _, state = text(field).rpartition(":")
            found.setdefault(name, dict.fromkeys(STATES, 0))[state] = int(value)
        return found

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
