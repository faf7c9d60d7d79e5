"""data.export: JSON and CSV files that parse back, byte-identical re-runs, atomic failure."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tasks import store
from tasks.data.export import export_user, run_export
from tasks.data.settings import DataSettings
from tests.tasks.dataops import dead_letter, tree, unreachable_database

T0 = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def export_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "exports"
    monkeypatch.setenv("AIR_EXPORT_DIR", str(root))
    monkeypatch.setenv("AIR_EXPORT_PAGE_SIZE", "2")  # smaller than every section: pages
    return root


@pytest.fixture
def user(db: sa.Engine) -> dict[str, Any]:
    """A user with contacts (tagged, scored, analysed, one merged), interactions, meetings."""
    with store.transaction() as conn:
        user_id = store.ensure_user(conn, email="owner@example.com", name="Owner")
        other = store.ensure_user(conn, email="other@example.com")
        store.upsert_contact(conn, user_id=other, email="not-mine@x.example", name="Theirs")
        integration = store.add_integration(conn, user_id=user_id, kind="calendar",
                                            provider="ical", source="/srv/cal")
        ann = store.upsert_contact(conn, user_id=user_id, email="ann@acme.example",
                                   name="Ann Lee", company="Acme", phone="+1 555 010 2030")
        bob = store.upsert_contact(conn, user_id=user_id, email="bob@beta.example",
                                   name='Bob "the, builder"')
        cy = store.upsert_contact(conn, user_id=user_id, email="cy@acme.example", name="Cy")
        old = store.upsert_contact(conn, user_id=user_id, email="ann.old@acme.example")
        store.merge_contacts(conn, keep_id=ann, drop_id=old)
        store.add_tags(conn, [ann], ["vip", "acme"])
        store.add_tags(conn, [bob], ["friend"])
        store.save_score(conn, contact_id=ann, score=0.75, recency=0.5, frequency=1.0,
                         computed_at=T0)
        store.save_contact_analysis(conn, contact_id=ann, kind="interests",
                                    results={"topics": ["golf"]}, provider="local")
        store.save_generated_message(conn, contact_id=bob, purpose="follow_up",
                                     draft="Hi Bob,\nthanks!", provider="local")
        first = store.record_interaction(conn, contact_id=ann, kind="email", direction="in",
                                         occurred_at=T0, subject="Lunch?", body="Ünïcode body",
                                         features={"words": 2})
        assert first is not None
        store.save_interaction_analysis(conn, interaction_id=first, kind="analysis",
                                        results={"sentiment": 0.4}, provider="local")
        for n in range(3):
            store.record_interaction(conn, contact_id=bob, kind="call",
                                     occurred_at=T0 + timedelta(days=n), subject=f"call {n}")
        meeting, _ = store.upsert_meeting(
            conn, user_id=user_id, integration_id=integration, uid="m1@cal", starts_at=T0,
            ends_at=T0 + timedelta(hours=1), title="Kick-off", attendees=["ann@acme.example"])
        store.save_briefing(conn, meeting_id=meeting, content="Talk about golf.", provider="local")
    return {"id": user_id, "ann": ann, "bob": bob, "cy": cy, "old": old, "meeting": meeting}


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def test_export_files_parse_back_to_the_users_data(
    air_app: Any, user: dict[str, Any], export_dir: Path
) -> None:
    result = air_app.tasks["data.export"].apply(kwargs={"user_id": user["id"]})
    assert result.successful(), result.traceback
    summary = result.result
    assert summary["rows"] == {"contacts": 4, "interactions": 4, "meetings": 1}
    directory = Path(summary["directory"])
    assert directory.parent == export_dir / f"user-{user['id']}"
    assert sorted(p.name for p in directory.iterdir()) == [
        "contacts.csv", "export.json", "interactions.csv", "meetings.csv"]

    doc = json.loads((directory / "export.json").read_text(encoding="utf-8"))
    assert doc["format"] == "air-export/1"
    assert doc["user"]["email"] == "owner@example.com"
    contacts = {c["id"]: c for c in doc["contacts"]}
    assert list(contacts) == sorted(contacts)  # id order
    assert set(contacts) == {user["ann"], user["bob"], user["cy"], user["old"]}
    ann = contacts[user["ann"]]
    assert (ann["tags"], ann["score"], ann["phone"]) == (["acme", "vip"], 0.75, "+1 555 010 2030")
    assert ann["relationship"]["computed_at"] == T0.isoformat()
    assert ann["analyses"]["interests"]["results"] == {"topics": ["golf"]}
    assert contacts[user["bob"]]["messages"]["follow_up"]["draft"] == "Hi Bob,\nthanks!"
    assert contacts[user["old"]]["merged_into"] == user["ann"]
    first = doc["interactions"][0]
    assert (first["body"], first["features"], first["analyses"]["analysis"]["results"]) == (
        "Ünïcode body", {"words": 2}, {"sentiment": 0.4})
    assert doc["meetings"][0]["briefing"]["content"] == "Talk about golf."

    rows = read_csv(directory / "contacts.csv")
    assert [int(r["id"]) for r in rows] == sorted(contacts)
    bob = next(r for r in rows if int(r["id"]) == user["bob"])
    assert (bob["name"], bob["tags"], bob["score"]) == ('Bob "the, builder"', "friend", "")
    assert next(r for r in rows if int(r["id"]) == user["ann"])["tags"] == "acme;vip"
    calls = [r for r in read_csv(directory / "interactions.csv") if r["kind"] == "call"]
    assert [r["subject"] for r in calls] == ["call 0", "call 1", "call 2"]
    assert read_csv(directory / "meetings.csv")[0]["attendees"] == "ann@acme.example"

    with store.transaction() as conn:
        record = store.get_export(conn, summary["export_id"])
    assert record is not None
    assert (record.status, record.paths) == ("done", summary["paths"])
    assert all(Path(p).is_file() for p in record.paths)


def test_exporting_unchanged_data_again_gives_the_same_bytes_in_the_same_place(
    user: dict[str, Any], export_dir: Path
) -> None:
    settings = DataSettings.from_env()
    first = run_export(user_id=user["id"], settings=settings)
    files = tree(export_dir)
    second = run_export(user_id=user["id"], settings=settings)
    assert second["directory"] == first["directory"]
    assert second["export_id"] != first["export_id"]  # each request is recorded (module doc)
    assert tree(export_dir) == files  # byte-identical, nothing added, no temporary left

    with store.transaction() as conn:
        store.add_tags(conn, [user["cy"]], ["new"])
    third = run_export(user_id=user["id"], settings=settings)
    assert third["directory"] != first["directory"]
    assert len([p for p in (export_dir / f"user-{user['id']}").iterdir()]) == 2


def test_progress_counts_every_row_once(user: dict[str, Any], export_dir: Path) -> None:
    seen: list[tuple[int, int]] = []
    export_user(user_id=user["id"], root=export_dir, page_size=2,
                progress=lambda done, total: seen.append((done, total)))
    assert seen == [(2, 9), (4, 9), (6, 9), (8, 9), (9, 9)]


def test_a_failed_export_leaves_no_directory_and_is_recorded_failed(
    user: dict[str, Any], export_dir: Path
) -> None:
    def fail_half_way(done: int, total: int) -> None:
        if done > 4:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        run_export(user_id=user["id"], settings=DataSettings.from_env(), progress=fail_half_way)
    assert tree(export_dir) == {}
    assert list((export_dir / f"user-{user['id']}").iterdir()) == []
    with store.transaction() as conn:
        (record,) = store.list_exports(conn)
    assert (record.status, record.paths, record.error) == ("failed", [], "OSError: disk full")


def test_an_unknown_user_fails_permanently_without_retry(
    air_app: Any, db: sa.Engine, redis_url: str, export_dir: Path
) -> None:
    result = air_app.tasks["data.export"].apply(kwargs={"user_id": 999_999})
    assert result.failed()
    letter = dead_letter(redis_url, result.id)
    assert (letter.exception, letter.retries) == ("PermanentError", 0)
    with store.transaction() as conn:
        assert store.list_exports(conn) == []


def test_an_unreachable_database_is_retried_then_dead_lettered(
    air_app: Any, redis_url: str, export_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unreachable_database(monkeypatch)
    result = air_app.tasks["data.export"].apply(kwargs={"user_id": 1})
    assert result.failed()
    letter = dead_letter(redis_url, result.id)
    assert (letter.task, letter.exception, letter.retries) == ("data.export", "TransientError", 2)
    assert not export_dir.exists()
