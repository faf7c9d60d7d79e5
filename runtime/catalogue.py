"""Do the code and the config agree on the task catalogue? Checked at worker start and by
`air validate --strict`: every task the YAML declares is registered by an imported module,
every registered task is declared, and every retry error class can be imported."""

from __future__ import annotations

import importlib
import traceback
from dataclasses import dataclass, field
from typing import Any

from runtime import pointer as ptr
from runtime.diagnostics import Diagnostic
from runtime.plan import Plan
from runtime.task import PolicyError, resolve_exception


@dataclass(slots=True)
class Mismatch:
    import_errors: list[tuple[int, str, str]] = field(default_factory=list)  # index, module, why
    missing: list[str] = field(default_factory=list)  # declared, not registered
    extra: list[str] = field(default_factory=list)  # registered, not declared
    bad_errors: list[tuple[str, int, str]] = field(default_factory=list)  # task, index, why

    def __bool__(self) -> bool:
        return bool(self.import_errors or self.missing or self.extra or self.bad_errors)

    def lines(self, plan: Plan) -> list[str]:
        found = [f"cannot import {module}: {why}" for _, module, why in self.import_errors]
        if self.missing:
            found.append(
                f"declared in queues.yaml but registered by no module in imports "
                f"{list(plan.imports)}: {', '.join(self.missing)}"
            )
        if self.extra:
            found.append(
                f"registered in code but missing from queues.yaml tasks: {', '.join(self.extra)}"
            )
        found += [f"task {task}: {why}" for task, _, why in self.bad_errors]
        return found


def compare(app: Any) -> Mismatch:
    """Compare an app whose task modules are already imported with its plan."""
    plan: Plan = app.air_plan
    registered = {name for name in app.tasks if not name.startswith("celery.")}
    mismatch = Mismatch(
        missing=sorted(set(plan.tasks) - registered), extra=sorted(registered - set(plan.tasks))
    )
    for policy in plan.tasks.values():
        for index, name in enumerate(policy.retry.errors):
            try:
                resolve_exception(name)
            except PolicyError as exc:
                mismatch.bad_errors.append((policy.name, index, str(exc)))
    return mismatch


def inspect(plan: Plan) -> Mismatch:
    """Import the plan's modules into a fresh app and compare (for `air validate --strict`)."""
    from runtime.app import create_app

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
