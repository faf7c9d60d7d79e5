"""`air db upgrade|current|history|revision` as a user runs them, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from cli import exit_codes
from cli.main import main
from runtime.process.embedded import free_port
from tasks import store
from tasks.store.db import migrate as migrations
from tasks.store.db.engine import ENV_VAR
from tests.store.test_legacy_upgrade import build_legacy

AIR = Path(sys.executable).with_name("air")


def air(*args: str) -> tuple[int, str, str]:
    """The console entry point in-process: exit code, stdout, stderr."""
    with CliRunner().isolation() as (out, err, _):
        code = main(list(args))
    return code, out.getvalue().decode(), err.getvalue().decode()


def test_upgrade_then_current_then_upgrade_again(db_url: str) -> None:
    assert air("db", "current") == (
        0, "none: never migrated (`air db upgrade` creates the schema)\n", "")
    assert air("db", "upgrade") == (
        0, "applied 0001  Create the AIR schema\ndatabase at 0001 (head)\n", "")
    assert air("db", "upgrade") == (0, "database at 0001 (head), nothing to apply\n", "")
    assert air("db", "current", "--check") == (0, "0001 (head)\n", "")


def test_current_check_fails_until_the_database_is_upgraded(db_url: str) -> None:
    code, out, err = air("db", "current", "--check")
    assert (code, out) == (exit_codes.CONFIG_ERROR, "none: never migrated "
                           "(`air db upgrade` creates the schema)\n")
    assert err == "error: the database is not at the head revision\n  hint: run `air db upgrade`\n"


def test_a_legacy_database_is_reported_then_adopted(db_url: str) -> None:
    build_legacy(store.get_engine())
    assert air("db", "current") == (
        0, "none: pre-Alembic schema_version 1 (`air db upgrade` adopts it)\n", "")
    assert air("db", "upgrade") == (0, "database at 0001 (head), nothing to apply\n", "")
    assert air("db", "current") == (0, "0001 (head)\n", "")


def test_history_lists_the_revisions_without_a_database() -> None:
    assert air("db", "history") == (0, "0001  Create the AIR schema  (head)\n", "")


def test_an_unknown_target_is_a_usage_error(db_url: str) -> None:
    assert air("db", "upgrade", "--to", "0042") == (
        exit_codes.USAGE_ERROR, "",
        "error: unknown revision '0042'; known: head, 0001\n"
        "  hint: `air db history` lists the revisions\n")


@pytest.mark.parametrize("command", ["upgrade", "current"])
def test_an_unreachable_database_is_one_line_with_the_password_hidden(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    monkeypatch.setenv(ENV_VAR, f"postgresql://air:s3cret@127.0.0.1:{port}/air")
    code, out, err = air("db", command)
    assert (code, out) == (exit_codes.DATABASE_UNREACHABLE, "")
    first, hint = err.splitlines()
    assert first.startswith(f"error: database unreachable at postgresql+psycopg://air:***@"
                            f"127.0.0.1:{port}/air: ")
    assert hint == "  hint: check AIR_DATABASE_URL and that the server is running"
    assert "s3cret" not in err and "Traceback" not in err


@pytest.mark.parametrize(("url", "problem"), [
    ("::not a url", "AIR_DATABASE_URL is not a database URL"),
    ("mysql://air@127.0.0.1/air", "AIR_DATABASE_URL: no driver for 'mysql'"),
])
def test_a_bad_url_is_a_usage_error(url: str, problem: str, monkeypatch: pytest.MonkeyPatch
                                    ) -> None:
    monkeypatch.setenv(ENV_VAR, url)
    code, out, err = air("db", "upgrade")
    assert (code, out) == (exit_codes.USAGE_ERROR, "")
    assert err.startswith(f"error: {problem}") and len(err.splitlines()) == 2


def test_a_database_newer_than_air_is_refused(db_url: str) -> None:
    store.migrate()
    with store.transaction() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")
    code, _, err = air("db", "upgrade")
    assert code == 1
    assert err.startswith("error: database is at revision '0099', which this code does not know")


def test_the_real_air_command_upgrades_and_reports(db_url: str) -> None:
    env = dict(os.environ)
    run = [subprocess.run([str(AIR), "db", *args], env=env, capture_output=True, text=True,
                          timeout=60) for args in (["upgrade"], ["current", "--check"])]
    assert [(r.returncode, r.stdout, r.stderr) for r in run] == [
        (0, "applied 0001  Create the AIR schema\ndatabase at 0001 (head)\n", ""),
        (0, "0001 (head)\n", ""),
    ]
    with store.get_engine().connect() as conn:
        assert store.current_revision(conn) == "0001"


def test_revision_writes_the_next_file_and_autogenerate_finds_no_change(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "migrations"
    shutil.copytree(migrations.MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrations, "MIGRATIONS_DIR", copy)
    monkeypatch.chdir(tmp_path)
    store.migrate()
    assert air("db", "revision", "-m", "nothing yet", "--autogenerate") == (
        0, "wrote migrations/versions/0002_nothing_yet.py: review it, then run `air db upgrade`\n",
        "")
    text = (copy / "versions" / "0002_nothing_yet.py").read_text(encoding="utf-8")
    assert text.startswith('"""Nothing yet.\n')
    body = text.split("def upgrade() -> None:")[1].split("def downgrade")[0]
    assert "pass" in body and "op." not in body  # tables.py and the database agree
    assert store.migrate() == ["0002"]
    with store.get_engine().connect() as conn:
        assert sa.inspect(conn).has_table("alembic_version")


def test_current_on_a_missing_sqlite_file_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "not-yet" / "air.db"
    monkeypatch.setenv(ENV_VAR, f"sqlite+pysqlite:///{target}")
    assert air("db", "current") == (
        0, "none: never migrated (`air db upgrade` creates the schema)\n", "")
    assert not target.parent.exists()
