"""interactions.py: idempotent recording by (integration, source id), queries and aggregates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from tasks import store

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def test_a_synced_item_is_recorded_once(
    conn: sa.Connection, contact_id: int, integration_id: int
) -> None:
    item = {"contact_id": contact_id, "kind": "email", "occurred_at": T0,
            "integration_id": integration_id, "source_id": "<m1@example.com>",
            "subject": "Hello", "direction": "in"}
    first = store.record_interaction(conn, **item)
    assert isinstance(first, int)
    assert store.record_interaction(conn, **item) is None
    assert store.has_interaction(conn, integration_id=integration_id, source_id="<m1@example.com>")
    assert not store.has_interaction(conn, integration_id=integration_id, source_id="other")
    row = store.get_interaction(conn, first)
    assert row is not None
    assert (row.subject, row.direction, row.occurred_at) == ("Hello", "in", T0)


def test_the_same_source_id_in_another_integration_is_another_item(
    conn: sa.Connection, user_id: int, contact_id: int, integration_id: int
) -> None:
    other = store.add_integration(conn, user_id=user_id, kind="mail", provider="mbox")
    for integration in (integration_id, other):
        assert store.record_interaction(conn, contact_id=contact_id, kind="email",
                                        occurred_at=T0, integration_id=integration,
                                        source_id="42") is not None


def test_manual_interactions_are_never_merged(conn: sa.Connection, contact_id: int) -> None:
    ids = {store.record_interaction(conn, contact_id=contact_id, kind="call", occurred_at=T0)
           for _ in range(2)}
    assert len(ids) == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "fax"}, "interaction kind"),
        ({"direction": "sideways"}, "direction"),
        ({"source_id": "x"}, "both integration_id and source_id"),
    ],
)
def test_invalid_interactions_are_refused(
    conn: sa.Connection, contact_id: int, changes: dict[str, str], message: str
) -> None:
    item = {"contact_id": contact_id, "kind": "email", "occurred_at": T0, **changes}
    with pytest.raises(ValueError, match=message):
        store.record_interaction(conn, **item)  # type: ignore[arg-type]


def test_times_are_stored_as_utc_instants(conn: sa.Connection, contact_id: int) -> None:
    paris = timezone(timedelta(hours=2))
    local = datetime(2024, 5, 1, 11, 0, tzinfo=paris)
    new = store.record_interaction(conn, contact_id=contact_id, kind="call", occurred_at=local)
    row = store.get_interaction(conn, new or 0)
    assert row is not None
    assert row.occurred_at == T0
    assert row.occurred_at.tzinfo is UTC


def test_naive_times_are_refused(conn: sa.Connection, contact_id: int) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        store.record_interaction(conn, contact_id=contact_id, kind="call",
                                 occurred_at=datetime(2024, 5, 1, 9, 0))


def test_list_filters_and_pages(conn: sa.Connection, user_id: int, contact_id: int) -> None:
    other_user = store.ensure_user(conn, email="o@example.com")
    stranger = store.upsert_contact(conn, user_id=other_user, email="s@x.example")
    ids = [store.record_interaction(conn, contact_id=contact_id, kind="message",
                                    occurred_at=T0 + timedelta(days=d)) for d in range(5)]
    store.record_interaction(conn, contact_id=stranger, kind="message", occurred_at=T0)

    def listed(**kw: object) -> list[int]:
        return [row.id for row in store.list_interactions(conn, **kw)]  # type: ignore[arg-type]

    assert listed(user_id=user_id) == ids
    assert listed(contact_id=contact_id, since=T0 + timedelta(days=1),
                  until=T0 + timedelta(days=3)) == ids[1:3]
    assert listed(user_id=user_id, after_id=ids[1], limit=2) == ids[2:4]
    assert store.set_features(conn, ids[0] or 0, {"words": 3}) is True
    assert store.set_features(conn, ids[0] or 0, {"words": 3}) is False
    assert listed(user_id=user_id, without_features=True) == ids[1:]
    assert store.get_interaction(conn, ids[0] or 0).features == {"words": 3}  # type: ignore[union-attr]


def test_activity_and_counts(conn: sa.Connection, user_id: int, contact_id: int) -> None:
    quiet = store.upsert_contact(conn, user_id=user_id, email="quiet@x.example")
    for days, kind in ((0, "email"), (2, "email"), (4, "call")):
        store.record_interaction(conn, contact_id=contact_id, kind=kind,
                                 occurred_at=T0 + timedelta(days=days))
    store.record_interaction(conn, contact_id=quiet, kind="email",
                             occurred_at=T0 - timedelta(days=30))
    activity = store.activity_by_contact(conn, since=T0 - timedelta(days=1), user_id=user_id)
    assert [tuple(row) for row in activity] == [(contact_id, 3, T0, T0 + timedelta(days=4))]
    assert len(store.activity_by_contact(conn)) == 2
    window = {"since": T0, "until": T0 + timedelta(days=3)}
    assert store.counts_by_kind(conn, **window) == {"email": 2}
