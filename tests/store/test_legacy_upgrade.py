"""A database built by the pre-Alembic runner is adopted: stamped, its old table dropped, data kept.

`legacy/<database>.sql` holds the DDL that runner emitted (its migration 1 and `schema_version`),
captured when Alembic replaced it; air itself never runs it.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tasks import store
from tasks.store.db.migrate import LEGACY_TABLE, script_directory
from tests.database import _schema_url

LEGACY = Path(__file__).with_name("legacy")
HEAD = script_directory().get_current_head()


def build_legacy(engine: sa.Engine) -> None:
    sql = (LEGACY / f"{engine.dialect.name}.sql").read_text(encoding="utf-8")
    statements = [s.strip() for s in sql.split(";\n") if s.strip().replace("--", "").strip()]
    with engine.begin() as conn:
        for statement in statements:
            lines = [line for line in statement.splitlines() if not line.startswith("--")]
            conn.exec_driver_sql("\n".join(lines))


def structure(engine: sa.Engine) -> dict[str, Any]:
    """Every table's columns, keys, indexes and unique constraints, as the database reports them."""
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        return {
            name: {
                "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default"))
                            for c in inspector.get_columns(name)],
                "pk": inspector.get_pk_constraint(name),
                "fks": sorted((fk["name"], fk["constrained_columns"], fk["referred_table"],
                               fk["referred_columns"], fk["options"].get("ondelete"))
                              for fk in inspector.get_foreign_keys(name)),
                "indexes": sorted((ix["name"], ix["column_names"], ix["unique"])
                                  for ix in inspector.get_indexes(name)),
                "uniques": sorted((uq["name"], uq["column_names"])
                                  for uq in inspector.get_unique_constraints(name)),
            }
            for name in sorted(inspector.get_table_names())
            if name not in (LEGACY_TABLE, "alembic_version")
        }


@pytest.fixture
def legacy(db_url: str) -> sa.Engine:
    """The test's empty database, built the way the old runner built it."""
    engine = store.get_engine()
    build_legacy(engine)
    return engine


def test_a_legacy_database_is_stamped_and_loses_its_old_table(legacy: sa.Engine) -> None:
    assert store.migrate() == []  # nothing to run: revision 0001 is what the old runner built
    with legacy.connect() as conn:
        assert store.current_revision(conn) == HEAD
        assert not sa.inspect(conn).has_table(LEGACY_TABLE)
    assert store.migrate() == []


def test_the_legacy_schema_is_the_schema_the_revisions_build(
    legacy: sa.Engine, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store.migrate()
    if legacy.dialect.name == "sqlite":
        fresh = store.create_engine(f"sqlite+pysqlite:///{tmp_path}/fresh.db")
    else:
        schema = f"{request.getfixturevalue('pg_prefix')}_fresh_{secrets.token_hex(4)}"
        fresh = store.create_engine(_schema_url(request.getfixturevalue("pg_admin"), schema))
    try:
        assert store.migrate(fresh) == [HEAD]
        assert structure(legacy) == structure(fresh)
    finally:
        fresh.dispose()


def test_a_legacy_database_keeps_its_rows(legacy: sa.Engine) -> None:
    with legacy.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO users (id, email, timezone, created_at) "
            "VALUES (7, 'old@example.com', 'UTC', '2025-01-01 00:00:00')"
        )
    store.migrate()
    with store.transaction() as conn:
        assert store.find_user(conn, email="old@example.com") == 7
        assert store.upsert_contact(conn, user_id=7, email="new@example.com") > 0


def test_a_legacy_database_from_a_newer_runner_is_refused_untouched(legacy: sa.Engine) -> None:
    with legacy.begin() as conn:
        conn.exec_driver_sql(
            f"INSERT INTO {LEGACY_TABLE} (version, name, applied_at) "
            "VALUES (2, 'from the future', '2026-01-01 00:00:00')"
        )
    with pytest.raises(store.SchemaTooNew, match=r"\[2\]"):
        store.migrate()
    with legacy.connect() as conn:
        assert sa.inspect(conn).has_table(LEGACY_TABLE)
        assert not sa.inspect(conn).has_table("alembic_version")
