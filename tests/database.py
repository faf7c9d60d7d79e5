"""Database fixtures for every test that touches the store: each runs on SQLite and PostgreSQL.

PostgreSQL comes from `AIR_TEST_DATABASE_URL` (default: the local server, database `test`). This
session works in schemas named with its own unique prefix, so parallel runs never meet: one
migrated schema shared by the tests (emptied before each) plus a fresh empty one for each
migration test. All are dropped at the end of the session. An unreachable server skips the
PostgreSQL half with the reason, except under `CI=true`, where it fails. SQLite tests get a
fresh file each.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from tasks import store
from tasks.store.db.engine import ENV_VAR, database_url
from tasks.store.db.tables import metadata

PG_URL_ENV = "AIR_TEST_DATABASE_URL"
PG_DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")

_schema_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[sa.Engine]:
    """An unpooled engine on the test PostgreSQL server (skip or, under CI, fail without one)."""
    url = database_url(os.environ.get(PG_URL_ENV) or PG_DEFAULT_URL)
    url = url.update_query_dict({"connect_timeout": "5"})
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        engine.dispose()
        cause = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        reason = (
            f"PostgreSQL unreachable at {url.render_as_string(hide_password=True)}: "
            f"{cause} (set {PG_URL_ENV} to a reachable server)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI=true requires PostgreSQL", pytrace=False)
        pytest.skip(reason)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_prefix(pg_admin: sa.Engine) -> Iterator[str]:
    """This session's schema-name prefix; every schema carrying it is dropped at the end."""
    prefix = f"air_test_{os.getpid()}_{secrets.token_hex(4)}"
    yield prefix
    with pg_admin.begin() as conn:
        names = conn.scalars(
            sa.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"),
            {"p": prefix + "%"},
        ).all()
        for name in names:
            conn.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')


def _schema_url(admin: sa.Engine, schema: str) -> str:
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_shared_url(pg_admin: sa.Engine, pg_prefix: str) -> Iterator[str]:
    """The session's migrated PostgreSQL schema."""
    url = _schema_url(pg_admin, f"{pg_prefix}_shared")
    engine = store.create_engine(url)
    store.migrate(engine)
    engine.dispose()
    yield url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """An empty, unmigrated database; `AIR_DATABASE_URL` points the store at it."""
    if backend == "sqlite":
        url = f"sqlite+pysqlite:///{tmp_path}/air.db"
    else:
        schema = f"{request.getfixturevalue('pg_prefix')}_{next(_schema_numbers)}"
        url = _schema_url(request.getfixturevalue("pg_admin"), schema)
    monkeypatch.setenv(ENV_VAR, url)
    store.dispose_engine()
    yield url
    store.dispose_engine()


@pytest.fixture
def db(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[sa.Engine]:
    """A migrated, empty database: the store's own engine on it."""
    if backend == "sqlite":
        url = f"sqlite+pysqlite:///{tmp_path}/air.db"
    else:
        url = request.getfixturevalue("pg_shared_url")
    monkeypatch.setenv(ENV_VAR, url)
    store.dispose_engine()
    if backend == "sqlite":
        store.migrate()
    else:
        with store.transaction() as conn:  # whatever the last test left behind
            # DELETE, not TRUNCATE: on a handful of rows it is ten times faster.
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
    yield store.get_engine()
    store.dispose_engine()
