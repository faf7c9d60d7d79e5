"""normalize.py: the canonical email and phone forms contacts are matched on (no database)."""

from __future__ import annotations

import pytest

from tasks.store import email_domain, normalize_email, normalize_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ann.Lee@Example.COM", "ann.lee@example.com"),
        ("  Ann Lee <ann@example.com> ", "ann@example.com"),
        ("mailto:Bob@Acme.example", "bob@acme.example"),
        ("not an address", None),
        ("", None),
        (None, None),
        ("a@b", None),
    ],
)
def test_normalize_email(raw: str | None, expected: str | None) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+1 (555) 010-2030", None, "+15550102030"),
        ("00 44 20 7946 0000", None, "+442079460000"),
        ("555.010.2030 ext. 12", None, "5550102030"),
        ("020 7946 0000", "44", "+442079460000"),
        ("123", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_normalize_phone(raw: str | None, country: str | None, expected: str | None) -> None:
    assert normalize_phone(raw, default_country_code=country) == expected


def test_email_domain() -> None:
    assert email_domain("ann@acme.example") == "acme.example"
    assert email_domain(None) is None
