"""users.py: users are created once per email."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tasks import store


def test_ensure_user_is_idempotent_by_normalised_email(conn: sa.Connection) -> None:
    first = store.ensure_user(conn, email="Ann@Example.com", name="Ann")
    assert store.ensure_user(conn, email="ann@example.com ") == first
    user = store.get_user(conn, first)
    assert user is not None
    assert (user.email, user.name, user.timezone) == ("ann@example.com", "Ann", "UTC")
    assert [u.id for u in store.list_users(conn)] == [first]


def test_ensure_user_refuses_a_non_address(conn: sa.Connection) -> None:
    with pytest.raises(ValueError, match="not an email address"):
        store.ensure_user(conn, email="nobody")
