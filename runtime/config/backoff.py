"""Retry delays: one formula for validation (worst case), `air show` and the task base class."""

from __future__ import annotations

import random


def delay(
    backoff: str,
    initial: float,
    max_delay: float,
    jitter: bool,
    retries: int,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number `retries + 1` (`retries` counts those already done).

    exponential: initial * 2**retries; fixed: initial; none: 0. Capped at max_delay. Jitter picks
    uniformly between half and all of the delay, so failures do not retry in lockstep.
    """
    if backoff == "none":
        return 0.0
    seconds = initial * (2 ** min(retries, 62) if backoff == "exponential" else 1)
    seconds = min(seconds, max_delay)
    if jitter:
        seconds *= 0.5 + (rng or random).random() / 2
    return seconds
