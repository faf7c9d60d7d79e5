"""Store fixtures: a transaction and a few rows (the databases come from tests/database.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tasks import store


@pytest.fixture
def conn(db: sa.Engine) -> Iterator[sa.Connection]:
    """One store transaction around the test body (committed at the end)."""
    with store.transaction() as connection:
        yield connection


@pytest.fixture
def user_id(conn: sa.Connection) -> int:
    return store.ensure_user(conn, email="owner@example.com", name="Owner")


@pytest.fixture
def integration_id(conn: sa.Connection, user_id: int) -> int:
    return store.add_integration(
        conn, user_id=user_id, kind="mail", provider="maildir", source="/srv/mail",
        token_endpoint="http://127.0.0.1:9/token", client_id="air", client_secret_env="AIR_SECRET",
        access_token="a1", refresh_token="r1", expires_at=store.utcnow() + timedelta(hours=1),
    )


@pytest.fixture
def contact_id(conn: sa.Connection, user_id: int) -> int:
    return store.upsert_contact(conn, user_id=user_id, email="ann@acme.example", name="Ann")
