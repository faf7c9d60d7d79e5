"""Do the code and the config agree on the task catalogue? Checked at worker start (hooks) and
by `air validate --strict` (strict): every task the YAML declares is registered by an imported
module, every registered task is declared, and every retry error class can be imported."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runtime.celeryapp.task import PolicyError, resolve_exception
from runtime.compiler.plan import Plan


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
