"""`air db`: the task store's schema revisions: upgrade, current, history (and revision)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import sqlalchemy as sa

from runtime.config.errors import AirError, DatabaseUnreachable, UsageError
from tasks.store.db import migrate as migrations
from tasks.store.db.engine import ENV_VAR, create_engine, database_url

EPILOG = f"""\b
The database is ${ENV_VAR} (default: .air/air.db, SQLite), the one the tasks use;
workers upgrade it themselves when they start.
\b
Examples:
  air db upgrade                    apply every pending revision
  air db upgrade --to 0001          stop at revision 0001
  air db current --check            exit 1 unless the database is at the newest revision
  air db history                    every revision, oldest first
  air db revision -m "add a column" --autogenerate   (developers: write the next revision)
"""
CONNECT_TIMEOUT_S = 10  # a PostgreSQL server that never answers fails this fast


@click.group(epilog=EPILOG)
def db() -> None:
    """The task store's schema: upgrade it, show its revision, list the revisions."""


@db.command("upgrade", epilog=EPILOG)
@click.option(
    "--to",
    "target",
    default="head",
    show_default=True,
    help="Revision to stop at (an id, a unique prefix of one, or head).",
)
def upgrade(target: str) -> None:
    """Apply the revisions the database lacks.

    Takes the same lock as a starting worker, so it is safe while workers start; a database
    made before air used Alembic is adopted first (stamped at its revision).
    """
    with _engine() as engine:
        applied = migrations.migrate(engine, to=target)
        with engine.connect() as conn:
            now = migrations.current_revision(conn)
    docs = {script.revision: script.doc for script in migrations.history()}
    for revision in applied:
        click.echo(f"applied {revision}  {docs[revision].rstrip('.')}")
    click.echo(f"database at {_describe(now)}" + ("" if applied else ", nothing to apply"))


@db.command("current", epilog=EPILOG)
@click.option("--check", is_flag=True, help="Exit 1 unless the database is at the head revision.")
def current(check: bool) -> None:
    """Show the database's revision."""
    now, legacy = None, None
    if not _missing_sqlite_file():  # a look must not create the file
        with _engine() as engine, engine.connect() as conn:
            now = migrations.current_revision(conn)
            legacy = migrations.legacy_version(conn) if now is None else None
    if legacy is not None:
        click.echo(f"none: pre-Alembic schema_version {legacy} (`air db upgrade` adopts it)")
    elif now is None:
        click.echo("none: never migrated (`air db upgrade` creates the schema)")
    else:
        click.echo(_describe(now))
    if check and now != migrations.script_directory().get_current_head():
        raise AirError("the database is not at the head revision", hint="run `air db upgrade`")


@db.command("history", epilog=EPILOG)
def history() -> None:
    """List the known revisions, oldest first.

    These are the revisions this version of air ships; no database is needed.
    """
    head = migrations.script_directory().get_current_head()
    for script in migrations.history():
        mark = "  (head)" if script.revision == head else ""
        click.echo(f"{script.revision}  {script.doc.rstrip('.')}{mark}")


@db.command("revision", epilog=EPILOG)
@click.option("-m", "--message", required=True, help="What the revision changes (file name).")
@click.option(
    "--autogenerate",
    is_flag=True,
    help="Fill it in from tables.py against the database (which must be at head).",
)
def revision(message: str, autogenerate: bool) -> None:
    """Write the next revision file (developers).

    The file goes to tasks/store/db/migrations/versions, numbered after the head.
    """
    with _errors():
        path = migrations.new_revision(message, autogenerate=autogenerate)
    try:
        shown = path.relative_to(Path.cwd())
    except ValueError:
        shown = path
    click.echo(f"wrote {shown}: review it, then run `air db upgrade`")


def _missing_sqlite_file() -> bool:
    with _errors() as url:
        path = url.database or ""
        return (
            url.get_backend_name() == "sqlite"
            and path not in ("", ":memory:")
            and not (path.startswith("file:") or Path(path).exists())
        )


def _describe(revision: str | None) -> str:
    head = migrations.script_directory().get_current_head()
    if revision == head:
        return f"{revision} (head)"
    return f"{revision or 'base'} (head is {head}: run `air db upgrade`)"


@contextmanager
def _engine() -> Iterator[sa.Engine]:
    """The tasks' engine, with a connect timeout on PostgreSQL; errors become one line."""
    with _errors() as url:
        if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
            url = url.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT_S)})
        try:
            engine = create_engine(url)
        except (sa.exc.NoSuchModuleError, ModuleNotFoundError) as exc:
            raise UsageError(
                f"{ENV_VAR}: no driver for {url.drivername!r} ({exc})",
                hint="air supports postgresql:// and sqlite://",
            ) from None
        try:
            yield engine
        finally:
            engine.dispose()


@contextmanager
def _errors() -> Iterator[sa.URL]:
    """The configured URL; what goes wrong with it becomes an AirError with one line."""
    try:
        url = database_url()
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise UsageError(
            f"{ENV_VAR} is not a database URL: {exc}",
            hint="e.g. postgresql://user@host/db or sqlite:////path/air.db",
        ) from None
    shown = url.render_as_string(hide_password=True)
    try:
        yield url
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        cause = str(exc.orig or exc).strip().splitlines()[0]
        raise DatabaseUnreachable(
            f"database unreachable at {shown}: {cause}",
            hint=f"check {ENV_VAR} and that the server is running",
        ) from None
    except migrations.SchemaTooNew as exc:
        raise AirError(str(exc), hint="run a newer air against this database") from None
    except migrations.MigrationError as exc:
        raise UsageError(str(exc), hint="`air db history` lists the revisions") from None
