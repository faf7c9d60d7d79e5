"""Columns that behave the same on SQLite and PostgreSQL: UTC timestamps, JSON, keys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB


def utcnow() -> datetime:
    """The current time as an aware UTC datetime: the only kind of datetime the store accepts."""
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """An aware datetime stored as naive UTC, returned as aware UTC.

    SQLite has no time zones and PostgreSQL's `timestamptz` returns the session's zone, so both
    store plain UTC `timestamp` values and this type converts at the edge. Naive input is refused:
    guessing its zone is how off-by-hours bugs start. Naive UTC strings also sort correctly in
    SQLite, so range queries work there too.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; pass an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


# JSONB on PostgreSQL (comparable, indexable); JSON text on SQLite. One declaration for both.
# Python None is stored as SQL NULL, not as the JSON literal `null`.
JSONDoc: sa.types.TypeEngine[Any] = sa.JSON(none_as_null=True).with_variant(
    JSONB(none_as_null=True), "postgresql"
)


def id_column() -> sa.Column[Any]:
    """An integer surrogate key (SERIAL on PostgreSQL, the rowid on SQLite)."""
    return sa.Column("id", sa.Integer, primary_key=True)


def fk_column(name: str, target: str, *, ondelete: str = "CASCADE", nullable: bool = False) -> Any:
    """An indexed foreign key; by default required and deleted with its target."""
    return sa.Column(name, sa.ForeignKey(target, ondelete=ondelete), nullable=nullable, index=True)


def parent_key_column(name: str, target: str) -> sa.Column[Any]:
    """A foreign key that is (part of) the primary key: the row belongs to its target and is
    deleted with it."""
    return sa.Column(name, sa.ForeignKey(target, ondelete="CASCADE"), primary_key=True)


def created_column() -> sa.Column[Any]:
    """`created_at`, filled in by Python (the same clock for both databases)."""
    return sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow)


def updated_column() -> sa.Column[Any]:
    """`updated_at`, filled in by Python on insert; the store's writes set it when they change
    the row."""
    return sa.Column("updated_at", UTCDateTime, nullable=False, default=utcnow)
