"""contacts.score_relationships: the documented formula (bounded, monotone in recency and
frequency), stored for every active contact, identical scores never rewritten."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from tasks import store
from tasks.contacts.score import relationship_score, score_all
from tests.tasks.dataops import database_rows, dead_letter, unreachable_database

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
days_ago = st.integers(min_value=0, max_value=5000)
counts = st.integers(min_value=0, max_value=500)


def test_known_values() -> None:
    assert relationship_score(now=NOW, last_at=NOW, recent_count=20).score == 100.0
    assert relationship_score(now=NOW, last_at=None, recent_count=0).score == 0.0
    month = relationship_score(now=NOW, last_at=NOW - 30 * DAY, recent_count=1)
    assert month.recency == round(math.exp(-1), 4)
    assert month.frequency == round(math.log(2) / math.log(21), 4)
    assert month.score == round(100 * (0.6 * math.exp(-1) + 0.4 * math.log(2) / math.log(21)), 1)


def test_whole_days_count() -> None:
    morning = relationship_score(now=NOW, last_at=NOW - timedelta(hours=1), recent_count=3)
    evening = relationship_score(now=NOW, last_at=NOW - timedelta(hours=23), recent_count=3)
    assert morning == evening


@given(days=days_ago, n=counts)
def test_bounded(days: int, n: int) -> None:
    result = relationship_score(now=NOW, last_at=NOW - days * DAY, recent_count=n)
    assert 0.0 <= result.score <= 100.0
    assert 0.0 <= result.recency <= 1.0 and 0.0 <= result.frequency <= 1.0


@given(a=days_ago, b=days_ago, n=counts)
def test_monotone_in_recency(a: int, b: int, n: int) -> None:
    recent, older = sorted((a, b))
    assert (relationship_score(now=NOW, last_at=NOW - recent * DAY, recent_count=n).score
            >= relationship_score(now=NOW, last_at=NOW - older * DAY, recent_count=n).score)


@given(a=counts, b=counts, days=days_ago)
def test_monotone_in_frequency(a: int, b: int, days: int) -> None:
    fewer, more = sorted((a, b))
    assert (relationship_score(now=NOW, last_at=NOW - days * DAY, recent_count=more).score
            >= relationship_score(now=NOW, last_at=NOW - days * DAY, recent_count=fewer).score)


@pytest.fixture
def people(db: sa.Engine) -> dict[str, int]:
    with store.transaction() as conn:
        user = store.ensure_user(conn, email="owner@example.com")
        ids = {name: store.upsert_contact(conn, user_id=user, email=f"{name}@acme.example")
               for name in ("close", "lapsed", "new", "dropped")}
        for days in range(0, 40, 2):  # 20 interactions, the last today
            store.record_interaction(conn, contact_id=ids["close"], kind="email",
                                     occurred_at=NOW - days * DAY - timedelta(hours=1))
        store.record_interaction(conn, contact_id=ids["lapsed"], kind="call",
                                 occurred_at=NOW - 200 * DAY)
        store.record_interaction(conn, contact_id=ids["dropped"], kind="call",
                                 occurred_at=NOW - DAY)
        store.merge_contacts(conn, keep_id=ids["close"], drop_id=ids["dropped"])
    return ids


def test_every_active_contact_is_scored_once(people: dict[str, int]) -> None:
    seen: list[tuple[int, int]] = []
    summary = score_all(now=NOW, batch_size=2, progress=lambda d, t: seen.append((d, t)))
    assert summary == {"contacts": 3, "changed": 3}
    assert seen == [(2, 3), (3, 3)]
    with store.transaction(readonly=True) as conn:
        close, lapsed, new = (store.get_score(conn, people[k]) for k in ("close", "lapsed", "new"))
        assert store.get_score(conn, people["dropped"]) is None  # merged away
    assert close is not None and lapsed is not None and new is not None
    assert (close.score, close.frequency, close.computed_at) == (100.0, 1.0, NOW)
    assert lapsed.frequency == 0.0 and 0 < lapsed.score < 1
    assert (new.score, new.recency, new.frequency) == (0.0, 0.0, 0.0)
    before = database_rows()
    assert score_all(now=NOW + timedelta(hours=6), batch_size=2) == {"contacts": 3, "changed": 0}
    assert database_rows() == before  # same whole days: nothing rewritten, computed_at kept
    assert score_all(now=NOW + 3 * DAY, batch_size=2)["changed"] == 2  # time moved on


def test_the_task_runs_through_the_policy(air_app: Any, people: dict[str, int]) -> None:
    result = air_app.tasks["contacts.score_relationships"].apply()
    assert result.successful(), result.traceback
    assert result.result == {"contacts": 3, "changed": 3}


def test_an_unreachable_database_is_retried_then_dead_lettered(
    air_app: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    unreachable_database(monkeypatch)
    result = air_app.tasks["contacts.score_relationships"].apply()
    assert result.failed()
    letter = dead_letter(redis_url, result.id)
    assert (letter.exception, letter.retries) == ("TransientError", 3)
