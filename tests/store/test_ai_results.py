"""ai_results.py: one stored result per subject; saving the same result again writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tasks import store


def test_contact_and_interaction_analyses(conn: sa.Connection, contact_id: int) -> None:
    results = {"topics": ["pricing", "renewal"], "sentiment": 0.4}
    assert store.save_contact_analysis(conn, contact_id=contact_id, kind="interests",
                                       results=results, provider="local")
    assert not store.save_contact_analysis(conn, contact_id=contact_id, kind="interests",
                                           results=results, provider="local")
    assert store.save_contact_analysis(conn, contact_id=contact_id, kind="interests",
                                       results={"topics": []}, provider="openai")
    row = store.get_contact_analysis(conn, contact_id, "interests")
    assert row is not None
    assert (row.results, row.provider) == ({"topics": []}, "openai")
    assert store.get_contact_analysis(conn, contact_id, "analysis") is None

    interaction = store.record_interaction(conn, contact_id=contact_id, kind="email",
                                           occurred_at=datetime.now(UTC)) or 0
    assert store.save_interaction_analysis(conn, interaction_id=interaction, kind="analysis",
                                           results={"summary": "s"}, provider="local")
    assert not store.save_interaction_analysis(conn, interaction_id=interaction,
                                               kind="analysis", results={"summary": "s"},
                                               provider="local")
    got = store.get_interaction_analysis(conn, interaction, "analysis")
    assert got is not None
    assert got.results == {"summary": "s"}


def test_briefings_and_generated_messages(
    conn: sa.Connection, user_id: int, integration_id: int, contact_id: int
) -> None:
    start = datetime(2024, 5, 2, 14, 0, tzinfo=UTC)
    meeting, _ = store.upsert_meeting(conn, user_id=user_id, integration_id=integration_id,
                                      uid="m1", starts_at=start,
                                      ends_at=start + timedelta(hours=1))
    assert store.save_briefing(conn, meeting_id=meeting, content="v1", provider="local")
    assert not store.save_briefing(conn, meeting_id=meeting, content="v1", provider="local")
    assert store.save_briefing(conn, meeting_id=meeting, content="v2", provider="local")
    assert store.get_briefing(conn, meeting).content == "v2"  # type: ignore[union-attr]
    assert store.row_counts(conn)["briefings"] == 1

    draft = {"contact_id": contact_id, "purpose": "follow_up", "draft": "Hi Ann",
             "provider": "local"}
    assert store.save_generated_message(conn, **draft)  # type: ignore[arg-type]
    assert not store.save_generated_message(conn, **draft)  # type: ignore[arg-type]
    assert store.save_generated_message(conn, **{**draft, "purpose": "intro"})  # type: ignore[arg-type]
    row = store.get_generated_message(conn, contact_id, "follow_up")
    assert row is not None
    assert row.draft == "Hi Ann"
    assert store.row_counts(conn)["generated_messages"] == 2
