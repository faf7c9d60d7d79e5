"""data.deduplicate: groups by email, phone and similar names merge with everything kept; guards
keep different people apart; a second run finds nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from tasks import store
from tasks.data.dedup import Groups, candidate_pairs, deduplicate_users
from tasks.data.similarity import name_key, name_similarity, similar_names
from tests.tasks.dataops import database_rows, dead_letter, unreachable_database

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def contact(conn: sa.Connection, user_id: int, key: str, **fields: Any) -> int:
    """A new contact (never matched to an existing one), then given `fields` as an edit."""
    contact_id = store.upsert_contact(conn, user_id=user_id, email=f"{key}@seed.invalid")
    store.update_contact(conn, contact_id, **{"email": None, **fields})
    store.record_interaction(conn, contact_id=contact_id, kind="email", occurred_at=T0,
                             subject=f"from {key}")
    return contact_id


@pytest.fixture
def crowd(db: sa.Engine) -> dict[str, Any]:
    with store.transaction() as conn:
        user = store.ensure_user(conn, email="owner@example.com")
        other = store.ensure_user(conn, email="other@example.com")
        c: dict[str, Any] = {"user": user, "other": other}
        # same email, written differently
        c["dana"] = contact(conn, user, "dana", name="Dana Scott", email="dana@acme.example")
        c["dana2"] = contact(conn, user, "dana2", email="DANA@Acme.Example", phone="+1 555 0101",
                             company="Acme")
        # same phone, written differently, no names to tell them apart
        c["pat"] = contact(conn, user, "pat", phone="+44 20 7946 0000")
        c["pat2"] = contact(conn, user, "pat2", phone="0044 (20) 7946-0000", name="Pat Kim")
        # similar names in the same company / the same organisation's domain
        c["kat"] = contact(conn, user, "kat", name="Katherine Jones", company="Globex")
        c["cat"] = contact(conn, user, "cat", name="Catherine Jones", company="GLOBEX Inc.")
        c["jon"] = contact(conn, user, "jon", name="Jon Smith", email="jon@initech.example")
        c["john"] = contact(conn, user, "john", name="Smith, John", email="js@initech.example")
        # guards: similar names at a free-mail domain, in different companies, a switchboard
        c["gm1"] = contact(conn, user, "gm1", name="Lee Chang", email="lee@gmail.com")
        c["gm2"] = contact(conn, user, "gm2", name="Lee Chang", email="leechang@gmail.com")
        c["co1"] = contact(conn, user, "co1", name="Maria Lopez", company="Umbrella")
        c["co2"] = contact(conn, user, "co2", name="Maria Lopez", company="Hooli")
        c["sw1"] = contact(conn, user, "sw1", name="Ann Lee", phone="+1 555 0199", company="Acme")
        c["sw2"] = contact(conn, user, "sw2", name="Bob Stone", phone="+1 555 0199",
                           company="Acme")
        # a chain: Jon ~ John 0.95 and John ~ Johns 0.95, but Jon / Johns only 0.9
        c["ch1"] = contact(conn, user, "ch1", name="Jon Smyth", company="Initrode")
        c["ch2"] = contact(conn, user, "ch2", name="John Smyth", company="Initrode")
        c["ch3"] = contact(conn, user, "ch3", name="Johns Smyth", company="Initrode")
        # numbers are identifiers, not spelling variants
        c["n10"] = contact(conn, user, "n10", name="Person 10", company="Acme")
        c["n110"] = contact(conn, user, "n110", name="Person 110", company="Acme")
        # another user's twin of Dana is never merged across users
        c["theirs"] = contact(conn, other, "theirs", name="Dana Scott", email="dana@acme.example")
        store.add_tags(conn, [c["dana2"]], ["from-crm"])
    return c


def active(user_id: int) -> list[int]:
    with store.transaction() as conn:
        return [row.id for row in store.list_contacts(conn, user_id=user_id)]


def test_duplicates_merge_into_the_oldest_keeping_interactions_and_tags(
    air_app: Any, crowd: dict[str, Any]
) -> None:
    result = air_app.tasks["data.deduplicate"].apply()
    assert result.successful(), result.traceback
    assert result.result == {"users": 2, "groups": 5, "merged": 5, "interactions_moved": 5}
    c = crowd
    kept = active(c["user"])
    for drop in ("dana2", "pat2", "cat", "john", "ch2"):
        assert c[drop] not in kept
    for guarded in ("gm1", "gm2", "co1", "co2", "sw1", "sw2", "ch3", "n10", "n110"):
        assert c[guarded] in kept
    assert active(c["other"]) == [c["theirs"]]
    with store.transaction() as conn:
        dana = store.get_contact(conn, c["dana"])
        assert dana is not None
        # the oldest survives; its blanks are filled from the newer duplicate
        assert (dana.name, dana.phone, dana.company) == ("Dana Scott", "+1 555 0101", "Acme")
        assert store.tags_of(conn, c["dana"]) == ["from-crm"]
        subjects = sorted(i.subject for i in store.list_interactions(conn, contact_id=c["dana"]))
        assert subjects == ["from dana", "from dana2"]
        for keep, drop in (("pat", "pat2"), ("kat", "cat"), ("jon", "john"), ("ch1", "ch2")):
            assert store.resolve_contact(conn, c[drop]) == c[keep]
            assert len(store.list_interactions(conn, contact_id=c[keep])) == 2


def test_a_second_run_finds_nothing(crowd: dict[str, Any]) -> None:
    deduplicate_users([crowd["user"]], threshold=0.92)
    before = database_rows()
    again = deduplicate_users([crowd["user"]], threshold=0.92)
    assert again == {"users": 1, "groups": 0, "merged": 0, "interactions_moved": 0}
    assert database_rows() == before


def test_progress_counts_users(crowd: dict[str, Any]) -> None:
    seen: list[tuple[int, int]] = []
    deduplicate_users(None, threshold=0.92, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 2), (2, 2)]


@pytest.mark.parametrize("a, b, same", [
    ("Jon Smith", "John Smith", True),
    ("Katherine Jones", "Catherine Jones", True),
    ("Dr. Smith, John A.", "John Smith", True),
    ("José García", "Jose Garcia", True),
    ("Maria Garcia", "Mario Garcia", False),
    ("John Smith", "Jane Smith", False),
    ("Ann", "Ann", False),  # one word says too little
    ("Person 10", "Person 110", False),
    ("Unit 7 Ops", "Unit 7 Ops", True),
])
def test_name_similarity_threshold(a: str, b: str, same: bool) -> None:
    assert similar_names(name_key(a), name_key(b), 0.92) is same


def test_similarity_bounds_short_cut_only_below_the_floor() -> None:
    assert name_similarity("john smith", "jon smith", floor=0.99) == 0.0
    assert name_similarity("john smith", "jon smith", floor=0.9) > 0.94


def test_candidate_pairs_share_a_word_and_a_plausible_length() -> None:
    named = [(1, "john smith"), (2, "jon smith"), (3, "jane doe"), (4, "john smithsonian-west"),
             (5, "mary jane")]
    assert sorted(candidate_pairs(named, 0.92)) == [(1, 2), (3, 5)]


def test_groups_join_transitively() -> None:
    groups = Groups()
    groups.join(5, 3)
    groups.join(3, 9)
    groups.join(7, 8)
    groups.find(1)
    assert groups.groups() == [[3, 5, 9], [7, 8]]


def test_an_unknown_user_fails_permanently_without_retry(
    air_app: Any, db: sa.Engine, redis_url: str
) -> None:
    result = air_app.tasks["data.deduplicate"].apply(kwargs={"user_id": 424242})
    assert result.failed()
    letter = dead_letter(redis_url, result.id)
    assert (letter.exception, letter.retries) == ("PermanentError", 0)


def test_an_unreachable_database_is_retried_then_dead_lettered(
    air_app: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    unreachable_database(monkeypatch)
    result = air_app.tasks["data.deduplicate"].apply()
    assert result.failed()
    letter = dead_letter(redis_url, result.id)
    assert (letter.exception, letter.retries) == ("TransientError", 2)
