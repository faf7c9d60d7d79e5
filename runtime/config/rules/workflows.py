"""Rules on workflows: every step names a declared task, and a whole run fits the broker's
visibility timeout."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from runtime.config.diagnostics import Diagnostic
from runtime.config.model import Config
from runtime.config.rules.context import Context, did_you_mean
from runtime.config.units import format_duration
from runtime.config.workflows import ParallelStep, Step


def workflow_tasks(ctx: Context) -> Iterator[Diagnostic]:
    tasks = ctx.config.tasks
    for workflow in ctx.config.workflows.values():
        for step in workflow.tasks():
            if step.task not in tasks:
                yield ctx.error(
                    "AIR202",
                    f"workflow '{workflow.name}' runs task '{step.task}', which is not declared",
                    step.origin if not step.args and not step.kwargs else step.origin.at("task"),
                    hint=did_you_mean(step.task, tasks, "declared tasks"),
                )


def workflow_duration(ctx: Context) -> Iterator[Diagnostic]:
    """The longest path of hard time limits (steps add up; parallel members overlap)."""
    timeout = ctx.config.broker.visibility_timeout
    for workflow in ctx.config.workflows.values():
        longest = longest_run(ctx.config, workflow.steps)
        if longest is not None and longest >= timeout:
            yield ctx.warning(
                "AIR340",
                f"workflow '{workflow.name}' can run for {format_duration(longest)} (its steps' "
                f"hard time limits), at or above the visibility timeout "
                f"{format_duration(timeout)}",
                workflow.origin.at("steps"),
                hint="each step is acknowledged on its own, so no step runs twice; but a "
                "schedule's overlap lock and `air send --workflow --wait` expect one run to "
                "end within the visibility timeout: shorten the steps' limits or raise "
                "broker.visibility_timeout",
            )


def longest_run(config: Config, steps: tuple[Step, ...]) -> timedelta | None:
    """None when some step has no time limit (its run has no bound)."""
    total = timedelta(0)
    for step in steps:
        if isinstance(step, ParallelStep):
            members = [longest_run(config, (member,)) for member in step.steps]
            if any(m is None for m in members):
                return None
            total += max((m for m in members if m is not None), default=timedelta(0))
            continue
        task = config.tasks.get(step.task)
        limit = (task.time_limit.hard or task.time_limit.soft) if task else None
        if limit is None:
            return None
        total += limit
    return total
