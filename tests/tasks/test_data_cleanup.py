"""data.cleanup: each kind's retention window, export files included; a re-run deletes nothing."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tasks import store
from tasks.data.cleanup import DEFAULT_WINDOWS, parse_windows, run_cleanup
from tasks.errors import PermanentError
from tasks.store.db.tables import exports, health_checks
from tests.tasks.dataops import database_rows, dead_letter, tree, unreachable_database

DAY = timedelta(days=1)


def age(path: Path, days: float) -> None:
    stamp = (store.utcnow() - days * DAY).timestamp()
    os.utime(path, (stamp, stamp))


def export_record(conn: sa.Connection, user_id: int, directory: Path, days_old: float) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "export.json").write_text("{}")
    export_id = store.start_export(conn, user_id=user_id)
    store.finish_export(conn, export_id, paths=[str(directory / "export.json")])
    conn.execute(sa.update(exports).where(exports.c.id == export_id)
                 .values(created_at=store.utcnow() - days_old * DAY))
    return export_id


@pytest.fixture
def aged(db: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Rows just past and just within each default window."""
    root = tmp_path / "exports"
    monkeypatch.setenv("AIR_EXPORT_DIR", str(root))
    now = store.utcnow()
    with store.transaction() as conn:
        user = store.ensure_user(conn, email="owner@example.com")
        contact = store.upsert_contact(conn, user_id=user, email="ann@x.example")
        integration = store.add_integration(conn, user_id=user, kind="mail", provider="maildir")
        for name, expired_ago in (("old", 2 * DAY), ("recent", timedelta(hours=1))):
            store.create_oauth_state(conn, ttl=timedelta(minutes=10), state=name,
                                     now=now - expired_ago - timedelta(minutes=10))
        for days in (40, 10):
            store.record_health_check(conn, integration, status="ok", checked_at=now - days * DAY)
        for days in (100, 10):
            store.queue_notification(conn, user_id=user, channel="log", payload={"d": days},
                                     now=now - days * DAY)
            store.raise_alert(conn, severity="warning", title=f"a{days}", channels=["log"],
                              now=now - 2 * days * DAY)
        for days in (400, 100):
            store.record_interaction(conn, contact_id=contact, kind="email", body=f"b{days}",
                                     occurred_at=now - days * DAY)
        gone = export_record(conn, user, root / f"user-{user}" / "gone", 40)
        shared_old = export_record(conn, user, root / f"user-{user}" / "shared", 40)
        shared_new = export_record(conn, user, root / f"user-{user}" / "shared", 1)
    for name in ("gone", "shared"):
        age(root / f"user-{user}" / name, 40)
    (root / f"user-{user}" / ".tmp-crashed").mkdir()
    age(root / f"user-{user}" / ".tmp-crashed", 40)
    (root / f"user-{user}" / ".tmp-running").mkdir()  # an export in progress right now
    return {"root": root, "user": user, "gone": gone, "shared_old": shared_old,
            "shared_new": shared_new, "now": now}


def test_default_windows_delete_exactly_what_is_past_them(
    air_app: Any, aged: dict[str, Any]
) -> None:
    result = air_app.tasks["data.cleanup"].apply()
    assert result.successful(), result.traceback
    assert result.result == {"oauth_states": 1, "health_checks": 1, "notifications": 1,
                             "alerts": 1, "exports": 2, "interaction_bodies": 1,
                             "export_dirs": 2}
    rows = database_rows()
    assert [r[0] for r in rows["oauth_states"]] == ["recent"]
    assert len(rows["health_checks"]) == 1
    assert [r[3] for r in rows["notifications"]] == [{"d": 10}]
    assert [r[2] for r in rows["alerts"]] == ["a10"] and len(rows["alert_deliveries"]) == 1
    assert [r[0] for r in rows["exports"]] == [aged["shared_new"]]
    bodies = sorted((r[7] for r in rows["interactions"]), key=str)
    assert bodies == [None, "b100"]  # the old interaction stays, without its body
    user_dir = aged["root"] / f"user-{aged['user']}"
    assert sorted(p.name for p in user_dir.iterdir()) == [".tmp-running", "shared"]

    files = tree(aged["root"])
    again = air_app.tasks["data.cleanup"].apply()
    assert set(again.result.values()) == {0}
    assert database_rows() == rows
    assert tree(aged["root"]) == files


def test_windows_from_kwargs_override_the_defaults(aged: dict[str, Any]) -> None:
    windows = parse_windows({"notifications": "5d", "health_checks": None, "exports": None,
                             "interaction_bodies": "50d"})
    counts = run_cleanup(windows, export_root=aged["root"], now=aged["now"])
    assert (counts["notifications"], counts["health_checks"], counts["exports"]) == (2, 0, 0)
    assert (counts["interaction_bodies"], counts["export_dirs"]) == (2, 0)
    with store.transaction() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(health_checks)) == 2


def test_defaults_parse() -> None:
    windows = parse_windows(None)
    assert set(windows) == set(DEFAULT_WINDOWS)
    assert (windows["oauth_states"], windows["interaction_bodies"]) == (DAY, 365 * DAY)


@pytest.mark.parametrize("windows, message", [
    ({"sessions": "1d"}, "unknown retention kinds"),
    ({"alerts": "forever"}, "not a duration"),
    ({"alerts": -5}, "out of range"),
])
def test_bad_windows_are_refused(windows: dict[str, Any], message: str) -> None:
    with pytest.raises(PermanentError, match=message):
        parse_windows(windows)


def test_bad_windows_fail_permanently_without_retry(
    air_app: Any, db: sa.Engine, redis_url: str
) -> None:
    result = air_app.tasks["data.cleanup"].apply(kwargs={"windows": {"alerts": "soon"}})
    assert result.failed()
    letter = dead_letter(redis_url, result.id)
    assert (letter.exception, letter.retries) == ("PermanentError", 0)


def test_an_unreachable_database_is_retried_then_dead_lettered(
    air_app: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    unreachable_database(monkeypatch)
    result = air_app.tasks["data.cleanup"].apply()
    assert result.failed()
    letter = dead_letter(redis_url, result.id)
    assert (letter.exception, letter.retries) == ("TransientError", 2)
