"""Create the AIR schema.

Revision 0001, the first: the tables the pre-Alembic runner's migration 1 built. Frozen: it
spells out every column rather than importing tables.py, which describes the latest schema and
moves on; the helpers below are this revision's own, so it stays self-contained. Timestamps are
naive UTC `DateTime` (the store's UTCDateTime converts at the edge); documents are JSON on
SQLite, JSONB on PostgreSQL. Constraint and index names follow tables.py's naming convention.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True), "postgresql"
)

# Every table in the order upgrade() creates them (parents first), with the columns of each of
# its indexes in the order they are created; downgrade() undoes both in reverse.
INDEXES: dict[str, tuple[tuple[str, ...], ...]] = {
    "alerts": (),
    "analytics_snapshots": (),
    "backups": (),
    "users": (),
    "alert_deliveries": (),
    "contacts": (
        ("merged_into",),
        ("user_id",),
        ("user_id", "email_normalized"),
        ("user_id", "phone_normalized"),
    ),
    "exports": (("user_id",),),
    "integrations": (("expires_at",), ("user_id",)),
    "notifications": (("user_id",),),
    "oauth_states": (("expires_at",), ("user_id",)),
    "contact_analyses": (),
    "contact_tags": (),
    "generated_messages": (("contact_id",),),
    "health_checks": (("checked_at",), ("integration_id",)),
    "interactions": (("contact_id",), ("integration_id",), ("occurred_at",)),
    "meetings": (("integration_id",), ("starts_at",), ("user_id",)),
    "relationship_scores": (),
    "briefings": (),
    "interaction_analyses": (),
}


def create_table(
    name: str,
    *columns: sa.Column[Any],
    key: tuple[str, ...] = (),
    parents: dict[str, str] | None = None,
    nulled: tuple[str, ...] = (),
    unique: tuple[str, ...] = (),
) -> None:
    """Create the table, then its indexes (INDEXES). Without a `key` its primary key is a
    surrogate integer `id`, the first column. `parents` maps a column to the table whose `id`
    it refers to; deleting the parent deletes the row, or sets the column NULL if `nulled`
    names it. `unique` is the columns of the table's one unique constraint, if any."""
    items: list[Any] = [] if key else [integer("id")]
    items += columns
    items += [
        references(name, column, parent, ondelete="SET NULL" if column in nulled else "CASCADE")
        for column, parent in (parents or {}).items()
    ]
    items.append(primary_key(name, *key))
    if unique:
        items.append(unique_constraint(name, *unique))
    op.create_table(name, *items)
    for indexed in INDEXES[name]:
        op.create_index(index_name(name, indexed), name, list(indexed), unique=False)


def drop_table(name: str) -> None:
    """Drop the table's indexes, newest first, then the table."""
    for columns in reversed(INDEXES[name]):
        op.drop_index(index_name(name, columns), table_name=name)
    op.drop_table(name)


def index_name(table: str, columns: tuple[str, ...]) -> Any:
    return op.f(f"ix_{table}_{'_'.join(columns)}")


def integer(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    """An integer column: a surrogate key, or the id of a row in another table."""
    return sa.Column(name, sa.Integer(), nullable=nullable)


def string(name: str, length: int, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def text(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def moment(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    """A point in time: naive UTC."""
    return sa.Column(name, sa.DateTime(), nullable=nullable)


def document(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, JSON_DOC, nullable=nullable)


def timestamps() -> tuple[sa.Column[Any], sa.Column[Any]]:
    """created_at and updated_at, both required, for the tables whose rows change."""
    return moment("created_at"), moment("updated_at")


def primary_key(table: str, *columns: str) -> sa.PrimaryKeyConstraint:
    """The table's primary key: `columns`, or else the surrogate `id`."""
    return sa.PrimaryKeyConstraint(*(columns or ("id",)), name=op.f(f"pk_{table}"))


def references(table: str, column: str, parent: str, *, ondelete: str) -> sa.ForeignKeyConstraint:
    """`table.column` refers to `parent.id`; `ondelete` says what deleting the parent does."""
    return sa.ForeignKeyConstraint(
        [column], [f"{parent}.id"], name=op.f(f"fk_{table}_{column}_{parent}"), ondelete=ondelete
    )


def unique_constraint(table: str, *columns: str) -> sa.UniqueConstraint:
    return sa.UniqueConstraint(*columns, name=op.f(f"uq_{table}_{'_'.join(columns)}"))


def create_analyses_table(name: str, subject: str, parent: str) -> None:
    """A table of AI results about rows of `parent`, keyed by the row (`subject`) and kind."""
    create_table(
        name,
        integer(subject),
        string("kind", 32),
        document("results"),
        string("provider", 64),
        moment("created_at"),
        key=(subject, "kind"),
        parents={subject: parent},
    )


def upgrade() -> None:
    create_table(
        "alerts",
        string("severity", 16),
        string("title", 300),
        text("body"),
        string("dedup_key", 255, nullable=True),
        moment("created_at"),
        unique=("dedup_key",),
    )
    create_table(
        "analytics_snapshots",
        sa.Column("day", sa.Date(), nullable=False),
        document("metrics"),
        moment("computed_at"),
        key=("day",),
    )
    create_table(
        "backups",
        text("path"),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        string("checksum", 128),
        moment("created_at"),
        unique=("path",),
    )
    create_table(
        "users",
        string("email", 320),
        string("name", 200, nullable=True),
        string("timezone", 64),
        moment("created_at"),
        unique=("email",),
    )
    create_table(
        "alert_deliveries",
        integer("alert_id"),
        string("channel", 32),
        string("status", 16),
        integer("attempts"),
        text("last_error", nullable=True),
        moment("delivered_at", nullable=True),
        key=("alert_id", "channel"),
        parents={"alert_id": "alerts"},
    )
    create_table(
        "contacts",
        integer("user_id"),
        string("name", 200, nullable=True),
        string("email", 320, nullable=True),
        string("email_normalized", 320, nullable=True),
        string("phone", 64, nullable=True),
        string("phone_normalized", 32, nullable=True),
        string("company", 200, nullable=True),
        integer("merged_into", nullable=True),
        moment("last_touch_at", nullable=True),
        moment("next_touch_at", nullable=True),
        *timestamps(),
        parents={"merged_into": "contacts", "user_id": "users"},
    )
    create_table(
        "exports",
        integer("user_id"),
        string("status", 16),
        document("paths"),
        text("error", nullable=True),
        moment("created_at"),
        moment("finished_at", nullable=True),
        parents={"user_id": "users"},
    )
    create_table(
        "integrations",
        integer("user_id"),
        string("kind", 32),
        string("provider", 64),
        text("source", nullable=True),
        text("token_endpoint", nullable=True),
        string("client_id", 255, nullable=True),
        string("client_secret_env", 128, nullable=True),
        text("access_token", nullable=True),
        text("refresh_token", nullable=True),
        moment("expires_at", nullable=True),
        string("status", 16),
        text("last_error", nullable=True),
        text("sync_cursor", nullable=True),
        *timestamps(),
        parents={"user_id": "users"},
    )
    create_table(
        "notifications",
        integer("user_id"),
        string("channel", 32),
        document("payload"),
        string("dedup_key", 255, nullable=True),
        string("status", 16),
        integer("attempts"),
        text("last_error", nullable=True),
        moment("created_at"),
        moment("delivered_at", nullable=True),
        parents={"user_id": "users"},
        unique=("user_id", "channel", "dedup_key"),
    )
    create_table(
        "oauth_states",
        string("state", 128),
        integer("user_id", nullable=True),
        string("provider", 64, nullable=True),
        moment("created_at"),
        moment("expires_at"),
        key=("state",),
        parents={"user_id": "users"},
    )
    create_analyses_table("contact_analyses", "contact_id", "contacts")
    create_table(
        "contact_tags",
        integer("contact_id"),
        string("tag", 100),
        key=("contact_id", "tag"),
        parents={"contact_id": "contacts"},
    )
    create_table(
        "generated_messages",
        integer("contact_id"),
        string("purpose", 64),
        text("draft"),
        string("provider", 64),
        moment("created_at"),
        parents={"contact_id": "contacts"},
        unique=("contact_id", "purpose"),
    )
    create_table(
        "health_checks",
        integer("integration_id"),
        string("status", 16),
        text("detail", nullable=True),
        moment("checked_at"),
        parents={"integration_id": "integrations"},
    )
    create_table(
        "interactions",
        integer("contact_id"),
        integer("integration_id", nullable=True),
        string("kind", 16),
        string("direction", 8, nullable=True),
        moment("occurred_at"),
        text("subject", nullable=True),
        text("body", nullable=True),
        string("source_id", 512, nullable=True),
        document("features", nullable=True),
        moment("created_at"),
        parents={"contact_id": "contacts", "integration_id": "integrations"},
        nulled=("integration_id",),
        unique=("integration_id", "source_id"),
    )
    create_table(
        "meetings",
        integer("user_id"),
        integer("integration_id", nullable=True),
        string("uid", 512),
        moment("starts_at"),
        moment("ends_at"),
        text("title", nullable=True),
        text("location", nullable=True),
        text("description", nullable=True),
        document("attendees"),
        *timestamps(),
        parents={"integration_id": "integrations", "user_id": "users"},
        nulled=("integration_id",),
        unique=("integration_id", "uid"),
    )
    create_table(
        "relationship_scores",
        integer("contact_id"),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("recency", sa.Float(), nullable=False),
        sa.Column("frequency", sa.Float(), nullable=False),
        moment("computed_at"),
        key=("contact_id",),
        parents={"contact_id": "contacts"},
    )
    create_table(
        "briefings",
        integer("meeting_id"),
        text("content"),
        string("provider", 64),
        moment("created_at"),
        parents={"meeting_id": "meetings"},
        unique=("meeting_id",),
    )
    create_analyses_table("interaction_analyses", "interaction_id", "interactions")


def downgrade() -> None:
    for name in reversed(INDEXES):
        drop_table(name)
