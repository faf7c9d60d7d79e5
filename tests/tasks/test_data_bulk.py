"""data.bulk_operation: every action in batches smaller than the data; re-runs change nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from tasks import store
from tasks.data.bulk import BulkOperation, run_bulk
from tasks.errors import PermanentError
from tests.tasks.dataops import database_rows, dead_letter, unreachable_database

T0 = datetime(2024, 5, 1, tzinfo=UTC)


@pytest.fixture
def people(db: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Seven contacts of one user (each with an interaction), one of another user."""
    monkeypatch.setenv("AIR_DATA_BATCH_SIZE", "3")
    with store.transaction() as conn:
        user_id = store.ensure_user(conn, email="owner@example.com")
        other = store.ensure_user(conn, email="other@example.com")
        ids = [store.upsert_contact(conn, user_id=user_id, email=f"p{n}@x.example",
                                    name=f"Person {n}") for n in range(7)]
        for contact_id in ids:
            store.record_interaction(conn, contact_id=contact_id, kind="email", occurred_at=T0)
        store.add_tags(conn, ids[:5], ["lead"])
        foreign = store.upsert_contact(conn, user_id=other, email="p0@x.example")
    return {"user": user_id, "ids": ids, "foreign": foreign}


def run(air_app: Any, **kwargs: Any) -> dict[str, Any]:
    result = air_app.tasks["data.bulk_operation"].apply(kwargs=kwargs)
    assert result.successful(), result.traceback
    return dict(result.result)


def test_tag_then_untag_in_batches_and_again_is_a_no_op(
    air_app: Any, people: dict[str, Any]
) -> None:
    ids = people["ids"]
    args = {"user_id": people["user"], "contact_ids": [*ids, people["foreign"]]}
    tagged = run(air_app, action="tag", tags=["vip", " gold "], **args)
    assert (tagged["contacts"], tagged["changed"], tagged["batches"]) == (7, 14, 3)
    with store.transaction() as conn:
        assert store.contacts_with_tag(conn, user_id=people["user"], tag="gold") == ids
        assert store.tags_of(conn, people["foreign"]) == []  # another user's contact: untouched
    before = database_rows()
    assert run(air_app, action="tag", tags=["vip", "gold"], **args)["changed"] == 0
    assert database_rows() == before

    untagged = run(air_app, action="untag", tags=["vip"], **args)
    assert untagged["changed"] == 7
    before = database_rows()
    assert run(air_app, action="untag", tags=["vip"], **args)["changed"] == 0
    assert database_rows() == before


def test_delete_by_tag_selector_removes_contacts_with_their_interactions(
    air_app: Any, people: dict[str, Any]
) -> None:
    deleted = run(air_app, action="delete", user_id=people["user"], selector={"tag": "lead"})
    assert (deleted["contacts"], deleted["changed"], deleted["batches"]) == (5, 5, 2)
    with store.transaction() as conn:
        left = store.list_contacts(conn, user_id=people["user"])
        assert [c.id for c in left] == people["ids"][5:]
        assert len(store.list_interactions(conn, user_id=people["user"])) == 2
    before = database_rows()
    again = run(air_app, action="delete", user_id=people["user"], selector={"tag": "lead"})
    assert (again["contacts"], again["changed"]) == (0, 0)
    assert database_rows() == before


def test_merge_moves_every_interaction_and_tag_to_the_keeper(
    air_app: Any, people: dict[str, Any]
) -> None:
    keep, *drop = people["ids"]
    merged = run(air_app, action="merge", user_id=people["user"], keep_id=keep,
                 contact_ids=people["ids"])
    assert (merged["contacts"], merged["changed"], merged["batches"]) == (6, 6, 2)
    with store.transaction() as conn:
        assert [c.id for c in store.list_contacts(conn, user_id=people["user"])] == [keep]
        assert len(store.list_interactions(conn, contact_id=keep)) == 7
        assert all(store.resolve_contact(conn, d) == keep for d in drop)
    before = database_rows()
    again = run(air_app, action="merge", user_id=people["user"], keep_id=keep,
                contact_ids=people["ids"])
    assert again["changed"] == 0
    assert database_rows() == before


def test_progress_is_reported_after_each_batch(people: dict[str, Any]) -> None:
    seen: list[tuple[int, int]] = []
    op = BulkOperation.parse({"user_id": people["user"], "action": "tag", "tags": ["x"],
                              "contact_ids": people["ids"]})
    run_bulk(op, batch_size=3, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(3, 7), (6, 7), (7, 7)]


@pytest.mark.parametrize("kwargs, message", [
    ({"action": "paint", "contact_ids": [1]}, "not one of"),
    ({"action": "tag", "contact_ids": [1]}, "needs tags"),
    ({"action": "tag", "tags": ["x"]}, "exactly one of"),
    ({"action": "tag", "tags": ["x"], "contact_ids": [1], "selector": {"tag": "a"}},
     "exactly one of"),
    ({"action": "delete", "selector": {"company": "Acme"}}, "selector must be"),
    ({"action": "merge", "contact_ids": [1]}, "keep_id is required"),
    ({"action": "delete", "contact_ids": ["1"]}, "must be an integer"),
    ({"action": "delete", "contact_ids": [1], "force": True}, "unknown arguments"),
])
def test_bad_arguments_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(PermanentError, match=message):
        BulkOperation.parse({"user_id": 1, **kwargs})


def test_a_merge_into_another_users_contact_fails_permanently_without_retry(
    air_app: Any, people: dict[str, Any], redis_url: str
) -> None:
    before = database_rows()
    result = air_app.tasks["data.bulk_operation"].apply(kwargs={
        "user_id": people["user"], "action": "merge", "keep_id": people["foreign"],
        "contact_ids": people["ids"]})
    assert result.failed()
    letter = dead_letter(redis_url, result.id)
    assert (letter.exception, letter.retries) == ("PermanentError", 0)
    assert "not an active contact" in letter.message
    assert database_rows() == before


def test_an_unreachable_database_is_retried_then_dead_lettered(
    air_app: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    unreachable_database(monkeypatch)
    result = air_app.tasks["data.bulk_operation"].apply(kwargs={
        "user_id": 1, "action": "delete", "contact_ids": [1, 2]})
    assert result.failed()
    letter = dead_letter(redis_url, result.id)
    assert (letter.exception, letter.retries) == ("TransientError", 2)
