"""A config's items by kind and name (runtime/review/settings.py builds each), built lazily."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

from runtime.compiler.plan import Plan
from runtime.config.validate import Validation
from runtime.review.settings import (
    Item,
    Locator,
    broker_item,
    pool_item,
    queue_item,
    schedule_item,
    task_item,
)
from runtime.review.workflow_item import workflow_item


class _Items(Mapping[str, Item]):
    """The items of one kind, each built on first access: a plan of a large config only
    builds the ones that changed."""

    def __init__(self, names: Iterable[str], build: Callable[[str], Item]) -> None:
        self._names = tuple(names)
        self._known = frozenset(self._names)
        self._build = build
        self._built: dict[str, Item] = {}

    def __getitem__(self, name: str) -> Item:
        if name not in self._known:
            raise KeyError(name)
        item = self._built.get(name)
        if item is None:
            item = self._built[name] = self._build(name)
        return item

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._known


class Topology(Mapping[str, Mapping[str, Item]]):
    """kind -> name -> Item for one validated and compiled config."""

    def __init__(self, validation: Validation, plan: Plan) -> None:
        where = Locator(validation.docs)
        config = validation.config
        self._plan = plan
        self._config = config
        consumers: dict[str, list[str]] = {}
        for worker in plan.workers.values():
            for queue in worker.queues:
                consumers.setdefault(queue, []).append(worker.pool)
        routed: dict[str, list[str]] = {}
        for task in plan.tasks.values():
            routed.setdefault(task.queue, []).append(task.name)
        self._context = {
            q.name: (sorted(consumers.get(q.name, [])), sorted(routed.get(q.name, [])))
            for q in plan.queues
        }
        self._kinds = {
            "broker": _Items(["broker"], lambda _: broker_item(config, where)),
            "queue": _Items(
                (q.name for q in plan.queues),
                lambda n: queue_item(n, config, plan, where, *self._context[n]),
            ),
            "pool": _Items(plan.workers, lambda n: pool_item(n, config, plan, where)),
            "task": _Items(plan.tasks, lambda n: task_item(n, config, plan, where)),
            "schedule": _Items(plan.beat, lambda n: schedule_item(n, config, plan, where)),
            "workflow": _Items(plan.workflows, lambda n: workflow_item(n, config, plan, where)),
        }

    def __getitem__(self, kind: str) -> Mapping[str, Item]:
        return self._kinds[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._kinds)

    def __len__(self) -> int:
        return len(self._kinds)

    def fingerprint(self, kind: str, name: str) -> object:
        """A cheap value equal in two configs whenever the item's settings are equal."""
        if kind == "queue":
            planned = next(q for q in self._plan.queues if q.name == name)
            return planned, self._context[name]
        if kind == "pool":  # and the order of its queues, which their priorities set
            return self._config.pools[name], self._plan.workers[name].queues
        if kind == "task":
            return self._plan.tasks[name]
        if kind == "schedule":
            return self._plan.beat[name]
        if kind == "workflow":
            return self._plan.workflows[name].steps, self._plan.workflows[name].description
        return self._config.broker
