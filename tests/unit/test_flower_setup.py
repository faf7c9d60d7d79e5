"""How air starts Flower: basic auth handed over from AIR_FLOWER_BASIC_AUTH through the
environment (never argv), stray FLOWER_ settings dropped, loopback told apart."""

from __future__ import annotations

import pytest

from runtime.config.errors import UsageError
from runtime.process.flower import flower_argv, flower_env, is_loopback


def test_basic_auth_goes_through_the_environment_not_argv() -> None:
    env = flower_env({"AIR_FLOWER_BASIC_AUTH": "ann:s3cret,bob:pw", "PATH": "/bin"})
    assert env["FLOWER_BASIC_AUTH"] == "ann:s3cret,bob:pw" and env["PATH"] == "/bin"
    assert not any("s3cret" in arg for arg in flower_argv("127.0.0.1", 5555))


def test_other_flower_settings_from_the_caller_are_dropped() -> None:
    env = flower_env({"FLOWER_UNAUTHENTICATED_API": "true", "FLOWER_BASIC_AUTH": "x:y"})
    assert "FLOWER_UNAUTHENTICATED_API" not in env and "FLOWER_BASIC_AUTH" not in env


@pytest.mark.parametrize("auth", ["ann", "ann:", ":pw", "ann:pw,bob"])
def test_a_malformed_basic_auth_is_a_usage_error(auth: str) -> None:
    with pytest.raises(UsageError, match="AIR_FLOWER_BASIC_AUTH must be user:password"):
        flower_env({"AIR_FLOWER_BASIC_AUTH": auth})


def test_flower_binds_where_asked_and_ignores_a_flowerconfig_file() -> None:
    argv = flower_argv("0.0.0.0", 8080)
    assert argv[1:6] == ["-m", "celery", "-A", "runtime.celeryapp.app", "flower"]
    assert {"--address=0.0.0.0", "--port=8080", "--conf=/dev/null"} <= set(argv)


@pytest.mark.parametrize(
    ("address", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False),
     ("10.1.2.3", False), ("example.org", False)],
)
def test_is_loopback(address: str, loopback: bool) -> None:
    assert is_loopback(address) is loopback
