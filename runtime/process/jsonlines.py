"""One JSON object a line for what `air up` prints when no person is watching: its own notes,
and its children's output tagged with the child's name."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any


def note(event: str, *, level: str = "info", logger: str = "air.up", **fields: Any) -> str:
    """A line shaped like the children's structlog JSON (runtime/celeryapp/logs.py)."""
    record = {
        "event": event,
        **fields,
        "level": level,
        "logger": logger,
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    return json.dumps(record, default=str)


def tag(process: str, line: str) -> str:
    """A child's output line as JSON with `process` added; a line that is not a JSON object
    (a crash before logging was set up, Celery's shutdown notice) becomes the event of one."""
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        return note(line, logger="air.output", process=process)
    record.setdefault("process", process)
    return json.dumps(record, default=str)
