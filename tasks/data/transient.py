"""Database failures that retrying can cure, turned into TransientError for the retry policy."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from tasks.errors import TransientError


@contextmanager
def transient_database() -> Iterator[None]:
    """Re-raise an unreachable or locked database as TransientError.

    SQLAlchemy's OperationalError covers exactly that (connection refused or lost, server
    shutting down, SQLite's "database is locked" after the busy timeout, a serialisation
    failure); it is not a subclass of the builtin ConnectionError the default policy retries.
    Programming and integrity errors pass unchanged: a retry would fail the same way.
    """
    try:
        yield
    except sa.exc.OperationalError as exc:
        raise TransientError(f"database unavailable: {str(exc.orig or exc).strip()}") from exc
    except sa.exc.DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        raise TransientError(f"database connection lost: {exc.orig}") from exc
