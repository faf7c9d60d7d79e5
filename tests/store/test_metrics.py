"""metrics.py: relationship scores per contact, analytics snapshots unique per day."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from tasks import store

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def test_scores_are_written_only_when_they_change(conn: sa.Connection, contact_id: int) -> None:
    args = {"contact_id": contact_id, "score": 0.75, "recency": 0.9, "frequency": 0.5}
    assert store.save_score(conn, **args, computed_at=T0)  # type: ignore[arg-type]
    assert not store.save_score(conn, **args)  # type: ignore[arg-type]
    row = store.get_score(conn, contact_id)
    assert row is not None
    assert (row.score, row.computed_at) == (0.75, T0)
    assert store.save_score(conn, **{**args, "score": 0.8})  # type: ignore[arg-type]
    assert store.get_score(conn, contact_id).score == 0.8  # type: ignore[union-attr]


def test_top_scores_leave_out_merged_contacts(conn: sa.Connection, user_id: int) -> None:
    ids = [store.upsert_contact(conn, user_id=user_id, email=f"s{i}@x.example", name=f"S{i}")
           for i in range(3)]
    for cid, score in zip(ids, (0.2, 0.9, 0.5), strict=True):
        store.save_score(conn, contact_id=cid, score=score, recency=score, frequency=score)
    assert [r.name for r in store.top_scores(conn, user_id=user_id, limit=2)] == ["S1", "S2"]
    store.merge_contacts(conn, keep_id=ids[0], drop_id=ids[1])
    assert [r.contact_id for r in store.top_scores(conn, user_id=user_id)] == [ids[2], ids[0]]


def test_one_snapshot_per_day(conn: sa.Connection) -> None:
    day = date(2024, 5, 1)
    assert store.save_snapshot(conn, day=day, metrics={"interactions": 4})
    assert not store.save_snapshot(conn, day=day, metrics={"interactions": 4})
    assert store.save_snapshot(conn, day=day, metrics={"interactions": 5})
    store.save_snapshot(conn, day=date(2024, 5, 2), metrics={"interactions": 1})
    assert store.get_snapshot(conn, day).metrics == {"interactions": 5}  # type: ignore[union-attr]
    assert [s.day for s in store.list_snapshots(conn)] == [day, date(2024, 5, 2)]
    assert [s.day for s in store.list_snapshots(conn, since=date(2024, 5, 2))] == [
        date(2024, 5, 2)]
    assert store.list_snapshots(conn, until=day) == []
