"""Exactly-once schedule fires across any number of beats: one Lua script advances a schedule's
cursor with compare-and-set and, in the same atomic step, takes the unique-task claims the
fire's messages need, pushes the messages and records the outcome. A beat killed at any instant
has either done all of it or none of it. A fire whose claim another task still holds (a unique
task queued or running) pushes nothing and counts as an overlap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis

from runtime.broker.redis_values import text

CURSOR = "air:beat:cursor"  # hash: schedule -> ms since the epoch up to which fires are handled
STATS = "air:beat:stats"  # hash: "schedule:sent|missed|overlap" -> count
LAST_RUN = "air:beat:last_run"  # hash: schedule -> ISO time of the last fire sent
RUNNING = "air:beat:running:{}"  # task id of a schedule's run that may still be going
OUTCOMES = ("sent", "missed", "overlap")
# The only Redis commands a fire may run: kombu's Redis transport's to publish one message (see
# capture.py), and those that record a workflow run (workflow_runs.start_commands).
PUBLISH_COMMANDS = frozenset({"lpush", "pexpire", "publish", "hset", "expire", "hincrby"})

# KEYS: cursor, stats, last run, running marker, the claims, then each command's key. ARGV[1..8]:
# schedule, expected cursor, new cursor, outcome, count, fired at, task id, marker TTL; ARGV[9]
# the number of claims, then (task id, ms) per claim, then (name, count, args...) per command.
# Returns the outcome recorded, or nil when the cursor had moved (nothing changed).
_SCRIPT = """
local current = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if current ~= ARGV[2] then return false end
local outcome, claims = ARGV[4], tonumber(ARGV[9])
if outcome == 'sent' then
  for c = 1, claims do
    if redis.call('EXISTS', KEYS[4 + c]) == 1 then outcome = 'overlap' end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HINCRBY', KEYS[2], ARGV[1] .. ':' .. outcome, tonumber(ARGV[5]))
if outcome ~= 'sent' then return outcome end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[6])
if ARGV[8] ~= '0' then redis.call('SET', KEYS[4], ARGV[7], 'EX', ARGV[8]) end
for c = 1, claims do
  redis.call('SET', KEYS[4 + c], ARGV[8 + 2 * c], 'PX', ARGV[9 + 2 * c])
end
local key, i = 5 + claims, 10 + 2 * claims
while i <= #ARGV do
  local name, count = ARGV[i], tonumber(ARGV[i + 1])
  redis.call(name, KEYS[key], unpack(ARGV, i + 2, i + 1 + count))
  key, i = key + 1, i + 2 + count
end
return outcome
"""


@dataclass(frozen=True, slots=True)
class Claim:
    """A unique task's claim (runtime/broker/unique.py) for the message of `task_id`."""

    key: str
    task_id: str
    hold: float  # seconds


@dataclass(frozen=True, slots=True, kw_only=True)
class Fire:
    """One step of a schedule's cursor, and what happened to the fires it covers."""

    schedule: str
    expected: str  # the cursor as read ('' when the schedule never ran)
    cursor_ms: int  # the cursor after this step: the last fire it covers
    outcome: str  # one of OUTCOMES
    count: int = 1
    fired_at: str = ""  # ISO time of the fire (sent only)
    task_id: str = ""
    running_ttl: int = 0  # seconds the overlap marker lives; 0: no marker (overlap: allow)
    commands: Sequence[tuple[str, tuple[Any, ...]]] = ()  # kombu's publish commands
    claims: Sequence[Claim] = ()  # unique-task claims the messages need (sent only)


class Fires:
    """The cursor store of one broker."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._script = client.register_script(_SCRIPT)

    def cursor(self, schedule: str) -> str:
        raw = self.client.hget(CURSOR, schedule)
        return "" if raw is None else text(raw)

    def start(self, schedule: str, now_ms: int) -> str:
        """The schedule's cursor, set to now if it has none: a new schedule does not replay
        the past."""
        self.client.hsetnx(CURSOR, schedule, str(now_ms))
        return self.cursor(schedule)

    def running(self, schedule: str) -> str | None:
        raw = self.client.get(RUNNING.format(schedule))
        return None if raw is None else text(raw)

    def commit(self, fire: Fire) -> str | None:
        """Apply the step if the cursor still reads `expected`: the outcome recorded (`overlap`
        for a sent fire whose claim is held), or None when another beat got there first
        (nothing was changed or sent)."""
        if fire.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {fire.outcome!r}")
        keys: list[Any] = [CURSOR, STATS, LAST_RUN, RUNNING.format(fire.schedule)]
        args: list[Any] = [
            fire.schedule,
            fire.expected,
            str(fire.cursor_ms),
            fire.outcome,
            fire.count,
            fire.fired_at,
            fire.task_id,
            fire.running_ttl,
            len(fire.claims),
        ]
        for claim in fire.claims:
            keys.append(claim.key)
            args += [claim.task_id, max(1, round(claim.hold * 1000))]
        for name, (key, *rest) in fire.commands:
            if name not in PUBLISH_COMMANDS:
                raise ValueError(f"unexpected publish command {name!r}")
            keys.append(key)
            args += [name, len(rest), *rest]
        outcome = self._script(keys=keys, args=args)
        return None if outcome is None else text(outcome)

    def stats(self) -> dict[str, dict[str, int]]:
        """Counts per schedule: {'token-refresh': {'sent': 12, 'missed': 1, 'overlap': 0}}."""
        counts: dict[str, dict[str, int]] = {}
        for field, value in self.client.hgetall(STATS).items():
            schedule, _, outcome = text(field).rpartition(":")
            counts.setdefault(schedule, dict.fromkeys(OUTCOMES, 0))[outcome] = int(value)
        return counts
