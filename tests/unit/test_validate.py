"""One validation pass: every finding kept, no cascades, and inputs that once crashed it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from runtime.config.diagnostics import Severity
from runtime.config.validate import Validation, display_path, validate

WriteConfig = Callable[..., Path]

# The same minimal config write_config (conftest.py) writes by default.
MINIMAL_QUEUES = """\
version: 1
defaults:
  time_limit: {soft: 1m, hard: 2m}
queues:
  default: {priority: 5}
pools:
  default: {queues: [default]}
"""

TASK = MINIMAL_QUEUES + "tasks:\n  t.a: {}\n"


def found(result: Validation) -> list[tuple[str, str, int, int]]:
    return [(d.code, Path(d.file).name, d.line, d.col) for d in result.report]


def test_minimal_config_is_clean(write_config: WriteConfig) -> None:
    result = validate(write_config(), {})
    assert found(result) == []
    assert result.report.ok and not result.unreadable
    assert set(result.docs) == {"queues", "schedules"}


def test_missing_files_are_unreadable(tmp_path: Path) -> None:
    result = validate(tmp_path / "nope", {})
    assert result.unreadable
    assert [(d.code, d.line, d.col) for d in result.report] == [("AIR006", 0, 0)] * 2


def test_display_path_is_relative_inside_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert display_path(tmp_path / "config" / "queues.yaml") == "config/queues.yaml"
    outside = tmp_path.parent / "elsewhere.yaml"
    assert display_path(outside) == str(outside)


def test_env_is_passed_through(write_config: WriteConfig) -> None:
    directory = write_config(MINIMAL_QUEUES.replace("{priority: 5}", "\n    priority: ${P}"))
    assert found(validate(directory, {"P": "7"})) == []
    assert [d.code for d in validate(directory, {}).report] == ["AIR005"]


def test_a_rejected_tag_is_not_reported_again_as_null(write_config: WriteConfig) -> None:
    directory = write_config(MINIMAL_QUEUES.replace("concurrency", "x") + "imports: !!set {a}\n")
    assert found(validate(directory, {})) == [("AIR003", "queues.yaml", 8, 10)]


def test_an_unset_variable_is_not_reported_again_as_null(write_config: WriteConfig) -> None:
    directory = write_config(schedules="version: 1\ntimezone: ${TZ_UNSET}\n")
    assert found(validate(directory, {})) == [("AIR005", "schedules.yaml", 2, 11)]


def test_a_schema_error_hides_only_rule_findings_about_the_same_value(
    write_config: WriteConfig,
) -> None:
    directory = write_config("""\
        version: 1
        queues:
          default: {priority: 5}
        pools:
          default: {queues: [default, nope], concurrency: 0}
        tasks:
          t.a:
            time_limit: {soft: never, hard: 1m}
    """)
    # AIR203 is about the same pool as the AIR105 but not about concurrency: both are reported.
    # The bad soft limit would otherwise read as "no soft limit" and could raise rule findings.
    assert found(validate(directory, {})) == [
        ("AIR203", "queues.yaml", 5, 31),
        ("AIR105", "queues.yaml", 5, 51),
        ("AIR106", "queues.yaml", 8, 24),
    ]


def test_unknown_top_level_key_does_not_hide_the_rest_of_the_file(
    write_config: WriteConfig,
) -> None:
    directory = write_config(MINIMAL_QUEUES + "brokers: {}\ntasks:\n  t.a: {queue: nope}\n")
    assert [d.code for d in validate(directory, {}).report] == ["AIR101", "AIR201"]


def test_missing_version_does_not_hide_rule_findings(write_config: WriteConfig) -> None:
    directory = write_config(
        MINIMAL_QUEUES.replace("version: 1\n", "") + "tasks:\n  t.a: {queue: nope}\n"
    )
    assert [d.code for d in validate(directory, {}).report] == ["AIR102", "AIR201"]


def test_a_broken_task_entry_does_not_add_guesses(write_config: WriteConfig) -> None:
    directory = write_config(MINIMAL_QUEUES + "tasks:\n  t.a: {time_limit: 30s}\n")
    # Without its time_limit the task would look unlimited (AIR302 warning): dropped as a cascade.
    assert [d.code for d in validate(directory, {}).report] == ["AIR103"]


# --- inputs that once crashed `air validate` ------------------------------------------------------


@pytest.mark.parametrize(
    "schedule",
    [
        "{task: t.a, every: 5 minutes}",
        "{task: t.a}",
        "{task: t.a, every: null}",
        "{task: t.a, cron: null}",
        "{task: t.a, every: 0}",
    ],
)
def test_schedule_without_a_usable_period(write_config: WriteConfig, schedule: str) -> None:
    directory = write_config(TASK, f"version: 1\nschedules:\n  s: {schedule}\n")
    result = validate(directory, {})
    assert not result.report.ok
    assert all(d.file.endswith("schedules.yaml") for d in result.report)


def test_huge_retry_count_does_not_overflow(write_config: WriteConfig) -> None:
    directory = write_config(MINIMAL_QUEUES + "tasks:\n  t.a: {retry: {max: 1000}}\n")
    assert found(validate(directory, {})) == []  # capped by max_delay 10m < visibility 1h


@pytest.mark.parametrize("value", ["[1]", "{a: 1}", "null"])
def test_durations_and_sizes_of_the_wrong_shape(write_config: WriteConfig, value: str) -> None:
    directory = write_config(f"""\
        version: 1
        broker: {{visibility_timeout: {value}}}
        defaults: {{time_limit: {{soft: 1m, hard: 2m}}, retry: {{initial: {value}}}}}
        queues: {{default: {{priority: 5}}}}
        pools: {{default: {{queues: [default], max_memory_per_child: {value}}}}}
        tasks: {{t.a: {{expires: {value}, retry: {{max_delay: {value}}}}}}}
    """)
    result = validate(directory, {})
    codes = {d.code for d in result.report}
    assert codes <= {"AIR103", "AIR106"} and codes


@pytest.mark.parametrize("url", ["redis://[::1", "redis://h:99999/0x", "redis://:p@[bad/0"])
def test_unparseable_broker_url(write_config: WriteConfig, url: str) -> None:
    directory = write_config(MINIMAL_QUEUES + f"broker: {{url: '{url}'}}\n")
    result = validate(directory, {})
    errors = [d for d in result.report if d.severity is Severity.ERROR]
    if url.endswith(("[::1", "[bad/0")):  # urlsplit cannot parse these at all
        # broker.url only: result_backend defaults to it and is not reported twice
        assert [(d.code, d.pointer) for d in errors] == [("AIR502", "/broker/url")]
        assert all("p@" not in d.message for d in errors)  # no password echoed
    else:  # parsed, but redis-py would fail on the port: every later command used to crash
        assert [(d.code, d.pointer) for d in errors] == [("AIR503", "/broker/url")]


def test_password_is_redacted_in_messages(write_config: WriteConfig) -> None:
    directory = write_config(MINIMAL_QUEUES + "broker: {url: 'amqp://u:hunter2@h//'}\n")
    report = validate(directory, {}).report
    assert [d.code for d in report] == ["AIR502"]  # url; result_backend is its unwritten copy
    assert all("hunter2" not in d.message for d in report)


def test_password_from_the_environment_is_not_plaintext(write_config: WriteConfig) -> None:
    directory = write_config(MINIMAL_QUEUES + "broker: {url: 'redis://:${PW}@h:6379/0'}\n")
    assert found(validate(directory, {"PW": "secret"})) == []


def test_defaults_with_soft_not_below_hard_are_reported_for_inheriting_tasks(
    write_config: WriteConfig,
) -> None:
    directory = write_config(MINIMAL_QUEUES.replace("soft: 1m", "soft: 3m") + "tasks:\n  t.a: {}\n")
    assert found(validate(directory, {})) == [("AIR301", "queues.yaml", 3, 22)]
