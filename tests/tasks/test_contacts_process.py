"""contacts.process: name, email and phone normalisation, company from the email domain, writes
only what changed; an unknown contact fails permanently, a database outage is retried."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from tasks import store
from tasks.contacts.enrich import FREE_MAIL, clean_name, company_from_domain
from tasks.contacts.process import contact_changes, process_contact
from tests.tasks.dataops import database_rows, dead_letter, unreachable_database


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  ann   LEE ", "Ann Lee"),
        ("BOB MARTIN", "Bob Martin"),
        ("carla gomez", "Carla Gomez"),
        ("o'NEIL", "O'Neil"),
        ("mary-jane watson", "Mary-Jane Watson"),
        ("mcdonald", "McDonald"),
        ("JOHN VAN DER BERG", "John van der Berg"),
        ("henry ford ii", "Henry Ford II"),
        ("j. r. tolkien", "J. R. Tolkien"),
        ("Danny DeVito", "Danny DeVito"),  # deliberate mixed case stays
        ("van Morrison", "Van Morrison"),  # a particle as the first word is capitalised
        ("José ÁLVAREZ", "José Álvarez"),
        ("   ", None),
        (None, None),
    ],
)
def test_names_are_tidied(raw: str | None, clean: str | None) -> None:
    assert clean_name(raw) == clean


@pytest.mark.parametrize(
    ("domain", "company"),
    [
        ("acme-corp.co.uk", "Acme Corp"),
        ("acme-corp.example", "Acme Corp"),
        ("mail.globex.com", "Globex"),
        ("wayne_enterprises.com.au", "Wayne Enterprises"),
        ("initech.io", "Initech"),
        ("gmail.com", None),
        ("outlook.com", None),
        ("hotmail.co.uk", None),
        ("proton.me", None),
        ("icloud.com", None),
        ("co.uk", None),  # a bare public suffix names nobody
        ("localhost", None),
        ("[127.0.0.1]", None),
        ("xn--80ak6aa92e.com", None),
        (None, None),
    ],
)
def test_company_from_domain(domain: str | None, company: str | None) -> None:
    assert company_from_domain(domain) == company


def test_the_free_mail_list_covers_the_big_providers() -> None:
    assert {"gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com",
            "proton.me"} <= FREE_MAIL


def row(**fields: Any) -> Any:
    base = {"name": None, "email": None, "phone": None, "company": None}
    return SimpleNamespace(**{**base, **fields})


def test_contact_changes_apply_every_rule() -> None:
    target, warnings = contact_changes(row(name="  ann LEE ", email=" Ann.Lee@Acme-Corp.co.uk ",
                                           phone="+1 (415) 555-0101"))
    assert target == {"name": "Ann Lee", "email": "ann.lee@acme-corp.co.uk",
                      "email_normalized": "ann.lee@acme-corp.co.uk", "phone": "+14155550101",
                      "phone_normalized": "+14155550101", "company": "Acme Corp"}
    assert warnings == []


def test_a_given_company_is_kept_and_a_display_name_fills_a_blank_name() -> None:
    target, _ = contact_changes(row(email="Ann Lee <ann@acme.example>", company=" ACME  Inc "))
    assert (target["name"], target["email"], target["company"]) == (
        "Ann Lee", "ann@acme.example", "ACME Inc")


def test_invalid_email_and_phone_are_kept_with_warnings() -> None:
    target, warnings = contact_changes(row(email="not an address", phone="12"))
    assert (target["email"], target["email_normalized"]) == ("not an address", None)
    assert (target["phone"], target["phone_normalized"]) == ("12", None)
    assert target["company"] is None
    assert len(warnings) == 2


@pytest.fixture
def messy(db: sa.Engine) -> dict[str, int]:
    with store.transaction() as conn:
        user_id = store.ensure_user(conn, email="owner@example.com")
        messy_id = store.upsert_contact(conn, user_id=user_id, email="Ann.Lee@Acme-Corp.co.uk",
                                        name="  ann LEE ", phone="+1 (415) 555-0101")
        clean_id = store.upsert_contact(conn, user_id=user_id, email="bob@gmail.com",
                                        name="Bob Stone")
    return {"user": user_id, "messy": messy_id, "clean": clean_id}


def test_process_writes_the_changes_then_nothing(messy: dict[str, int]) -> None:
    with store.transaction() as conn:
        result = process_contact(conn, messy["messy"])
    assert result["contact_id"] == messy["messy"]
    assert result["changed"] == {"name": "Ann Lee", "email": "ann.lee@acme-corp.co.uk",
                                 "phone": "+14155550101", "company": "Acme Corp"}
    before = database_rows()
    with store.transaction() as conn:
        assert process_contact(conn, messy["messy"])["changed"] == {}
        assert process_contact(conn, messy["clean"])["changed"] == {}  # free mail: no company
    assert database_rows() == before


def test_a_merged_contact_is_processed_as_its_survivor(messy: dict[str, int]) -> None:
    with store.transaction() as conn:
        store.merge_contacts(conn, keep_id=messy["clean"], drop_id=messy["messy"])
        result = process_contact(conn, messy["messy"])
    assert result["contact_id"] == messy["clean"]


def test_the_task_runs_through_the_policy(air_app: Any, messy: dict[str, int]) -> None:
    result = air_app.tasks["contacts.process"].apply(kwargs={"contact_id": messy["messy"]})
    assert result.successful(), result.traceback
    assert sorted(result.result["changed"]) == ["company", "email", "name", "phone"]
    again = air_app.tasks["contacts.process"].apply(kwargs={"contact_id": messy["messy"]})
    assert again.result["changed"] == {}


def test_an_unknown_contact_fails_permanently_without_retry(
    air_app: Any, db: sa.Engine, redis_url: str
) -> None:
    result = air_app.tasks["contacts.process"].apply(kwargs={"contact_id": 999_999})
    assert result.failed()
    letter = dead_letter(redis_url, result.id)
    assert (letter.exception, letter.retries) == ("PermanentError", 0)


def test_an_unreachable_database_is_retried_then_dead_lettered(
    air_app: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    unreachable_database(monkeypatch)
    result = air_app.tasks["contacts.process"].apply(kwargs={"contact_id": 1})
    assert result.failed()
    letter = dead_letter(redis_url, result.id)
    assert (letter.task, letter.exception, letter.retries) == (
        "contacts.process", "TransientError", 3)
