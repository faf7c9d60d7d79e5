"""Values read back from redis-py, as text.

air's clients return bytes (no decode_responses); redis-py's own type hints (8.x) declare
most replies as `bytes | str` or wider, so the conversion lives here, once.
"""

from __future__ import annotations


def text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, str):
        return value
    raise TypeError(f"expected a Redis string reply, got {type(value).__name__}")
