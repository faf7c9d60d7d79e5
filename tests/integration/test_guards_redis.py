"""The Redis side of cluster rate limits and unique claims, on a real redis-server."""

from __future__ import annotations

import redis

from runtime.broker.ratelimit import Limiter, interval
from runtime.broker.unique import Claims, claim_key


def test_bookings_are_one_interval_apart_and_bounded_by_the_horizon(
    redis_client: redis.Redis,
) -> None:
    limiter = Limiter(redis_client)
    assert interval("30/m") == 2.0
    waits = [limiter.book("t", "2/s", horizon=1.7) for _ in range(6)]
    assert waits[0] == 0.0
    booked = [w for w in waits if w is not None]
    assert len(booked) == 4  # slots at 0, 0.5, 1 and 1.5 s; the next one is past the horizon
    assert all(0.3 <= b - a <= 0.5 for a, b in zip(booked, booked[1:], strict=False))
    assert waits[4:] == [None, None]
    assert limiter.book("other", "2/s", horizon=1.7) == 0.0  # one key per task
    assert 0 < redis_client.pttl("air:rate:t") <= 3000  # the key goes away when idle


def test_a_claim_is_held_once_and_released_only_by_its_holder(redis_client: redis.Redis) -> None:
    claims = Claims(redis_client)
    key = claim_key("t", ("user_id",), {"user_id": 7, "other": "ignored"})
    assert key == claim_key("t", ("user_id",), {"user_id": 7})
    assert key != claim_key("t", ("user_id",), {"user_id": 8})

    assert claims.claim(key, "first", hold=60) is None
    assert claims.claim(key, "second", hold=60) == "first"
    assert not claims.release(key, "second")
    assert claims.release(key, "first")
    assert claims.claim(key, "second", hold=60) is None
    assert 59_000 < redis_client.pttl(key) <= 60_000
