"""ops.maintenance: old dead letters pruned (real Redis), VACUUM/ANALYZE keep every row."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.broker.deadletter import DeadLetter, DeadLetterStore
from runtime.process.embedded import free_port
from tasks import store
from tasks.errors import TransientError
from tasks.ops.maintenance import MaintenanceSettings, prune_dead_letters
from tests.tasks.dataops import database_rows, dead_letter, unreachable_database

DAY = 86_400.0


@pytest.fixture
def letters(redis_url: str) -> Any:
    found = DeadLetterStore.from_url(redis_url)
    now = time.time()
    for task_id, age in (("ancient", 40 * DAY), ("old", 31 * DAY), ("recent", DAY)):
        found.add(DeadLetter(id=task_id, task="sync.email", reason="failed",
                             failed_at=now - age))
    yield found
    found.client.close()


@pytest.fixture
def some_data(db: sa.Engine) -> None:
    with store.transaction() as conn:
        user = store.ensure_user(conn, email="owner@example.com")
        ids = [store.upsert_contact(conn, user_id=user, email=f"c{n}@x.example")
               for n in range(30)]
    with store.transaction() as conn:
        store.delete_contacts(conn, ids[:20])  # free pages for VACUUM to reclaim


def test_maintenance_prunes_old_dead_letters_and_vacuums(
    air_app: Any, some_data: None, letters: DeadLetterStore, backend: str
) -> None:
    before = database_rows()
    result = air_app.tasks["ops.maintenance"].apply()
    assert result.successful(), result.traceback
    assert result.result == {"dead_letters_pruned": 2, "results_cleaned": True,
                             "vacuumed": backend}
    assert [letter.id for letter in letters.list()] == ["recent"]
    assert database_rows() == before

    again = air_app.tasks["ops.maintenance"].apply()
    assert again.result["dead_letters_pruned"] == 0
    assert [letter.id for letter in letters.list()] == ["recent"]
    assert database_rows() == before


def test_the_retention_comes_from_the_environment(
    air_app: Any, some_data: None, letters: DeadLetterStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIR_DEAD_LETTER_RETENTION", "12h")
    result = air_app.tasks["ops.maintenance"].apply()
    assert result.result["dead_letters_pruned"] == 3
    assert letters.count() == 0


@pytest.mark.parametrize("raw, expected", [
    ("", timedelta(days=30)), ("3600", timedelta(hours=1)), ("7d", timedelta(days=7)),
])
def test_settings(raw: str, expected: timedelta) -> None:
    env = {"AIR_DEAD_LETTER_RETENTION": raw}
    assert MaintenanceSettings.from_env(env).dead_letter_retention == expected


def test_a_bad_retention_is_refused() -> None:
    with pytest.raises(ValueError, match="AIR_DEAD_LETTER_RETENTION"):
        MaintenanceSettings.from_env({"AIR_DEAD_LETTER_RETENTION": "a month"})


def test_an_unreachable_redis_is_transient() -> None:
    nowhere = DeadLetterStore.from_url(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(TransientError, match="Redis unavailable"):
        prune_dead_letters(nowhere, timedelta(days=30))
    nowhere.client.close()


def test_an_unreachable_database_is_retried_then_dead_lettered(
    air_app: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    unreachable_database(monkeypatch)
    result = air_app.tasks["ops.maintenance"].apply()
    assert result.failed()
    letter = dead_letter(redis_url, result.id)
    assert (letter.task, letter.exception, letter.retries) == (
        "ops.maintenance", "TransientError", 3)  # the default policy: 3 retries
