"""`air validate --strict`: import the task code into a fresh app and report, as positioned
diagnostics, where it and the config disagree on the task catalogue."""

from __future__ import annotations

import importlib
import traceback
from typing import Any

from runtime.celeryapp.app import create_app
from runtime.celeryapp.catalogue import Mismatch, compare
from runtime.compiler.plan import Plan
from runtime.config import pointer as ptr
from runtime.config.diagnostics import Diagnostic


def inspect(plan: Plan) -> Mismatch:
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
    return mismatch


def diagnostics(validation: Any, plan: Plan) -> list[Diagnostic]:
    """`air validate --strict`: the catalogue check as positioned diagnostics."""
    config = validation.config
    doc = validation.docs["queues"]
    mismatch = inspect(plan)
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
    return found
