"""The plan diff and its risk flags, on configs held in memory (no git, no Redis)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from runtime.compiler.compile import compile_plan
from runtime.config.validate import validate_contents
from runtime.review.planformat import MARKDOWN_ROWS, render_json, render_markdown, render_text
from runtime.review.planning import PlanDiff, compare
from runtime.review.revision import Revision
from runtime.review.risks import CODES

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

QUEUES: dict[str, Any] = {
    "version": 1,
    "imports": ["tasks"],
    "broker": {"url": "redis://127.0.0.1:6399/0", "visibility_timeout": "1h"},
    "defaults": {"queue": "default", "time_limit": {"soft": "1m", "hard": "2m"}},
    "queues": {
        "urgent": {"priority": 9},
        "default": {"priority": 5},
        "bulk": {"priority": 2},
    },
    "pools": {
        "fast": {"queues": ["urgent", "default"], "concurrency": 4},
        "slow": {"queues": ["bulk"], "concurrency": 2},
    },
    "tasks": {
        "alert": {"queue": "urgent"},
        "work": {},
        "export": {"queue": "bulk", "retry": {"max": 2}},
    },
}
SCHEDULES: dict[str, Any] = {
    "version": 1,
    "timezone": "UTC",
    "schedules": {"nightly": {"task": "export", "cron": "0 3 * * *"}},
}


def revision(queues: dict[str, Any], schedules: dict[str, Any], label: str) -> Revision:
    files = {
        "queues": ("config/queues.yaml", yaml.safe_dump(queues, sort_keys=False).encode()),
        "schedules": ("config/schedules.yaml", yaml.safe_dump(schedules).encode()),
    }
    validation = validate_contents(files, env={})
    assert validation.report.ok, [d.message for d in validation.report]
    return Revision.of(label, None, validation, compile_plan(validation.config))


def plan_of(edit: Any = None, edit_schedules: Any = None) -> PlanDiff:
    queues, schedules = copy.deepcopy(QUEUES), copy.deepcopy(SCHEDULES)
    if edit:
        edit(queues)
    if edit_schedules:
        edit_schedules(schedules)
    return compare(
        revision(QUEUES, SCHEDULES, "base"), revision(queues, schedules, "head"), NOW
    )


def codes(plan: PlanDiff) -> list[str]:
    return [r.code for r in plan.risks]


def actions(plan: PlanDiff) -> list[tuple[str, str, str]]:
    return [(d.kind, d.name, d.action) for d in plan.items]


def test_the_same_config_plans_no_change() -> None:
    plan = plan_of()
    assert plan.items == () and plan.risks == ()
    assert "No changes" in render_text(plan)


def test_a_changed_setting_shows_old_new_and_the_head_line() -> None:
    def edit(q: dict[str, Any]) -> None:
        q["tasks"]["work"]["rate_limit"] = "10/m"

    plan = plan_of(edit)
    assert actions(plan) == [("task", "work", "change")]
    (change,) = plan.items[0].changes
    assert (change.key, change.old, change.new) == ("rate_limit", "none", "10/m")
    assert change.where.startswith("config/queues.yaml:") and change.where.count(":") == 2
    assert plan.counts == (0, 1, 0) and codes(plan) == []
    assert "0 to add, 1 to change, 0 to destroy." in render_text(plan)


def test_a_change_in_defaults_changes_every_task_that_inherits_it() -> None:
    def edit(q: dict[str, Any]) -> None:
        q["defaults"]["time_limit"] = {"soft": "2m", "hard": "3m"}

    plan = plan_of(edit)
    assert {d.name for d in plan.items} == {"alert", "work", "export"}
    change = next(c for c in plan.items[0].changes if c.key == "time_limit.hard")
    assert change.where.startswith("defaults.time_limit/hard") is False
    assert change.where.startswith("defaults.time_limit.hard (config/queues.yaml:")


def test_a_removed_queue_strands_its_messages() -> None:
    def edit(q: dict[str, Any]) -> None:
        del q["queues"]["bulk"]
        q["pools"]["slow"]["queues"] = ["default"]
        q["tasks"]["export"]["queue"] = "default"

    plan = plan_of(edit)
    assert ("queue", "bulk", "remove") in actions(plan)
    assert "PLAN001" in codes(plan)
    assert plan.stranded_queues() == ["bulk"]
    counted = plan.with_waiting({"bulk": 7})
    risk = next(r for r in counted.risks if r.code == "PLAN001")
    assert risk.waiting == 7
    assert "7 messages waiting in it now" in render_text(counted)


def test_a_renamed_queue_is_recognised_as_a_rename() -> None:
    def edit(q: dict[str, Any]) -> None:
        q["queues"]["batch"] = q["queues"].pop("bulk")
        q["pools"]["slow"]["queues"] = ["batch"]
        q["tasks"]["export"]["queue"] = "batch"

    plan = plan_of(edit)
    queue = next(d for d in plan.items if d.kind == "queue")
    assert (queue.name, queue.action, queue.renamed_from) == ("batch", "rename", "bulk")
    assert "PLAN002" in codes(plan) and "PLAN001" not in codes(plan)
    # The renamed queue gets tasks before any pool of the base consumes it.
    assert "PLAN003" in codes(plan)
    assert plan.stranded_queues() == ["bulk"]
    assert plan.counts == (0, 3, 0)  # the queue, its pool and its task


def test_a_new_queue_for_new_tasks_is_not_flagged() -> None:
    def edit(q: dict[str, Any]) -> None:
        q["queues"]["reports"] = {"priority": 3}
        q["pools"]["reports"] = {"queues": ["reports"]}
        q["tasks"]["report"] = {"queue": "reports"}

    plan = plan_of(edit)
    assert codes(plan) == [] and plan.counts == (3, 0, 0)


def test_a_task_moved_to_a_queue_only_a_new_pool_consumes_is_flagged() -> None:
    def edit(q: dict[str, Any]) -> None:
        q["queues"]["reports"] = {"priority": 3}
        q["pools"]["reports"] = {"queues": ["reports"]}
        q["tasks"]["export"]["queue"] = "reports"

    plan = plan_of(edit)
    assert codes(plan) == ["PLAN003"]
    message = plan.risks[0].message
    assert "'reports' gets export, schedule nightly but no pool consumes it" in message


def test_a_removed_and_an_unrelated_added_queue_are_not_a_rename() -> None:
    def edit(q: dict[str, Any]) -> None:
        q["queues"]["batch"] = {"priority": 3}  # another priority: not the same queue
        del q["queues"]["bulk"]
        q["pools"]["slow"]["queues"] = ["batch"]
        q["tasks"]["export"]["queue"] = "batch"

    plan = plan_of(edit)
    assert ("queue", "batch", "add") in actions(plan)
    assert ("queue", "bulk", "remove") in actions(plan)
    assert {"PLAN001", "PLAN003"} <= set(codes(plan))


def test_a_priority_change_that_reorders_queues_of_a_pool_is_flagged() -> None:
    def edit(q: dict[str, Any]) -> None:
        q["queues"]["default"]["priority"] = 10  # now ahead of urgent, in pool fast

    plan = plan_of(edit)
    assert codes(plan) == ["PLAN004"]
    # Task priorities that follow the queue are not listed as changes of their own.
    assert actions(plan) == [("queue", "default", "change"), ("pool", "fast", "change")]


def test_a_priority_change_that_keeps_the_order_is_not_flagged() -> None:
    def edit(q: dict[str, Any]) -> None:
        q["queues"]["default"]["priority"] = 6

    assert codes(plan_of(edit)) == []


def test_a_time_limit_close_to_the_visibility_timeout_is_flagged() -> None:
    def edit(q: dict[str, Any]) -> None:
        q["tasks"]["export"]["time_limit"] = {"soft": "40m", "hard": "50m"}

    assert codes(plan_of(edit)) == ["PLAN005"]


def test_a_retry_delay_close_to_the_visibility_timeout_is_flagged() -> None:
    def edit(q: dict[str, Any]) -> None:
        q["tasks"]["export"]["retry"] = {"max": 2, "backoff": "fixed", "initial": "55m",
                                         "max_delay": "55m"}

    assert codes(plan_of(edit)) == ["PLAN005"]


def test_a_concurrency_cut_and_a_removed_pool_are_flagged() -> None:
    def edit(q: dict[str, Any]) -> None:
        q["pools"]["fast"]["concurrency"] = 2
        del q["pools"]["slow"]
        q["pools"]["fast"]["queues"].append("bulk")

    plan = plan_of(edit)
    assert codes(plan) == ["PLAN006", "PLAN006"]
    assert ("pool", "slow", "remove") in actions(plan)


def test_a_schedule_that_fires_more_often_shows_fire_times_and_a_flag() -> None:
    def edit(s: dict[str, Any]) -> None:
        s["schedules"]["nightly"]["cron"] = "0 */6 * * *"

    plan = plan_of(edit_schedules=edit)
    assert codes(plan) == ["PLAN007"]
    (item,) = plan.items
    assert [f.hour for f in item.fires_before] == [3, 3, 3]
    assert [f.hour for f in item.fires_after] == [12 + 6, 0, 6]
    assert "next fires after:  2026-03-02 18:00 UTC" in render_text(plan)


def test_an_every_schedule_that_fires_more_often_is_flagged() -> None:
    def base_every(s: dict[str, Any]) -> None:
        s["schedules"]["nightly"] = {"task": "export", "every": "10m"}

    before = copy.deepcopy(SCHEDULES)
    base_every(before)
    after = copy.deepcopy(before)
    after["schedules"]["nightly"]["every"] = "1m"
    plan = compare(revision(QUEUES, before, "a"), revision(QUEUES, after, "b"), NOW)
    assert codes(plan) == ["PLAN007"]


def test_retries_dead_letters_and_tasks_turned_off_are_flagged() -> None:
    def edit(q: dict[str, Any]) -> None:
        q["tasks"]["export"]["retry"] = {"max": 0}
        q["tasks"]["work"]["dead_letter"] = False
        del q["tasks"]["alert"]

    plan = plan_of(edit)
    assert codes(plan) == ["PLAN008", "PLAN009", "PLAN011"]


def test_a_changed_broker_is_flagged_and_its_password_never_shown() -> None:
    def edit(q: dict[str, Any]) -> None:
        q["broker"]["url"] = "redis://:s3cret@10.0.0.9:6379/0"

    plan = plan_of(edit)
    assert "PLAN010" in codes(plan)
    for render in (render_text, render_markdown, render_json):
        output = render(plan)
        assert "s3cret" not in output and "***" in output


def test_every_risk_code_is_documented() -> None:
    from tests.conftest import REPO

    doc = (REPO / "docs/plan.md").read_text()
    for code, summary in CODES.items():
        assert f"| {code} | {summary} |" in doc


def test_added_items_list_the_settings_their_yaml_spells_out() -> None:
    def edit(q: dict[str, Any]) -> None:
        q["tasks"]["report"] = {"queue": "bulk", "rate_limit": "5/m"}

    plan = plan_of(edit)
    (item,) = plan.items
    assert item.action == "add"
    assert {c.key: c.new for c in item.changes} == {"queue": "bulk", "rate_limit": "5/m"}
    assert plan.counts == (1, 0, 0)


def test_json_is_stable_and_complete() -> None:
    def edit(q: dict[str, Any]) -> None:
        q["pools"]["slow"]["concurrency"] = 1

    document = json.loads(render_json(plan_of(edit)))
    assert document["version"] == 1
    assert document["summary"] == {"add": 0, "change": 1, "destroy": 0, "risks": 1}
    assert document["risks"][0]["code"] == "PLAN006"
    (change,) = document["changes"]
    assert change["kind"] == "pool" and change["action"] == "change"
    assert change["settings"][0] == {
        "key": "concurrency",
        "old": "2",
        "new": "1",
        "where": change["settings"][0]["where"],
    }
    assert change["next_fires"] is None


@pytest.mark.parametrize("render", [render_text, render_markdown])
def test_risks_come_before_the_changes(render: Any) -> None:
    def edit(q: dict[str, Any]) -> None:
        q["pools"]["slow"]["concurrency"] = 1

    output = render(plan_of(edit))
    assert output.index("PLAN006") < output.index("concurrency")


def test_markdown_has_a_table_per_kind() -> None:
    def edit(q: dict[str, Any]) -> None:
        q["pools"]["slow"]["concurrency"] = 1
        q["tasks"]["work"]["rate_limit"] = "1/s"

    output = render_markdown(plan_of(edit))
    assert "#### Pools" in output and "#### Tasks" in output and "#### Risks" in output
    assert "| ~ | `slow` | concurrency | `2` | `1` |" in output


def test_markdown_tables_are_cut_to_fit_a_pr_comment() -> None:
    before = copy.deepcopy(QUEUES)
    for i in range(150):
        before["tasks"][f"extra.t{i:03d}"] = {"queue": "bulk"}
    after = copy.deepcopy(before)
    after["defaults"]["acks_late"] = False  # every one of the 153 tasks inherits it
    plan = compare(revision(before, SCHEDULES, "a"), revision(after, SCHEDULES, "b"), NOW)
    assert plan.counts == (0, 153, 0)
    output = render_markdown(plan)
    assert output.count("| ~ | `") == MARKDOWN_ROWS
    assert f"| | ... {153 - MARKDOWN_ROWS} more rows (`air plan` shows all) |" in output
    assert len(render_text(plan).splitlines()) > 300  # text shows everything
