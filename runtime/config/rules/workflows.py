"""Rules on workflows: every step names a declared task that is not unique, and a whole run
fits the broker's visibility timeout."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from runtime.config.diagnostics import Diagnostic
from runtime.config.model import Config
from runtime.config.rules.context import Context, did_you_mean, has
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
            elif tasks[step.task].unique is not None:
                # A send whose claim is held is a no-op: a step sent after the one before it
                # ends would never run, and the run would stop without a failure to show.
                yield ctx.error(
                    "AIR341",
                    f"workflow '{workflow.name}' runs unique task '{step.task}': while another "
                    f"'{step.task}' with the same key is queued or running, the step would not "
                    "be sent and the run would stop without failing",
                    step.origin if not step.args and not step.kwargs else step.origin.at("task"),
                    hint=f"remove 'unique' from task '{step.task}', or the step from the "
                    "workflow (send the task on its own)",
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


# A workflow's steps run on their own tasks' queues, with their own priorities and the
# arguments workflows.yaml gives them: a schedule-wide value would have nothing to apply to.
_NOT_FOR_WORKFLOWS = ("queue", "priority", "args", "kwargs")


def workflow_schedules(ctx: Context) -> Iterator[Diagnostic]:
    """A schedule's `workflow:` names a declared workflow and sets nothing only tasks take."""
    workflows = ctx.config.workflows
    for schedule in ctx.config.schedules.values():
        if not schedule.workflow:
            continue
        if schedule.workflow not in workflows:
            yield ctx.error(
                "AIR210",
                f"schedule '{schedule.name}' starts workflow '{schedule.workflow}', "
                f"which is not declared in workflows.yaml",
                schedule.origin.at("workflow"),
                hint=did_you_mean(schedule.workflow, workflows, "declared workflows"),
            )
        for key in _NOT_FOR_WORKFLOWS:
            if has(ctx, schedule.origin.at(key)):
                yield ctx.error(
                    "AIR410",
                    f"schedule '{schedule.name}' starts workflow '{schedule.workflow}' and "
                    f"sets '{key}', which only a task schedule takes",
                    schedule.origin.at(key),
                    key=True,
                    hint="each step runs on its own task's queue and priority, with the "
                    "arguments workflows.yaml gives it: set them there, and remove "
                    f"'{key}' here",
                )
