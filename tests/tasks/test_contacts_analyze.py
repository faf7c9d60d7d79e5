"""contacts.analyze_interactions: features per interaction (counts, direction, local time,
response latency), last and next touch per contact; a re-run changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tasks import store
from tasks.contacts.analyze import analyze_interactions
from tasks.contacts.features import (
    interaction_features,
    previous_directed,
    text_counts,
    touch_gap,
    touches,
    user_zone,
)
from tests.tasks.dataops import database_rows, dead_letter, unreachable_database

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)  # a Monday
DAY = timedelta(days=1)


def test_text_counts() -> None:
    assert text_counts("Lunch?", "Can we meet Friday?? It's been a while. Or Monday?") == (11, 3)
    assert text_counts(None, None) == (0, 0)


def item(at: datetime, direction: str | None, **fields: Any) -> Any:
    return SimpleNamespace(**{"occurred_at": at, "direction": direction, "subject": None,
                              "body": None, **fields})


def test_latency_measures_a_reply_to_the_previous_directed_interaction() -> None:
    timeline = [item(T0, "in"), item(T0 + timedelta(hours=1), None),  # a meeting in between
                item(T0 + timedelta(hours=3), "out"), item(T0 + timedelta(hours=4), "out")]
    zone = user_zone("UTC")
    latencies = [interaction_features(row, previous_directed(timeline, i), zone)
                 ["response_latency_seconds"] for i, row in enumerate(timeline)]
    assert latencies == [None, None, 3 * 3600, None]  # first, undirected, reply, follow-up


def test_weekday_and_hour_are_in_the_users_time_zone() -> None:
    late = item(datetime(2024, 5, 6, 23, 30, tzinfo=UTC), "in", subject="Hi", body="Ok?")
    utc = interaction_features(late, None, user_zone("UTC"))
    tokyo = interaction_features(late, None, user_zone("Asia/Tokyo"))
    assert (utc["weekday"], utc["hour"], utc["timezone"]) == (0, 23, "UTC")
    assert (tokyo["weekday"], tokyo["hour"], tokyo["timezone"]) == (1, 8, "Asia/Tokyo")
    assert (utc["word_count"], utc["question_count"], utc["direction"]) == (2, 1, "in")
    assert user_zone("Not/AZone") == ZoneInfo("UTC")


@pytest.mark.parametrize(
    ("gaps_days", "expected_days"),
    [
        ([], 30),  # one interaction
        ([10, 20, 30], 20),  # median gap
        ([1, 1, 2], 7),  # clamped up to a week
        ([200, 300], 90),  # clamped down to 90 days
        ([10, 14], 12),  # even count: the mean of the middle two
    ],
)
def test_next_touch_rule(gaps_days: list[int], expected_days: int) -> None:
    times = [T0]
    for gap in gaps_days:
        times.append(times[-1] + gap * DAY)
    assert touch_gap(list(reversed(times))) == expected_days * DAY  # order does not matter
    assert touches(times) == (times[-1], times[-1] + expected_days * DAY)


def test_no_interactions_no_touches() -> None:
    assert touches([]) == (None, None)


@pytest.fixture
def history(db: sa.Engine) -> dict[str, int]:
    with store.transaction() as conn:
        user = store.ensure_user(conn, email="owner@example.com", timezone="Europe/Berlin")
        ann = store.upsert_contact(conn, user_id=user, email="ann@acme.example")
        bob = store.upsert_contact(conn, user_id=user, email="bob@globex.example")
        quiet = store.upsert_contact(conn, user_id=user, email="quiet@initech.example")
        for offset, direction, body in [(0, "in", "Can we talk? Tomorrow?"),
                                        (0.5, "out", "Sure, 10am works."),
                                        (20, "in", "Thanks for the call"),
                                        (40, "out", "Any news?")]:
            store.record_interaction(conn, contact_id=ann, kind="email", direction=direction,
                                     occurred_at=T0 + offset * DAY, subject="Plan", body=body)
        store.record_interaction(conn, contact_id=bob, kind="call", occurred_at=T0)
    return {"user": user, "ann": ann, "bob": bob, "quiet": quiet}


def contact(contact_id: int) -> Any:
    with store.transaction(readonly=True) as conn:
        return store.get_contact(conn, contact_id)


def test_analysis_stores_features_and_touches_then_changes_nothing(
    history: dict[str, int],
) -> None:
    summary = analyze_interactions(contact_id=None, batch_size=2)
    assert summary == {"interactions_analyzed": 5, "contacts": 3, "touches_changed": 2}
    with store.transaction(readonly=True) as conn:
        ann = store.list_interactions(conn, contact_id=history["ann"])
    first, reply = ann[0].features, ann[1].features
    assert (first["question_count"], first["response_latency_seconds"]) == (2, None)
    assert (first["weekday"], first["hour"], first["timezone"]) == (0, 11, "Europe/Berlin")
    assert (reply["direction"], reply["response_latency_seconds"]) == ("out", 12 * 3600)
    # ann: gaps 0.5, 19.5, 20 days -> median 19.5 days after the last, on day 40
    assert contact(history["ann"]).last_touch_at == T0 + 40 * DAY
    assert contact(history["ann"]).next_touch_at == T0 + 59.5 * DAY
    assert contact(history["bob"]).next_touch_at == T0 + 30 * DAY  # one interaction
    assert contact(history["quiet"]).last_touch_at is None
    before = database_rows()
    assert analyze_interactions(contact_id=None, batch_size=2) == {
        "interactions_analyzed": 0, "contacts": 3, "touches_changed": 0}
    assert database_rows() == before


def test_one_contact_only(history: dict[str, int]) -> None:
    summary = analyze_interactions(contact_id=history["bob"], batch_size=10)
    assert summary == {"interactions_analyzed": 1, "contacts": 1, "touches_changed": 1}
    with store.transaction(readonly=True) as conn:
        assert len(store.list_interactions(conn, without_features=True)) == 4


def test_a_new_interaction_is_analysed_and_moves_the_touch(history: dict[str, int]) -> None:
    analyze_interactions(contact_id=None, batch_size=50)
    with store.transaction() as conn:
        store.record_interaction(conn, contact_id=history["bob"], kind="email", direction="out",
                                 occurred_at=T0 + 3 * DAY, body="Following up")
    summary = analyze_interactions(contact_id=None, batch_size=50)
    assert (summary["interactions_analyzed"], summary["touches_changed"]) == (1, 1)
    assert contact(history["bob"]).next_touch_at == T0 + 10 * DAY  # a 3-day gap, clamped to 7


def test_the_task_runs_through_the_policy(air_app: Any, history: dict[str, int]) -> None:
    result = air_app.tasks["contacts.analyze_interactions"].apply()
    assert result.successful(), result.traceback
    assert result.result["interactions_analyzed"] == 5


def test_an_unknown_contact_fails_permanently_without_retry(
    air_app: Any, db: sa.Engine, redis_url: str
) -> None:
    result = air_app.tasks["contacts.analyze_interactions"].apply(kwargs={"contact_id": 424242})
    letter = dead_letter(redis_url, result.id)
    assert (letter.exception, letter.retries) == ("PermanentError", 0)


def test_an_unreachable_database_is_retried_then_dead_lettered(
    air_app: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    unreachable_database(monkeypatch)
    result = air_app.tasks["contacts.analyze_interactions"].apply()
    assert result.failed()
    letter = dead_letter(redis_url, result.id)
    assert (letter.exception, letter.retries) == ("TransientError", 3)
