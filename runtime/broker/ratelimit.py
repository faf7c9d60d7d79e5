"""Cluster-wide rate limits: every worker of every pool books task starts in one Redis key.

GCRA with booking: the key holds the earliest time the next start may happen (the theoretical
arrival time). Each start takes the slot max(now, tat) and moves tat one interval on, in one
atomic script on Redis's own clock, so workers on different hosts agree without synchronised
clocks. A start whose slot is later than now is not run now: the caller sends the task again to
start at its slot, so no worker process sleeps on a denied slot, and the rate holds over any
window however many workers ask.
"""

from __future__ import annotations

from typing import Any

from runtime.config.units import parse_rate

KEY = "air:rate:{task}"

# KEYS[1] the task's key; ARGV[1] interval (µs); ARGV[2] the latest slot it may book (µs from
# now). Returns the booked slot's distance from now in µs (0: start now), or -1 when the next
# free slot is further away than ARGV[2] (nothing is booked then: the caller re-asks later).
_BOOK = """
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000000 + tonumber(now[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - now
if wait > tonumber(ARGV[2]) then return -1 end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX',
           math.ceil((next_tat - now) / 1000) + 1000)
return wait
"""


def interval(rate: str) -> float:
    """Seconds between two starts for a rate such as '30/m'."""
    parsed = parse_rate(rate)
    return 1.0 / parsed.per_second


class Limiter:
    """Books starts for rate-limited tasks on one Redis connection."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._book = client.register_script(_BOOK)

    def book(self, task: str, rate: str, horizon: float) -> float | None:
        """Seconds until this start's slot (0.0: start now), or None when no slot is free within
        `horizon` seconds (ask again later)."""
        wait = int(
            self._book(
                keys=[KEY.format(task=task)],
                args=[round(interval(rate) * 1e6), round(horizon * 1e6)],
            )
        )
        return None if wait < 0 else wait / 1e6
