"""The workflow model, built from schema-valid workflows.yaml data: named chains of steps, where
a step is one task or a group of steps run in parallel (a chord when a step follows it)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from runtime.config import defaults
from runtime.config import pointer as ptr
from runtime.config.model import Origin


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskStep:
    task: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    takes_input: bool = True  # `input: previous`: the previous step's result comes first
    origin: Origin = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ParallelStep:
    steps: tuple[Step, ...]
    origin: Origin = field(compare=False, repr=False)


Step = TaskStep | ParallelStep


@dataclass(frozen=True, slots=True, kw_only=True)
class Workflow:
    name: str
    description: str
    steps: tuple[Step, ...]
    origin: Origin = field(compare=False, repr=False)

    def tasks(self) -> Iterator[TaskStep]:
        """Every task step, in order, parallel members included."""
        yield from _flatten(self.steps)


def _flatten(steps: tuple[Step, ...]) -> Iterator[TaskStep]:
    for step in steps:
        if isinstance(step, TaskStep):
            yield step
        else:
            yield from _flatten(step.steps)


def build_workflows(file: str, data: Any) -> dict[str, Workflow]:
    workflows = data.get("workflows") if isinstance(data, dict) else None
    if not isinstance(workflows, dict):
        return {}
    found = {}
    for name, spec in workflows.items():
        spec = spec if isinstance(spec, dict) else {}
        origin = Origin(file, ptr.join("/workflows", name))
        description = spec.get("description")
        found[name] = Workflow(
            name=name,
            description=description if isinstance(description, str) else "",
            steps=_steps(spec.get("steps"), origin.at("steps")),
            origin=origin,
        )
    return found


def _steps(data: Any, origin: Origin) -> tuple[Step, ...]:
    if not isinstance(data, list):
        return ()
    steps = (_step(item, origin.at(index)) for index, item in enumerate(data))
    return tuple(step for step in steps if step is not None)


def _step(data: Any, origin: Origin) -> Step | None:
    if isinstance(data, str):
        return TaskStep(task=data, origin=origin)
    if not isinstance(data, dict):
        return None
    if "parallel" in data:
        return ParallelStep(steps=_steps(data["parallel"], origin.at("parallel")), origin=origin)
    task = data.get("task")
    if not isinstance(task, str):
        return None
    args, kwargs = data.get("args"), data.get("kwargs")
    return TaskStep(
        task=task,
        args=tuple(args) if isinstance(args, list) else (),
        kwargs=dict(kwargs) if isinstance(kwargs, dict) else {},
        takes_input=data.get("input", defaults.WORKFLOW_STEP["input"]) != "none",
        origin=origin,
    )
