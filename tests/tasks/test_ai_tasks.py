"""The four AI tasks end to end with the local provider, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

import tasks.ai  # noqa: F401  registers the ai.* tasks (until tasks/__init__ imports it)
from runtime.broker.deadletter import DeadLetterStore
from tasks import store
from tasks.errors import PermanentError
from tasks.store.db.tables import interactions
from tests.tasks.ai_world import World, build_world, snapshot


@pytest.fixture
def world(db: sa.Engine) -> World:
    return build_world()


def run(air_app: Any, name: str, **kwargs: Any) -> Any:
    result = air_app.tasks[name].apply(kwargs=kwargs)
    assert result.successful(), result.traceback
    return result.result


def assert_permanent(air_app: Any, redis_url: str, name: str, message: str,
                     **kwargs: Any) -> None:
    state = snapshot()
    result = air_app.tasks[name].apply(kwargs=kwargs)
    assert result.failed() and isinstance(result.result, PermanentError)
    assert message in str(result.result)
    letter = DeadLetterStore.from_url(redis_url).get(result.id)
    assert letter is not None and (letter.task, letter.exception) == (name, "PermanentError")
    assert letter.retries == 0  # not retried
    assert snapshot() == state


# --- ai.analyze ----------------------------------------------------------------------------------

def test_analyze_stores_one_analysis_and_rerunning_changes_nothing(
    air_app: Any, world: World
) -> None:
    interaction = world.interactions[1]
    assert run(air_app, "ai.analyze", interaction_id=interaction) == {
        "interaction_id": interaction, "provider": "local", "status": "saved"}
    with store.transaction(readonly=True) as conn:
        row = store.get_interaction_analysis(conn, interaction, "analysis")
    assert row is not None and row.provider == "local"
    results = row.results
    assert results["sentiment"]["label"] == "positive"
    assert {"sales", "ai & data", "finance"} <= set(results["topics"])
    assert "Could you send the pricing proposal by Friday?" in results["action_items"]
    assert results["summary"] and results["engine"] == "local/1"
    state = snapshot()
    assert run(air_app, "ai.analyze", interaction_id=interaction)["status"] == "unchanged"
    assert snapshot() == state


def test_analyze_works_on_the_cleaned_text_and_again_when_it_changes(
    air_app: Any, world: World
) -> None:
    first = world.interactions[0]
    run(air_app, "ai.analyze", interaction_id=first)
    with store.transaction(readonly=True) as conn:
        before = store.get_interaction_analysis(conn, first, "analysis")
    assert before is not None and "quoted" not in str(before.results)
    with store.transaction() as conn:
        conn.execute(sa.update(interactions).where(interactions.c.id == first)
                     .values(body="The outage is unacceptable. Fix it before Monday."))
    assert run(air_app, "ai.analyze", interaction_id=first)["status"] == "saved"
    with store.transaction(readonly=True) as conn:
        after = store.get_interaction_analysis(conn, first, "analysis")
    assert after is not None and after.results["sentiment"]["label"] == "negative"


def test_analyze_without_an_id_works_through_the_pending_interactions(
    air_app: Any, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIR_AI_BATCH_SIZE", "3")
    run(air_app, "ai.analyze", interaction_id=world.interactions[0])
    first = run(air_app, "ai.analyze")
    assert (first["pending"], first["saved"], first["failed"]) == (3, 3, 0)
    assert run(air_app, "ai.analyze")["pending"] == 0  # Carl's call has no text
    with store.transaction(readonly=True) as conn:
        assert store.row_counts(conn)["interaction_analyses"] == 4
    state = snapshot()
    assert run(air_app, "ai.analyze") == {"pending": 0, "provider": "local", "saved": 0,
                                          "unchanged": 0, "failed": 0, "transient": 0,
                                          "deferred": 0}
    assert snapshot() == state


def test_a_batch_past_its_time_budget_leaves_the_rest_to_the_next_run(
    air_app: Any, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIR_AI_BUDGET", "0.000001")  # every batch item after the first is late
    first = run(air_app, "ai.analyze")
    assert (first["pending"], first["saved"], first["deferred"]) == (4, 1, 3)
    assert run(air_app, "ai.analyze")["pending"] == 3
    monkeypatch.setenv("AIR_AI_BRIEFING_HORIZON", "48")
    briefed = run(air_app, "ai.generate_briefing")
    assert (briefed["meetings"], briefed["written"], briefed["deferred"]) == (2, 1, 1)
    assert run(air_app, "ai.generate_briefing")["meeting_ids"] == [world.later]


def test_analyze_an_unknown_interaction_fails_without_retry(
    air_app: Any, world: World, redis_url: str
) -> None:
    assert_permanent(air_app, redis_url, "ai.analyze", "no interaction 424242",
                     interaction_id=424242)


# --- ai.extract_interests ------------------------------------------------------------------------

def test_extract_interests_aggregates_the_contacts_interactions(
    air_app: Any, world: World
) -> None:
    result = run(air_app, "ai.extract_interests", contact_id=world.ann)
    assert {k: result[k] for k in ("contact_id", "provider", "interactions", "status")} == {
        "contact_id": world.ann, "provider": "local", "interactions": 3, "status": "saved"}
    with store.transaction(readonly=True) as conn:
        row = store.get_contact_analysis(conn, world.ann, "interests")
    assert row is not None and row.provider == "local"
    assert result["interests"] == len(row.results["interests"])
    found = {i["interest"]: i for i in row.results["interests"]}
    assert row.results["interests"][0]["weight"] == 1.0
    assert {"ai & data", "sports", "sales", "planning"} <= set(found)
    assert found["sports"]["terms"] == ["golf"]
    assert found["sports"]["evidence"] == ["Loved the golf weekend."]
    state = snapshot()
    again = run(air_app, "ai.extract_interests", contact_id=world.ann)
    assert again["status"] == "unchanged"
    assert snapshot() == state


def test_extract_interests_follows_a_merge_and_handles_no_history(
    air_app: Any, world: World
) -> None:
    with store.transaction() as conn:
        store.merge_contacts(conn, keep_id=world.carl, drop_id=world.bob)
    merged = run(air_app, "ai.extract_interests", contact_id=world.bob)
    assert (merged["contact_id"], merged["interactions"]) == (world.carl, 1)  # Bob's outage
    result = run(air_app, "ai.extract_interests", contact_id=world.carl)
    assert result["status"] == "unchanged"  # the same contact, the same texts
    with store.transaction() as conn:
        nobody = store.upsert_contact(conn, user_id=world.user, email="nobody@x.example")
    result = run(air_app, "ai.extract_interests", contact_id=nobody)
    assert (result["interactions"], result["interests"], result["status"]) == (0, 0, "saved")


def test_extract_interests_of_an_unknown_contact_fails_without_retry(
    air_app: Any, world: World, redis_url: str
) -> None:
    assert_permanent(air_app, redis_url, "ai.extract_interests", "no contact 424242",
                     contact_id=424242)


# --- ai.generate_briefing ------------------------------------------------------------------------

def test_briefings_for_upcoming_meetings_without_one(air_app: Any, world: World) -> None:
    result = run(air_app, "ai.generate_briefing")
    assert result == {"meetings": 1, "written": 1, "changed": 1, "failed": 0, "deferred": 0,
                      "provider": "local", "meeting_ids": [world.soon]}
    with store.transaction(readonly=True) as conn:
        row = store.get_briefing(conn, world.soon)
        assert store.get_briefing(conn, world.later) is None
    assert row is not None and row.provider == "local"
    content = row.content
    assert content.startswith("# Briefing: AI pilot review\nWhen: ")
    assert "Attendees: Ann Lee (Acme), Bob Martin, new@else.example (not in your contacts)" \
        in content  # the owner is not an attendee of her own meeting
    assert "CET" in content or "CEST" in content  # the owner's time zone
    assert "## Ann Lee (Acme)\nLast touch: " in content and '"Golf"' in content
    assert "- Could you send the pricing proposal by Friday?" in content
    assert "## Bob Martin\n" in content and "post-mortem" in content
    state = snapshot()
    assert run(air_app, "ai.generate_briefing")["meetings"] == 0  # briefed already
    again = run(air_app, "ai.generate_briefing", meeting_id=world.soon)  # asked for: rewritten
    assert (again["written"], again["changed"]) == (1, 0)  # ... to the same bytes
    assert snapshot() == state


def test_a_briefing_follows_new_history_and_the_window(
    air_app: Any, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(air_app, "ai.generate_briefing", meeting_id=world.past)  # any meeting, when asked
    with store.transaction() as conn:
        store.record_interaction(conn, contact_id=world.bob, kind="call", direction="out",
                                 occurred_at=store.utcnow() - timedelta(hours=1),
                                 subject="Renewal", body="Send the renewal quote by Friday.")
    monkeypatch.setenv("AIR_AI_BRIEFING_HORIZON", "48")
    result = run(air_app, "ai.generate_briefing")
    assert result["meeting_ids"] == [world.soon, world.later]
    with store.transaction(readonly=True) as conn:
        later = store.get_briefing(conn, world.later)
    assert later is not None and "Send the renewal quote by Friday." in later.content


def test_briefing_an_unknown_meeting_fails_without_retry(
    air_app: Any, world: World, redis_url: str
) -> None:
    assert_permanent(air_app, redis_url, "ai.generate_briefing", "no meeting 424242",
                     meeting_id=424242)


# --- ai.generate_message -------------------------------------------------------------------------

EXPECTED = {  # what each template takes from Ann's history
    "follow_up": 'about "Golf" on ',  # the last interaction
    "check_in": "Last time you mentioned golf",  # her personal interest
    "intro": "I understand AI is on your mind",  # her top work interest, as she wrote it
    "thank_you": "your thoughts on AI pilot budget",  # her latest own message's key phrase
}


@pytest.mark.parametrize("purpose", sorted(EXPECTED))
def test_generate_message_drafts_from_the_history(
    air_app: Any, world: World, purpose: str
) -> None:
    result = run(air_app, "ai.generate_message", contact_id=world.ann, purpose=purpose,
                 context="I attached the deck.")
    assert (result["status"], result["provider"]) == ("saved", "local")
    with store.transaction(readonly=True) as conn:
        row = store.get_generated_message(conn, world.ann, purpose)
    assert row is not None and row.provider == "local"
    assert "Hi Ann,\n\n" in row.draft and row.draft.endswith("Best regards,\nDana Demo\n")
    assert "I attached the deck." in row.draft
    assert EXPECTED[purpose] in row.draft
    state = snapshot()
    again = run(air_app, "ai.generate_message", contact_id=world.ann, purpose=purpose,
                context="I attached the deck.")
    assert again["status"] == "unchanged"
    assert snapshot() == state


def test_generate_message_refuses_bad_input_without_retry(
    air_app: Any, world: World, redis_url: str
) -> None:
    assert_permanent(air_app, redis_url, "ai.generate_message", "purpose 'spam' is not one of",
                     contact_id=world.ann, purpose="spam")
    assert_permanent(air_app, redis_url, "ai.generate_message", "no contact 424242",
                     contact_id=424242, purpose="intro")
