"""ops.analytics: the numbers of a crafted day, one snapshot per day, unchanged re-runs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tasks import store
from tasks.errors import PermanentError
from tasks.ops.analytics import parse_day, run_analytics
from tasks.store.db.tables import contacts, integrations
from tests.tasks.dataops import database_rows, dead_letter, unreachable_database

DAY = date(2024, 5, 1)
D = datetime(2024, 5, 1, tzinfo=UTC)
H = timedelta(hours=1)


def created(conn: sa.Connection, table: sa.Table, row_id: int, at: datetime) -> None:
    conn.execute(sa.update(table).where(table.c.id == row_id).values(created_at=at))


@pytest.fixture
def day_data(db: sa.Engine) -> None:
    with store.transaction() as conn:
        user = store.ensure_user(conn, email="owner@example.com")
        ids = {}
        for name, at in (("c1", D - 5 * 24 * H), ("c2", D - H), ("c3", D + 10 * H),
                         ("c4", D + 23 * H), ("c5", D + 24 * H)):
            ids[name] = store.upsert_contact(conn, user_id=user, email=f"{name}@x.example")
            created(conn, contacts, ids[name], at)
        store.save_score(conn, contact_id=ids["c2"], score=0.1, recency=0, frequency=0,
                         computed_at=D - H)
        store.merge_contacts(conn, keep_id=ids["c1"], drop_id=ids["c2"])  # drops c2's score
        for name, score, at in (("c1", 0.8, D - H), ("c3", 0.5, D + H), ("c4", 0.3, D + 25 * H)):
            store.save_score(conn, contact_id=ids[name], score=score, recency=0, frequency=0,
                             computed_at=at)
        for kind, direction, at in (("email", "in", D), ("email", "in", D + 5 * H),
                                    ("email", "out", D + 6 * H), ("call", None, D + 7 * H),
                                    ("email", "in", D + 24 * H), ("call", "out", D - H)):
            store.record_interaction(conn, contact_id=ids["c1"], kind=kind, direction=direction,
                                     occurred_at=at)
        mail = [store.add_integration(conn, user_id=user, kind="mail", provider="maildir")
                for _ in range(4)]
        for integration, at in zip(mail, (D - 99 * H, D - 99 * H, D - 99 * H, D + 30 * H),
                                   strict=True):
            created(conn, integrations, integration, at)
        for integration, status, at in ((mail[0], "ok", D + 8 * H), (mail[0], "broken", D + 20 * H),
                                         (mail[1], "ok", D + 9 * H), (mail[2], "ok", D - H)):
            store.record_health_check(conn, integration, status=status, checked_at=at)
        for uid, at in (("m1", D + 9 * H), ("m2", D + 15 * H), ("m3", D + 24 * H)):
            store.upsert_meeting(conn, user_id=user, integration_id=mail[0], uid=uid,
                                 starts_at=at, ends_at=at + H)
        for n in range(4):
            nid = store.queue_notification(conn, user_id=user, channel="log", payload={"n": n},
                                           now=D + n * H)
            assert nid is not None
            if n < 2:
                store.mark_notification_delivered(conn, nid, now=D + (n + 1) * H)
            elif n == 2:
                store.mark_notification_failed(conn, nid, error="smtp", final=True)
        for severity, at in (("critical", D + H), ("warning", D + 2 * H),
                             ("warning", D + 3 * H), ("info", D - H)):
            store.raise_alert(conn, severity=severity, title="t", channels=[], now=at)


EXPECTED = {
    "version": 1,
    "contacts": {"total": 3, "new": 2},
    "interactions": {"email": {"in": 2, "out": 1, "none": 0},
                     "meeting": {"in": 0, "out": 0, "none": 0},
                     "call": {"in": 0, "out": 0, "none": 1},
                     "message": {"in": 0, "out": 0, "none": 0}},
    "meetings": 2,
    "notifications": {"sent": 2, "failed": 1},
    "alerts": {"info": 0, "warning": 2, "critical": 1},
    "integrations": {"ok": 1, "broken": 1, "unchecked": 1},
    "average_score": 0.65,
}


def test_the_days_aggregates_are_stored_as_its_snapshot(air_app: Any, day_data: None) -> None:
    result = air_app.tasks["ops.analytics"].apply(kwargs={"day": "2024-05-01"})
    assert result.successful(), result.traceback
    assert result.result == {"day": "2024-05-01", "changed": True, "metrics": EXPECTED}
    with store.transaction() as conn:
        snapshot = store.get_snapshot(conn, DAY)
        assert snapshot is not None and snapshot.metrics == EXPECTED
        assert [s.day for s in store.list_snapshots(conn)] == [DAY]


def test_a_rerun_on_unchanged_data_changes_nothing(day_data: None) -> None:
    run_analytics(DAY)
    before = database_rows()
    assert run_analytics(DAY)["changed"] is False
    assert database_rows() == before
    with store.transaction() as conn:
        store.raise_alert(conn, severity="critical", title="late", channels=[], now=D + 22 * H)
    again = run_analytics(DAY)
    assert (again["changed"], again["metrics"]["alerts"]["critical"]) == (True, 2)
    with store.transaction() as conn:
        assert len(store.list_snapshots(conn)) == 1


def test_an_empty_day_has_zeros_and_no_average(db: sa.Engine) -> None:
    metrics = run_analytics(date(2020, 1, 1))["metrics"]
    assert metrics["contacts"] == {"total": 0, "new": 0}
    assert metrics["average_score"] is None


def test_the_default_day_is_yesterday_in_utc() -> None:
    late = datetime(2024, 5, 2, 0, 30, tzinfo=UTC)
    assert parse_day(None, now=late) == date(2024, 5, 1)
    assert parse_day("2023-12-31", now=late) == date(2023, 12, 31)
    with pytest.raises(PermanentError):
        parse_day("yesterday", now=late)


def test_a_future_day_fails_permanently_without_retry(
    air_app: Any, db: sa.Engine, redis_url: str
) -> None:
    future = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    result = air_app.tasks["ops.analytics"].apply(kwargs={"day": future})
    assert result.failed()
    letter = dead_letter(redis_url, result.id)
    assert (letter.exception, letter.retries) == ("PermanentError", 0)


def test_an_unreachable_database_is_retried_then_dead_lettered(
    air_app: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    unreachable_database(monkeypatch)
    result = air_app.tasks["ops.analytics"].apply(kwargs={"day": "2024-05-01"})
    assert result.failed()
    letter = dead_letter(redis_url, result.id)
    assert (letter.exception, letter.retries) == ("TransientError", 3)  # the default policy
