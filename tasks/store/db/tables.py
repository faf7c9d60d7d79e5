"""The AIR schema as SQLAlchemy Core tables: always the latest version (the revisions build it).

Core rather than the ORM: tasks do set-based work (idempotent inserts, bulk tag/merge/delete,
aggregates) inside one explicit transaction each, and Core states that directly. There is no
identity map or session lifetime to keep straight across Celery task calls, and rows come back
as plain named tuples the tasks can serialise.

Closed vocabularies (interaction kinds, statuses) are checked by the helpers, not by CHECK
constraints, because SQLite cannot alter a CHECK without rebuilding the table.
"""

from __future__ import annotations

import sqlalchemy as sa

from tasks.store.db.coltypes import (
    JSONDoc,
    UTCDateTime,
    created_column,
    fk_column,
    id_column,
    parent_key_column,
    updated_column,
    utcnow,
)

# Named constraints, so a later migration can drop or alter them by name on both databases.
metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def analyses_table(name: str, subject: str, target: str) -> sa.Table:
    """AI results about one row of `target`, one per kind: 'analysis', 'interests', ..."""
    return sa.Table(
        name, metadata,
        parent_key_column(subject, target),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("results", JSONDoc, nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        created_column(),
    )


users = sa.Table(
    "users", metadata,
    id_column(),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("name", sa.String(200)),
    sa.Column("timezone", sa.String(64), nullable=False, default="UTC"),
    created_column(),
)

contacts = sa.Table(
    "contacts", metadata,
    id_column(),
    fk_column("user_id", "users.id"),
    sa.Column("name", sa.String(200)),
    sa.Column("email", sa.String(320)),
    sa.Column("email_normalized", sa.String(320)),
    sa.Column("phone", sa.String(64)),
    sa.Column("phone_normalized", sa.String(32)),
    sa.Column("company", sa.String(200)),
    # Set when deduplication merged this contact into another; the row stays so that its old
    # email and phone still lead to the survivor.
    fk_column("merged_into", "contacts.id", nullable=True),
    sa.Column("last_touch_at", UTCDateTime),
    sa.Column("next_touch_at", UTCDateTime),
    created_column(),
    updated_column(),
    sa.Index(None, "user_id", "email_normalized"),
    sa.Index(None, "user_id", "phone_normalized"),
)

contact_tags = sa.Table(
    "contact_tags", metadata,
    parent_key_column("contact_id", "contacts.id"),
    sa.Column("tag", sa.String(100), primary_key=True),
)

integrations = sa.Table(
    "integrations", metadata,
    id_column(),
    fk_column("user_id", "users.id"),
    sa.Column("kind", sa.String(32), nullable=False),  # mail, calendar, crm
    sa.Column("provider", sa.String(64), nullable=False),  # maildir, mbox, ical, google, ...
    sa.Column("source", sa.Text),  # a Maildir/mbox path, an iCalendar directory, an API URL
    sa.Column("token_endpoint", sa.Text),
    sa.Column("client_id", sa.String(255)),
    # The NAME of the environment variable holding the client secret, never the secret.
    sa.Column("client_secret_env", sa.String(128)),
    sa.Column("access_token", sa.Text),
    sa.Column("refresh_token", sa.Text),
    sa.Column("expires_at", UTCDateTime, index=True),
    sa.Column("status", sa.String(16), nullable=False, default="ok"),  # ok, broken
    sa.Column("last_error", sa.Text),
    sa.Column("sync_cursor", sa.Text),  # opaque to the store; each sync task owns its format
    created_column(),
    updated_column(),
)

interactions = sa.Table(
    "interactions", metadata,
    id_column(),
    fk_column("contact_id", "contacts.id"),
    # SET NULL: removing an integration keeps the history it synced.
    fk_column("integration_id", "integrations.id", ondelete="SET NULL", nullable=True),
    sa.Column("kind", sa.String(16), nullable=False),  # email, meeting, call, message
    sa.Column("direction", sa.String(8)),  # in, out
    sa.Column("occurred_at", UTCDateTime, nullable=False, index=True),
    sa.Column("subject", sa.Text),
    sa.Column("body", sa.Text),
    sa.Column("source_id", sa.String(512)),  # Message-ID, file name, event UID ...
    sa.Column("features", JSONDoc),
    created_column(),
    sa.UniqueConstraint("integration_id", "source_id"),  # idempotent sync
)

oauth_states = sa.Table(
    "oauth_states", metadata,
    sa.Column("state", sa.String(128), primary_key=True),
    fk_column("user_id", "users.id", nullable=True),
    sa.Column("provider", sa.String(64)),
    created_column(),
    sa.Column("expires_at", UTCDateTime, nullable=False, index=True),
)

notifications = sa.Table(
    "notifications", metadata,
    id_column(),
    fk_column("user_id", "users.id"),
    sa.Column("channel", sa.String(32), nullable=False),  # webhook, email, log
    sa.Column("payload", JSONDoc, nullable=False),
    sa.Column("dedup_key", sa.String(255)),
    sa.Column("status", sa.String(16), nullable=False, default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text),
    created_column(),
    sa.Column("delivered_at", UTCDateTime),
    sa.UniqueConstraint("user_id", "channel", "dedup_key"),
)

alerts = sa.Table(
    "alerts", metadata,
    id_column(),
    sa.Column("severity", sa.String(16), nullable=False),  # info, warning, critical
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("body", sa.Text, nullable=False, default=""),
    sa.Column("dedup_key", sa.String(255), unique=True),
    created_column(),
)

alert_deliveries = sa.Table(  # the status of one alert on one channel
    "alert_deliveries", metadata,
    parent_key_column("alert_id", "alerts.id"),
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False, default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text),
    sa.Column("delivered_at", UTCDateTime),
)

meetings = sa.Table(
    "meetings", metadata,
    id_column(),
    fk_column("user_id", "users.id"),
    fk_column("integration_id", "integrations.id", ondelete="SET NULL", nullable=True),
    sa.Column("uid", sa.String(512), nullable=False),  # the iCalendar UID
    sa.Column("starts_at", UTCDateTime, nullable=False, index=True),
    sa.Column("ends_at", UTCDateTime, nullable=False),
    sa.Column("title", sa.Text),
    sa.Column("location", sa.Text),
    sa.Column("description", sa.Text),
    sa.Column("attendees", JSONDoc, nullable=False, default=list),  # normalised emails
    created_column(),
    updated_column(),
    sa.UniqueConstraint("integration_id", "uid"),
)

briefings = sa.Table(
    "briefings", metadata,
    id_column(),
    sa.Column("meeting_id", sa.ForeignKey("meetings.id", ondelete="CASCADE"), nullable=False,
              unique=True),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("provider", sa.String(64), nullable=False),
    created_column(),
)

generated_messages = sa.Table(
    "generated_messages", metadata,
    id_column(),
    fk_column("contact_id", "contacts.id"),
    sa.Column("purpose", sa.String(64), nullable=False),  # follow_up, intro, thank_you ...
    sa.Column("draft", sa.Text, nullable=False),
    sa.Column("provider", sa.String(64), nullable=False),
    created_column(),
    sa.UniqueConstraint("contact_id", "purpose"),
)

contact_analyses = analyses_table("contact_analyses", "contact_id", "contacts.id")
interaction_analyses = analyses_table("interaction_analyses", "interaction_id", "interactions.id")

relationship_scores = sa.Table(  # the latest score per contact
    "relationship_scores", metadata,
    parent_key_column("contact_id", "contacts.id"),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("recency", sa.Float, nullable=False),
    sa.Column("frequency", sa.Float, nullable=False),
    sa.Column("computed_at", UTCDateTime, nullable=False),
)

analytics_snapshots = sa.Table(
    "analytics_snapshots", metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("metrics", JSONDoc, nullable=False),
    sa.Column("computed_at", UTCDateTime, nullable=False, default=utcnow),
)

exports = sa.Table(
    "exports", metadata,
    id_column(),
    fk_column("user_id", "users.id"),
    sa.Column("status", sa.String(16), nullable=False, default="running"),  # running, done, failed
    sa.Column("paths", JSONDoc, nullable=False, default=list),
    sa.Column("error", sa.Text),
    created_column(),
    sa.Column("finished_at", UTCDateTime),
)

backups = sa.Table(
    "backups", metadata,
    id_column(),
    sa.Column("path", sa.Text, nullable=False, unique=True),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("checksum", sa.String(128), nullable=False),  # "sha256:<hex>"
    created_column(),
)

health_checks = sa.Table(
    "health_checks", metadata,
    id_column(),
    fk_column("integration_id", "integrations.id"),
    sa.Column("status", sa.String(16), nullable=False),  # ok, broken
    sa.Column("detail", sa.Text),
    sa.Column("checked_at", UTCDateTime, nullable=False, default=utcnow, index=True),
)
