"""A declared workflow as a review item: its steps in one setting, so `air plan` lists a
workflow added, removed, or its steps changed (runtime/review/diff.py)."""

from __future__ import annotations

from typing import Any

from runtime.compiler.plan import Plan
from runtime.config.model import Config
from runtime.review.settings import Item, Locator, Setting, show


def workflow_item(name: str, config: Config, plan: Plan, where: Locator) -> Item:
    workflow = config.workflows[name]
    planned = plan.workflows[name]
    at = workflow.origin.at
    target = f"workflow '{name}'"
    settings = [
        Setting(
            "description",
            planned.description,
            show(planned.description),
            where.source(at("description")),
            f"{target} description",
        ),
        Setting(
            "steps",
            planned.steps,
            # A list, not arrows: `air plan` prints a change as `old -> new`.
            "[" + ", ".join(step_text(step) for step in planned.steps) + "]",
            where.source(at("steps")),
            f"{target} canvas, {planned.size} task runs",
        ),
    ]
    return Item("workflow", name, where.declared(workflow.origin), {s.key: s for s in settings})


def step_text(step: dict[str, Any]) -> str:
    """sync.email, sync.email(1), parallel(a, b): a step as one short line."""
    if "parallel" in step:
        return f"parallel({', '.join(step_text(member) for member in step['parallel'])})"
    arguments = [show(a) for a in step["args"]] + [
        f"{k}={show(v)}" for k, v in step["kwargs"].items()
    ]
    text = f"{step['task']}({', '.join(arguments)})" if arguments else step["task"]
    return text if step["input"] else f"{text} [input: none]"


def step_shape(step: dict[str, Any]) -> object:
    """What a step runs, arguments aside: which task resumes at a position."""
    if "parallel" in step:
        return ("parallel", tuple(step_shape(member) for member in step["parallel"]))
    return step["task"]
