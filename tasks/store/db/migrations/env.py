"""Alembic's environment for the store: migrates the connection `migrate.py` hands in."""

from alembic import context

from tasks.store.db.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    # Without the caller's connection there would be no lock around the upgrade.
    raise RuntimeError("run the store's migrations with `air db upgrade`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    on_version_apply=config.attributes.get("on_version_apply"),
    compare_type=True,
    render_as_batch=True,  # SQLite alters a table by rebuilding it; batch mode does that
)
with context.begin_transaction():  # a no-op: the caller's transaction holds the lock
    context.run_migrations()
