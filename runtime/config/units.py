"""Durations (`30s`, `1.5s`, `5m`, `2h`, `1d`, or seconds), sizes, rates (`30/m`) and priorities."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

DURATION_PATTERN = (
    r"^([0-9]{1,10}(\.[0-9]+)?s|[0-9]{1,8}(\.[0-9]+)?m|[0-9]{1,6}(\.[0-9]+)?h"
    r"|[0-9]{1,5}(\.[0-9]+)?d)$"
)
# At most ~100 years either way, so adding a duration to any date stays a valid datetime.
DURATION_MAX_SECONDS = 10**10
# At most 999,999,999 per unit: a count that still converts to an int anywhere (Celery, GCRA).
RATE_PATTERN = r"^[0-9]{1,9}(\.[0-9]{1,9})?/(s|m|h)$"

_DURATION = re.compile(DURATION_PATTERN)
_RATE = re.compile(RATE_PATTERN)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

PRIORITY_MIN, PRIORITY_MAX = 1, 10  # air's scale: 10 is the most urgent


def parse_duration(value: str | int | float) -> timedelta:
    """`90` -> 90 s; `'5m'` -> 5 minutes. Raises ValueError on anything else."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        if not 0 <= value <= DURATION_MAX_SECONDS:  # NaN fails both comparisons
            raise ValueError(f"duration out of range: {value!r}")
        return timedelta(seconds=value)
    if not isinstance(value, str):  # a list or mapping where a duration belongs
        raise ValueError(f"not a duration: {value!r}")
    text = value.strip()
    if not _DURATION.match(text):
        raise ValueError(f"not a duration: {value!r}")
    return timedelta(seconds=float(text[:-1]) * _SECONDS[text[-1]])


def format_duration(delta: timedelta) -> str:
    """The shortest exact form: 90 s -> '90s', 3600 s -> '1h'."""
    seconds = delta.total_seconds()
    for unit in ("d", "h", "m", "s"):
        count = seconds / _SECONDS[unit]
        if count >= 1 and count == int(count):
            return f"{int(count)}{unit}"
    return f"{seconds:g}s"


SIZE_PATTERN = r"^[0-9]+(KiB|MiB|GiB|KB|MB|GB)$"
_SIZE = re.compile(SIZE_PATTERN)
_KIB = {
    "KiB": 1,
    "MiB": 1024,
    "GiB": 1024 * 1024,
    "KB": 1000 / 1024,
    "MB": 1000**2 / 1024,
    "GB": 1000**3 / 1024,
}


def parse_size_kib(value: str | int) -> int:
    """A memory size -> KiB, the unit of Celery's --max-memory-per-child. Integers are KiB."""
    if isinstance(value, bool):
        raise ValueError(f"not a size: {value!r}")
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        raise ValueError(f"not a size: {value!r}")
    match = _SIZE.match(value.strip())
    if not match:
        raise ValueError(f"not a size: {value!r}")
    return int(int(value.strip()[: -len(match.group(1))]) * _KIB[match.group(1)])


@dataclass(frozen=True, slots=True)
class Rate:
    """At most `count` task starts per `per` seconds, per worker node (Celery's rule)."""

    count: float
    per: str  # 's', 'm' or 'h'

    def __str__(self) -> str:
        count = int(self.count) if self.count == int(self.count) else self.count
        return f"{count}/{self.per}"

    @property
    def per_second(self) -> float:
        return self.count / _SECONDS[self.per]


def parse_rate(value: str) -> Rate:
    if not isinstance(value, str) or not _RATE.match(value.strip()):
        raise ValueError(f"not a rate: {value!r}")
    count, per = value.strip().split("/")
    return Rate(float(count), per)


def redis_priority(priority: int) -> int:
    """air priority 1..10 (10 most urgent) -> kombu's Redis priority 0..9 (0 most urgent)."""
    return PRIORITY_MAX - priority
