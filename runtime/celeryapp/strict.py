"""`air validate --strict`: import the task code into a fresh app and report, as positioned
diagnostics, where it and the config disagree: the task catalogue, and whether each workflow
step's task accepts what it will be called with."""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Iterator
from inspect import signature
from typing import Any

from runtime.celeryapp.app import create_app
from runtime.celeryapp.catalogue import Mismatch, compare
from runtime.compiler.plan import Plan
from runtime.config import pointer as ptr
from runtime.config.diagnostics import Diagnostic
from runtime.config.workflows import ParallelStep, TaskStep


def inspect(plan: Plan) -> tuple[Any, Mismatch]:
    """Import the plan's modules into a fresh app and compare (for `air validate --strict`)."""
    app = create_app(plan)
    failed = []
    for index, module in enumerate(plan.imports):
        try:
            importlib.import_module(module)
        except Exception as exc:  # any error while importing user code is the finding
            last = traceback.extract_tb(exc.__traceback__)[-1:]
            where = f" ({last[0].filename}:{last[0].lineno})" if last else ""
            failed.append((index, module, f"{type(exc).__name__}: {exc}{where}"))
    mismatch = compare(app)
    mismatch.import_errors = failed
    if failed:  # tasks of a module that failed to import are not "missing": say it once
        mismatch.missing = []
    return app, mismatch


def diagnostics(validation: Any, plan: Plan) -> list[Diagnostic]:
    """`air validate --strict`: the catalogue check as positioned diagnostics."""
    config = validation.config
    doc = validation.docs["queues"]
    app, mismatch = inspect(plan)
    found = [
        doc.error(
            "AIR207",
            f"cannot import module '{module}': {why}",
            ptr.join("/imports", index),
            hint="fix the module, or the name under imports: (a dotted module path "
            "importable from the working directory)",
        )
        for index, module, why in mismatch.import_errors
    ]
    found += [
        doc.error(
            "AIR208",
            f"task '{name}' is declared but no module in imports registers it",
            ptr.join("/tasks", name),
            key=True,
            hint=f'register it with @shared_task(name="{name}") in a module listed '
            f"under imports: {', '.join(plan.imports)}; or remove it",
        )
        for name in mismatch.missing
    ]
    found += [
        doc.error(
            "AIR208",
            f"task '{name}' is registered in code but not declared",
            "/tasks",
            key=True,
            hint=f"declare it under tasks: ('{name}': {{}}) so it gets a queue and a policy",
        )
        for name in mismatch.extra
    ]
    for task, index, why in mismatch.bad_errors:
        origin = config.tasks[task].retry.origins.get("errors")
        pointer = ptr.join(origin.pointer, index) if origin else ptr.join("/tasks", task)
        found.append(
            doc.error(
                "AIR209",
                f"task '{task}': {why}",
                pointer,
                hint="name a builtin exception (ConnectionError) or a dotted "
                "path to an exception class (tasks.errors.TransientError)",
            )
        )
    return found + list(_workflow_arity(validation, app))


def _workflow_arity(validation: Any, app: Any) -> Iterator[Diagnostic]:
    """Each step's task must accept its own arguments, after the previous step's result when
    it takes one (`input: previous`, the default, from the second step on)."""
    for workflow in validation.config.workflows.values():
        doc = validation.docs["workflows"]
        for index, step in enumerate(workflow.steps):
            members = step.steps if isinstance(step, ParallelStep) else (step,)
            for member in members:
                if not isinstance(member, TaskStep) or member.task not in app.tasks:
                    continue
                passed = index > 0 and member.takes_input
                problem = _cannot_bind(app.tasks[member.task], member, passed)
                if problem:
                    yield doc.error(
                        "AIR230",
                        f"workflow '{workflow.name}' step {index}: task '{member.task}' "
                        f"cannot be called {'with the previous result and ' if passed else ''}"
                        f"these arguments: {problem}",
                        member.origin.pointer,
                        hint="add `input: none` when the task does not use what the step "
                        "before returns, or fix args/kwargs to fit the task's parameters",
                    )


def _cannot_bind(task: Any, step: TaskStep, passed: bool) -> str | None:
    args = (None, *step.args) if passed else step.args
    try:
        signature(task.run).bind(*args, **step.kwargs)
    except TypeError as exc:
        return str(exc)
    return None
