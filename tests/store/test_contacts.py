"""contacts.py: find-or-create, edits that write only on change, batches, duplicates, merges."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tasks import store


def test_upsert_finds_by_normalised_email_and_fills_only_blanks(
    conn: sa.Connection, user_id: int
) -> None:
    first = store.upsert_contact(conn, user_id=user_id, email="Bob <Bob@Acme.example>")
    again = store.upsert_contact(conn, user_id=user_id, email="bob@acme.example", name="Bob",
                                 phone="+1 555 010 2030", company="Acme")
    assert again == first
    store.upsert_contact(conn, user_id=user_id, email="bob@acme.example", name="Robert")
    bob = store.get_contact(conn, first)
    assert bob is not None
    assert (bob.name, bob.company) == ("Bob", "Acme")  # an existing name is not overwritten
    assert (bob.email_normalized, bob.phone_normalized) == ("bob@acme.example", "+15550102030")


def test_upsert_finds_by_phone_when_no_email_matches(conn: sa.Connection, user_id: int) -> None:
    first = store.upsert_contact(conn, user_id=user_id, phone="+1 (555) 010-2030")
    assert store.upsert_contact(conn, user_id=user_id, phone="+15550102030",
                                email="c@x.example") == first
    assert store.find_contact(conn, user_id=user_id, email="C@X.example") == first


def test_contacts_are_per_user(conn: sa.Connection, user_id: int) -> None:
    other = store.ensure_user(conn, email="other@example.com")
    mine = store.upsert_contact(conn, user_id=user_id, email="d@x.example")
    theirs = store.upsert_contact(conn, user_id=other, email="d@x.example")
    assert mine != theirs
    assert store.find_contact(conn, user_id=other, email="d@x.example") == theirs


def test_update_contact_writes_only_changes(conn: sa.Connection, contact_id: int) -> None:
    before = store.get_contact(conn, contact_id)
    assert before is not None
    assert store.update_contact(conn, contact_id, name="Ann") is False
    assert store.get_contact(conn, contact_id) == before  # updated_at untouched
    assert store.update_contact(conn, contact_id, email="Ann.New@Acme.example") is True
    after = store.get_contact(conn, contact_id)
    assert after is not None
    assert after.email_normalized == "ann.new@acme.example"
    assert after.updated_at >= before.updated_at


def test_update_contact_rejects_unknown_fields_and_contacts(
    conn: sa.Connection, contact_id: int
) -> None:
    with pytest.raises(TypeError, match="user_id"):
        store.update_contact(conn, contact_id, user_id=5)
    with pytest.raises(LookupError):
        store.update_contact(conn, 999_999, name="x")


def test_set_touch(conn: sa.Connection, contact_id: int) -> None:
    last = store.utcnow() - timedelta(days=3)
    upcoming = store.utcnow() + timedelta(days=4)
    assert store.set_touch(conn, contact_id, last_touch_at=last, next_touch_at=upcoming)
    assert not store.set_touch(conn, contact_id, last_touch_at=last, next_touch_at=upcoming)
    row = store.get_contact(conn, contact_id)
    assert row is not None
    assert (row.last_touch_at, row.next_touch_at) == (last, upcoming)


def test_list_contacts_pages_by_id(conn: sa.Connection, user_id: int) -> None:
    ids = [store.upsert_contact(conn, user_id=user_id, email=f"p{i}@x.example") for i in range(7)]
    seen: list[int] = []
    after = 0
    while page := store.list_contacts(conn, user_id=user_id, after_id=after, limit=3):
        seen += [row.id for row in page]
        after = page[-1].id
    assert seen == ids


def test_duplicate_groups_by_email_and_phone(conn: sa.Connection, user_id: int) -> None:
    a = store.upsert_contact(conn, user_id=user_id, email="same@x.example")
    # Inserted under another address, then edited to collide: the case dedup exists for.
    b = store.upsert_contact(conn, user_id=user_id, email="tmp@x.example",
                             phone="+44 20 7946 0000")
    store.update_contact(conn, b, email="SAME@x.example")
    c = store.upsert_contact(conn, user_id=user_id, email="c@x.example")
    store.update_contact(conn, c, phone="0044 20 7946 0000")
    store.upsert_contact(conn, user_id=user_id, email="alone@x.example")
    assert store.duplicate_groups(conn, user_id=user_id, by="email") == [[a, b]]
    assert store.duplicate_groups(conn, user_id=user_id, by="phone") == [[b, c]]


def test_merge_moves_interactions_and_tags_and_keeps_a_pointer(
    conn: sa.Connection, user_id: int
) -> None:
    keep = store.upsert_contact(conn, user_id=user_id, email="keep@x.example")
    drop = store.upsert_contact(conn, user_id=user_id, email="drop@x.example", name="Dee",
                                company="Acme")
    when = store.utcnow()
    for _ in range(3):
        store.record_interaction(conn, contact_id=drop, kind="call", occurred_at=when)
    store.add_tags(conn, [drop], ["vip", "lead"])
    store.add_tags(conn, [keep], ["vip"])
    store.save_score(conn, contact_id=drop, score=1.0, recency=1.0, frequency=1.0)
    store.set_touch(conn, drop, last_touch_at=when, next_touch_at=None)

    assert store.merge_contacts(conn, keep_id=keep, drop_id=drop) == 3
    assert store.merge_contacts(conn, keep_id=keep, drop_id=drop) == 0  # idempotent
    kept = store.get_contact(conn, keep)
    assert kept is not None
    assert (kept.name, kept.company, kept.last_touch_at) == ("Dee", "Acme", when)
    assert len(store.list_interactions(conn, contact_id=keep)) == 3
    assert store.tags_of(conn, keep) == ["lead", "vip"]
    assert store.get_score(conn, drop) is None
    assert [row.id for row in store.list_contacts(conn, user_id=user_id)] == [keep]
    assert store.find_contact(conn, user_id=user_id, email="drop@x.example") == keep
    assert store.upsert_contact(conn, user_id=user_id, email="drop@x.example") == keep


def test_merge_follows_and_repoints_chains(conn: sa.Connection, user_id: int) -> None:
    a, b, c = (store.upsert_contact(conn, user_id=user_id, email=f"{n}@x.example")
               for n in "abc")
    store.merge_contacts(conn, keep_id=b, drop_id=a)
    store.merge_contacts(conn, keep_id=c, drop_id=b)
    assert store.resolve_contact(conn, a) == c
    assert store.get_contact(conn, a).merged_into == c  # type: ignore[union-attr]


def test_merge_refuses_self_and_other_users(conn: sa.Connection, user_id: int) -> None:
    mine = store.upsert_contact(conn, user_id=user_id, email="m@x.example")
    other = store.ensure_user(conn, email="other@example.com")
    theirs = store.upsert_contact(conn, user_id=other, email="t@x.example")
    with pytest.raises(ValueError, match="itself"):
        store.merge_contacts(conn, keep_id=mine, drop_id=mine)
    with pytest.raises(ValueError, match="different users"):
        store.merge_contacts(conn, keep_id=mine, drop_id=theirs)
    with pytest.raises(LookupError):
        store.merge_contacts(conn, keep_id=mine, drop_id=999_999)


def test_delete_contacts_cascades(conn: sa.Connection, user_id: int) -> None:
    gone = store.upsert_contact(conn, user_id=user_id, email="gone@x.example")
    stays = store.upsert_contact(conn, user_id=user_id, email="stays@x.example")
    store.record_interaction(conn, contact_id=gone, kind="email", occurred_at=store.utcnow())
    store.add_tags(conn, [gone, stays], ["t"])
    assert store.delete_contacts(conn, [gone, gone, 999_999]) == 1
    counts = store.row_counts(conn)
    assert (counts["contacts"], counts["interactions"], counts["contact_tags"]) == (1, 0, 1)
