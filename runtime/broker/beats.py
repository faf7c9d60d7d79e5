"""Beat liveness: each running beat refreshes a heartbeat key with a TTL; `live_beats` lists the
beats whose key has not expired (for `air status` and `air health`)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import redis

from runtime.broker.redis_values import text

ALIVE = "air:beat:alive:{}"  # JSON BeatInfo per beat ("host:pid"), expires unless refreshed
ALIVE_TTL = 10  # seconds: a beat ticks at least every second, so only a dead one lets it lapse


@dataclass(frozen=True, slots=True, kw_only=True)
class BeatInfo:
    host: str
    pid: int
    started: float  # Unix time
    last_tick: float  # Unix time
    schedules: int

    @property
    def name(self) -> str:
        return f"{self.host}:{self.pid}"


def beat_alive(client: redis.Redis, info: BeatInfo) -> None:
    client.set(ALIVE.format(info.name), json.dumps(asdict(info)), ex=ALIVE_TTL)


def beat_gone(client: redis.Redis, info: BeatInfo) -> None:
    client.delete(ALIVE.format(info.name))


def live_beats(client: redis.Redis) -> list[BeatInfo]:
    """Every beat that ticked within the last ALIVE_TTL seconds, by host and pid."""
    beats = []
    for key in client.scan_iter(match=ALIVE.format("*"), count=100):
        raw = client.get(key)
        if raw is None:  # expired between SCAN and GET
            continue
        beats.append(BeatInfo(**json.loads(text(raw))))
    return sorted(beats, key=lambda b: (b.host, b.pid))
