"""Reads by a page of ids (tags, scores, AI results), paging meetings, counts, body retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tasks import store

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def test_tags_and_scores_by_contact(conn: sa.Connection, user_id: int, contact_id: int) -> None:
    other = store.upsert_contact(conn, user_id=user_id, email="bo@x.example")
    untagged = store.upsert_contact(conn, user_id=user_id, email="cy@x.example")
    store.add_tags(conn, [contact_id], ["b", "a"])
    store.add_tags(conn, [other], ["a"])
    store.save_score(conn, contact_id=other, score=0.5, recency=0.2, frequency=0.3)
    ids = [contact_id, other, untagged]
    assert store.tags_by_contact(conn, ids) == {contact_id: ["a", "b"], other: ["a"]}
    scores = store.scores_by_contact(conn, ids)
    assert list(scores) == [other] and scores[other].score == 0.5
    assert store.tags_by_contact(conn, []) == {} == store.scores_by_contact(conn, [])


def test_results_by_subject(
    conn: sa.Connection, user_id: int, integration_id: int, contact_id: int
) -> None:
    store.save_contact_analysis(conn, contact_id=contact_id, kind="interests",
                                results={"t": 1}, provider="local")
    store.save_contact_analysis(conn, contact_id=contact_id, kind="analysis",
                                results={"t": 2}, provider="local")
    store.save_generated_message(conn, contact_id=contact_id, purpose="intro", draft="Hi",
                                 provider="local")
    interaction = store.record_interaction(conn, contact_id=contact_id, kind="email",
                                           occurred_at=T0)
    assert interaction is not None
    store.save_interaction_analysis(conn, interaction_id=interaction, kind="analysis",
                                    results={}, provider="local")
    meeting, _ = store.upsert_meeting(conn, user_id=user_id, integration_id=integration_id,
                                      uid="u", starts_at=T0, ends_at=T0 + timedelta(hours=1))
    store.save_briefing(conn, meeting_id=meeting, content="B", provider="local")

    analyses = store.results_by_subject(conn, "contact_analyses", [contact_id, 999])
    assert [r.kind for r in analyses[contact_id]] == ["analysis", "interests"]
    assert store.results_by_subject(conn, "generated_messages", [contact_id])[contact_id][
        0].draft == "Hi"
    assert list(store.results_by_subject(conn, "interaction_analyses", [interaction])) == [
        interaction]
    assert store.results_by_subject(conn, "briefings", [meeting])[meeting][0].content == "B"
    with pytest.raises(KeyError):
        store.results_by_subject(conn, "contacts", [contact_id])


def test_list_meetings_pages_by_id(conn: sa.Connection, user_id: int, integration_id: int) -> None:
    ids = [store.upsert_meeting(conn, user_id=user_id, integration_id=integration_id,
                                uid=f"u{n}", starts_at=T0 - timedelta(days=n),
                                ends_at=T0)[0] for n in range(3)]
    first = store.list_meetings(conn, user_id=user_id, limit=2)
    rest = store.list_meetings(conn, user_id=user_id, after_id=first[-1].id)
    assert [m.id for m in first + rest] == ids
    other = store.ensure_user(conn, email="x@example.com")
    assert store.list_meetings(conn, user_id=other) == []


def test_active_contact_ids_filters_by_user_and_merge(
    conn: sa.Connection, user_id: int, contact_id: int
) -> None:
    merged = store.upsert_contact(conn, user_id=user_id, email="old@x.example")
    store.merge_contacts(conn, keep_id=contact_id, drop_id=merged)
    other_user = store.ensure_user(conn, email="x@example.com")
    foreign = store.upsert_contact(conn, user_id=other_user, email="f@x.example")
    found = store.active_contact_ids(conn, user_id=user_id,
                                     contact_ids=[foreign, merged, contact_id, 999, contact_id])
    assert found == [contact_id]


def test_user_data_counts(conn: sa.Connection, user_id: int, integration_id: int,
                          contact_id: int) -> None:
    store.record_interaction(conn, contact_id=contact_id, kind="call", occurred_at=T0)
    store.upsert_meeting(conn, user_id=user_id, integration_id=integration_id, uid="u",
                         starts_at=T0, ends_at=T0)
    assert store.user_data_counts(conn, user_id) == {"contacts": 1, "interactions": 1,
                                                     "meetings": 1}
    other = store.ensure_user(conn, email="x@example.com")
    assert store.user_data_counts(conn, other) == {"contacts": 0, "interactions": 0,
                                                   "meetings": 0}


def test_clear_bodies_keeps_the_interaction(conn: sa.Connection, contact_id: int) -> None:
    old = store.record_interaction(conn, contact_id=contact_id, kind="email", body="old",
                                   subject="s", occurred_at=T0 - timedelta(days=400))
    new = store.record_interaction(conn, contact_id=contact_id, kind="email", body="new",
                                   occurred_at=T0)
    assert old is not None and new is not None
    assert store.clear_bodies(conn, before=T0 - timedelta(days=365)) == 1
    assert store.clear_bodies(conn, before=T0 - timedelta(days=365)) == 0
    kept = store.get_interaction(conn, old)
    assert kept is not None and (kept.body, kept.subject) == (None, "s")
    assert store.get_interaction(conn, new).body == "new"  # type: ignore[union-attr]


def test_list_exports_newest_first(conn: sa.Connection, user_id: int) -> None:
    first = store.start_export(conn, user_id=user_id)
    second = store.start_export(conn, user_id=user_id)
    assert [e.id for e in store.list_exports(conn)] == [second, first]
    assert [e.id for e in store.list_exports(conn, user_id=user_id + 1)] == []
    cutoff = store.utcnow() + timedelta(seconds=1)
    assert len(store.list_exports(conn, before=cutoff)) == 2
    assert store.list_exports(conn, before=T0) == []
