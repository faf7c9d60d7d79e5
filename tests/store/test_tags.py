"""tags.py: set-based, idempotent tagging for bulk operations."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tasks import store


def test_tagging_counts_only_new_pairs(conn: sa.Connection, user_id: int) -> None:
    ids = [store.upsert_contact(conn, user_id=user_id, email=f"t{i}@x.example") for i in range(3)]
    assert store.add_tags(conn, ids, ["vip", " lead ", "vip"]) == 6
    assert store.add_tags(conn, ids, ["vip"]) == 0
    assert store.tags_of(conn, ids[0]) == ["lead", "vip"]
    assert store.contacts_with_tag(conn, user_id=user_id, tag="vip") == ids
    assert store.remove_tags(conn, ids[:2], ["vip"]) == 2
    assert store.remove_tags(conn, ids[:2], ["vip"]) == 0
    assert store.contacts_with_tag(conn, user_id=user_id, tag="vip") == ids[2:]


def test_bulk_tagging_in_chunks(conn: sa.Connection, user_id: int) -> None:
    ids = [store.upsert_contact(conn, user_id=user_id, email=f"b{i}@x.example")
           for i in range(620)]
    assert store.add_tags(conn, ids, ["bulk"]) == 620
    assert store.remove_tags(conn, ids, ["bulk"]) == 620


def test_merged_contacts_are_not_listed_by_tag(conn: sa.Connection, user_id: int) -> None:
    a = store.upsert_contact(conn, user_id=user_id, email="a@x.example")
    b = store.upsert_contact(conn, user_id=user_id, email="b@x.example")
    store.add_tags(conn, [b], ["x"])
    store.merge_contacts(conn, keep_id=a, drop_id=b)
    assert store.contacts_with_tag(conn, user_id=user_id, tag="x") == [a]


def test_empty_tags_are_refused(conn: sa.Connection, contact_id: int) -> None:
    with pytest.raises(ValueError, match="empty tag"):
        store.add_tags(conn, [contact_id], [" "])
