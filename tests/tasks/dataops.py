"""Helpers for the data and ops task tests: whole-database snapshots, failure set-ups, records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.broker.deadletter import DeadLetter, DeadLetterStore
from runtime.process.embedded import free_port
from tasks import store
from tasks.store.db.engine import ENV_VAR
from tasks.store.db.tables import metadata


def database_rows() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order: equal before and after = nothing changed."""
    with store.transaction(readonly=True) as conn:
        return {
            name: sorted((tuple(row) for row in conn.execute(sa.select(table))), key=repr)
            for name, table in metadata.tables.items()
        }


def tree(root: Path) -> dict[str, bytes]:
    """{relative path: content} of every file under `root`."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def unreachable_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the store at a PostgreSQL port nobody listens on (loopback): connecting fails fast
    with an OperationalError, which the tasks must treat as transient."""
    monkeypatch.setenv(ENV_VAR, f"postgresql://air@127.0.0.1:{free_port()}/air?connect_timeout=2")
    store.dispose_engine()


def dead_letter(redis_url: str, task_id: str) -> DeadLetter:
    letters = DeadLetterStore.from_url(redis_url)
    try:
        found = letters.get(task_id)
    finally:
        letters.client.close()
    assert found is not None, f"no dead letter for {task_id}"
    return found

