"""The retry policy's parts: exception names resolved to classes, and the delay formula."""

from __future__ import annotations

import json
import random

import pytest

from runtime.celeryapp.task import PolicyError, resolve_exception, retry_delay
from runtime.compiler.plan import RetryPlan
from runtime.config import backoff

# --- resolve_exception ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ConnectionError", ConnectionError),
        ("TimeoutError", TimeoutError),
        ("Exception", Exception),
        ("KeyboardInterrupt", KeyboardInterrupt),
        ("builtins.ValueError", ValueError),
        ("json.JSONDecodeError", json.JSONDecodeError),
        ("json.decoder.JSONDecodeError", json.JSONDecodeError),
        ("celery.exceptions.SoftTimeLimitExceeded", None),
    ],
)
def test_names_resolve_to_exception_classes(name: str, expected: type | None) -> None:
    found = resolve_exception(name)

    assert isinstance(found, type) and issubclass(found, BaseException)
    if expected is not None:
        assert found is expected
    assert found.__name__ == name.rpartition(".")[2]


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("NoSuchError", "not an exception class"),
        ("print", "not an exception class"),  # a builtin, but a function
        ("int", "not an exception class"),  # a class, but not an exception
        ("json.NoSuchError", "not an exception class"),
        ("os.path", "not an exception class"),  # a module
        ("json.dumps", "not an exception class"),
        ("no_such_module.Error", "No module named 'no_such_module'"),
        ("json.no_such_submodule.Error", "No module named 'json.no_such_submodule'"),
        ("", "not an exception class"),
        (".Error", ""),
    ],
)
def test_bad_names_raise_policy_error(name: str, why: str) -> None:
    with pytest.raises(PolicyError) as raised:
        resolve_exception(name)

    assert f"'{name}'" in str(raised.value)
    assert why in str(raised.value)


# --- backoff.delay -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retries", "expected"),
    [(0, 2.0), (1, 4.0), (2, 8.0), (5, 64.0), (8, 512.0), (9, 600.0), (200, 600.0)],
)
def test_exponential_doubles_up_to_the_cap(retries: int, expected: float) -> None:
    assert backoff.delay("exponential", 2.0, 600.0, False, retries) == expected


@pytest.mark.parametrize("retries", [0, 1, 7, 100])
def test_fixed_waits_the_initial_delay_every_time(retries: int) -> None:
    assert backoff.delay("fixed", 30.0, 600.0, False, retries) == 30.0
    assert backoff.delay("fixed", 30.0, 10.0, False, retries) == 10.0  # capped


@pytest.mark.parametrize("jitter", [False, True])
@pytest.mark.parametrize("retries", [0, 3, 50])
def test_none_never_waits(retries: int, jitter: bool) -> None:
    assert backoff.delay("none", 5.0, 600.0, jitter, retries, random.Random(1)) == 0.0


def test_huge_retry_counts_do_not_overflow() -> None:
    assert backoff.delay("exponential", 1.0, 3600.0, False, 10_000) == 3600.0


@pytest.mark.parametrize(
    ("kind", "retries", "full"),
    [
        ("exponential", 0, 2.0),
        ("exponential", 3, 16.0),
        ("exponential", 30, 600.0),
        ("fixed", 4, 2.0),
    ],
)
def test_jitter_stays_between_half_and_all_of_the_delay(
    kind: str, retries: int, full: float
) -> None:
    rng = random.Random(20240601)

    draws = [backoff.delay(kind, 2.0, 600.0, True, retries, rng) for _ in range(5000)]

    assert all(full / 2 <= d <= full for d in draws)
    # Spread over the whole range, not stuck at one end: both tenths of the range are hit.
    assert min(draws) < full * 0.55 and max(draws) > full * 0.95
    assert len(set(draws)) > 4000
    mean = sum(draws) / len(draws)
    assert abs(mean - full * 0.75) < full * 0.01


def test_jitter_is_reproducible_with_a_seeded_generator() -> None:
    first = [backoff.delay("exponential", 1.0, 60.0, True, n, random.Random(7)) for n in range(6)]
    second = [backoff.delay("exponential", 1.0, 60.0, True, n, random.Random(7)) for n in range(6)]

    assert first == second
    assert first != [backoff.delay("exponential", 1.0, 60.0, False, n) for n in range(6)]


def test_the_task_base_class_uses_the_same_formula() -> None:
    policy = RetryPlan(
        max=5,
        backoff="exponential",
        initial=1.5,
        max_delay=10.0,
        jitter=False,
        errors=("ConnectionError",),
    )

    assert [retry_delay(policy, n) for n in range(5)] == [1.5, 3.0, 6.0, 10.0, 10.0]
