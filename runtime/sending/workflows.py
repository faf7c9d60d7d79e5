"""Declared workflows as Celery canvas: steps chain; a parallel step is a group, and the step
after it receives the list of the group's results (Celery makes that a chord); a step with
`input: none` is an immutable signature. Every step's message carries the run's id and its
position, so progress, dead letters and replay know it."""

from __future__ import annotations

from typing import Any

from celery import chain, group, uuid
from celery.canvas import Signature

from runtime.broker.workflow_runs import NAME, RUN, STEP, WorkflowRuns
from runtime.compiler.plan import Plan, WorkflowPlan


def send(app: Any, plan: Plan, workflow: WorkflowPlan, runs: WorkflowRuns) -> tuple[str, Any]:
    """Start a run: (run id, the AsyncResult of its last step). Beat records and sends its
    runs in its fire commit instead (runtime/sending/beat.py)."""
    run_id = uuid()
    runs.start(run_id, workflow.name, workflow.size)
    return run_id, canvas(app, plan, workflow, run_id).apply_async()


def resume(
    app: Any,
    plan: Plan,
    workflow: WorkflowPlan,
    runs: WorkflowRuns,
    run_id: str,
    step: str,
    args: list[Any],
) -> Any:
    """Run a failed run again from its top-level step `step` on (its members and everything
    after it; steps before it do not run again). `args` are the failed task's arguments: past
    the first step, their first one is what the step before passed on."""
    index = int(step.split(".")[0])
    passed_on = args[:1] if index > 0 and args else None
    runs.resume(run_id, done=WorkflowPlan.count(workflow.steps[:index]))
    return canvas(app, plan, workflow, run_id, start=index, passed_on=passed_on).apply_async()


def canvas(
    app: Any,
    plan: Plan,
    workflow: WorkflowPlan,
    run_id: str,
    start: int = 0,
    passed_on: list[Any] | None = None,
) -> Signature:
    steps = [
        _signature(app, plan, workflow.name, run_id, step, str(index))
        for index, step in enumerate(workflow.steps)
    ][start:]
    if passed_on is not None:  # the first step gets what the step before it returned
        steps[0] = _with_input(steps[0], passed_on)
    return steps[0] if len(steps) == 1 else chain(*steps)


def _signature(
    app: Any, plan: Plan, name: str, run_id: str, step: dict[str, Any], position: str
) -> Signature:
    if "parallel" in step:
        return group(
            _signature(app, plan, name, run_id, member, f"{position}.{index}")
            for index, member in enumerate(step["parallel"])
        )
    policy = plan.tasks.get(step["task"])
    return app.signature(
        step["task"],
        args=step["args"],
        kwargs=step["kwargs"],
        expires=policy.expires if policy else None,
        headers={NAME: name, RUN: run_id, STEP: position},
        immutable=not step["input"],  # `input: none`: the previous result is not passed on
        # A chord collects its members' results in the result backend, and --wait reads the
        # last one: a workflow's steps store theirs whatever the task's `result` policy says.
        ignore_result=False,
    )


def _with_input(signature: Signature, passed_on: list[Any]) -> Signature:
    if isinstance(signature, group):
        return group(_with_input(member, passed_on) for member in signature.tasks)
    if signature.immutable:
        return signature
    return signature.clone(args=tuple(passed_on))  # clone() prepends partial args
