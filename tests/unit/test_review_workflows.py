"""`air plan` on workflows: added, removed, steps changed, and PLAN012 where a replay of a run
in flight would resume another step than the one that failed."""

from __future__ import annotations

import json
from typing import Any

import yaml

from runtime.compiler.compile import compile_plan
from runtime.config.validate import validate_contents
from runtime.review.planformat import render_json, render_markdown, render_text
from runtime.review.planning import PlanDiff, compare
from runtime.review.revision import Revision
from tests.unit.test_review_plan import NOW, QUEUES, SCHEDULES

FLOW = {"steps": ["alert", {"parallel": ["work", "export"]}, "work"]}


def revision(workflows: dict[str, Any], label: str) -> Revision:
    files = {
        "queues": ("config/queues.yaml", yaml.safe_dump(QUEUES, sort_keys=False).encode()),
        "schedules": ("config/schedules.yaml", yaml.safe_dump(SCHEDULES).encode()),
        "workflows": (
            "config/workflows.yaml",
            yaml.safe_dump({"version": 1, "workflows": workflows}, sort_keys=False).encode(),
        ),
    }
    validation = validate_contents(files, env={})
    assert validation.report.ok, [d.message for d in validation.report]
    return Revision.of(label, None, validation, compile_plan(validation.config))


def plan_of(base: dict[str, Any], head: dict[str, Any]) -> PlanDiff:
    return compare(revision(base, "base"), revision(head, "head"), NOW)


def test_added_and_removed_workflows_are_listed_and_a_removal_flagged() -> None:
    plan = plan_of({"old": FLOW}, {"new": FLOW})

    assert [(d.kind, d.name, d.action) for d in plan.items] == [
        ("workflow", "new", "add"),
        ("workflow", "old", "remove"),
    ]
    assert [(r.code, r.name) for r in plan.risks] == [("PLAN012", "old")]
    added = plan.items[0]
    assert [(c.key, c.new) for c in added.changes] == [
        ("steps", "[alert, parallel(work, export), work]")
    ]
    assert added.where == "config/workflows.yaml:3:3"


def test_reordered_steps_are_flagged_with_the_positions_that_moved() -> None:
    head = {"flow": {"steps": [{"parallel": ["work", "export"]}, "alert", "work"]}}
    plan = plan_of({"flow": FLOW}, head)

    (item,) = plan.items
    assert item.action == "change"
    (change,) = item.changes
    assert change.old == "[alert, parallel(work, export), work]"
    assert change.new == "[parallel(work, export), alert, work]"
    (risk,) = plan.risks
    assert risk.code == "PLAN012" and "positions 0, 1:" in risk.message
    assert "PLAN012" in render_text(plan) and "Workflows" in render_markdown(plan)
    document = json.loads(render_json(plan))
    assert document["risks"][0]["code"] == "PLAN012"
    assert document["changes"][0]["kind"] == "workflow"


def test_steps_added_at_the_end_or_new_arguments_change_without_a_flag() -> None:
    head = {
        "flow": {
            "steps": [
                {"task": "alert", "args": [1]},
                {"parallel": ["work", "export"]},
                "work",
                "export",
            ]
        }
    }
    plan = plan_of({"flow": FLOW}, head)

    (item,) = plan.items
    assert item.changes[0].new == "[alert(1), parallel(work, export), work, export]"
    assert plan.risks == ()


def test_the_same_workflows_plan_no_change() -> None:
    plan = plan_of({"flow": FLOW}, {"flow": FLOW})
    assert plan.items == () and plan.risks == ()
