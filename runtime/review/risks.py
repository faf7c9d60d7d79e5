"""Risk flags of a config change: stable codes, each with a line of why."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from runtime.config import cron
from runtime.config.units import format_duration
from runtime.review.diff import ItemDiff
from runtime.review.revision import Revision
from runtime.review.workflow_item import step_shape

# Stable codes (docs/plan.md). Tests assert codes, never wording.
CODES: dict[str, str] = {
    "PLAN001": "queue removed: messages still in it are stranded",
    "PLAN002": "queue renamed: messages still under the old name are stranded",
    "PLAN003": "existing tasks routed to a queue no pool consumes before the change",
    "PLAN004": "queue priority change reorders work in a pool",
    "PLAN005": "time limit or retry delay reaches the visibility timeout",
    "PLAN006": "pool concurrency cut, or pool removed",
    "PLAN007": "schedule fires more often",
    "PLAN008": "retries turned off",
    "PLAN009": "dead-lettering turned off",
    "PLAN010": "broker or result backend changed",
    "PLAN011": "task removed: messages already queued for it cannot run",
    "PLAN012": "workflow removed or its steps moved: replaying a run in flight goes wrong",
}
# A run or retry wait within this share of the visibility timeout is one slow day from being
# delivered twice (the validator already refuses one at or past it).
VISIBILITY_MARGIN = 0.8
LISTED = 5
# Fires sampled for the shortest gap of a cron schedule: enough to see its densest stretch
# (a weekday-only schedule's weekend only lengthens gaps).
GAP_SAMPLES = 12


@dataclass(frozen=True, slots=True)
class Risk:
    code: str
    kind: str
    name: str
    message: str
    where: str
    waiting: int | None = None  # messages counted in the broker (--live), for PLAN001/002

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "kind": self.kind,
            "name": self.name,
            "message": self.message,
            "where": self.where,
            "waiting": self.waiting,
        }


@dataclass(frozen=True, slots=True)
class Review:
    """What the rules look at: both revisions, the diff between them, and the time now."""

    base: Revision
    head: Revision
    items: Sequence[ItemDiff]
    now: datetime

    def of(self, kind: str, *actions: str) -> Iterator[ItemDiff]:
        return (d for d in self.items if d.kind == kind and d.action in actions)


Rule = Callable[[Review], Iterator[Risk]]


def _listing(names: Sequence[str]) -> str:
    more = f", ... ({len(names)} in all)" if len(names) > LISTED else ""
    return ", ".join(names[:LISTED]) + more


def _flag(item: ItemDiff, code: str, message: str) -> Risk:
    """A risk raised by one changed item, pointing at where it stands in the head config."""
    return Risk(code, item.kind, item.name, message, item.where)


def removed_queues(review: Review) -> Iterator[Risk]:
    for item in review.of("queue", "remove"):
        yield _flag(
            item,
            "PLAN001",
            f"queue '{item.name}' is removed: messages still waiting in it are stranded, "
            "no pool consumes it after the change",
        )
    for item in review.of("queue", "rename"):
        yield _flag(
            item,
            "PLAN002",
            f"queue '{item.renamed_from}' looks renamed to '{item.name}' (same priority, pools "
            f"and tasks): messages still waiting in '{item.renamed_from}' are stranded",
        )


def unconsumed_routes(review: Review) -> Iterator[Risk]:
    """Existing traffic (tasks and schedules the base already has) moved to a queue that only
    pools of the new config consume: it waits until they run. A new task has no traffic yet."""
    base = review.base.plan
    consumed = {q for w in base.workers.values() for q in w.queues}
    routed: dict[str, list[str]] = {}
    for task in review.head.plan.tasks.values():
        if task.name in base.tasks:
            routed.setdefault(task.queue, []).append(task.name)
    for entry in review.head.plan.beat.values():
        if entry.name in base.beat:
            routed.setdefault(entry.queue, []).append(f"schedule {entry.name}")
    for queue, names in sorted(routed.items()):
        if queue in consumed:
            continue
        yield Risk(
            "PLAN003",
            "queue",
            queue,
            f"queue '{queue}' gets {_listing(sorted(names))} but no pool consumes it before "
            "this change: their messages wait until the pools run the new config",
            str(review.head.items["queue"][queue].source),
        )


def reordered_queues(review: Review) -> Iterator[Risk]:
    base = {q.name: q.priority for q in review.base.plan.queues}
    head = {q.name: q.priority for q in review.head.plan.queues}
    for item in review.of("queue", "change"):
        name = item.name
        if base[name] == head[name]:
            continue
        pools = [w for w in review.head.plan.workers.values() if name in w.queues]
        overtaken = sorted(
            other
            for w in pools
            for other in w.queues
            if other != name
            and other in base
            and _order(base, name, other) != _order(head, name, other)
        )
        if overtaken:
            yield _flag(
                item,
                "PLAN004",
                f"queue '{name}' priority {base[name]} -> {head[name]} changes its order "
                f"against {_listing(sorted(set(overtaken)))} in the same pool: work is taken "
                "in a different order",
            )


def _order(priorities: dict[str, int], a: str, b: str) -> int:
    return (priorities[a] > priorities[b]) - (priorities[a] < priorities[b])


def near_visibility(review: Review) -> Iterator[Risk]:
    def worst(side: Revision, name: str) -> tuple[timedelta, str]:
        task = side.validation.config.tasks[name]
        run = task.time_limit.hard or task.time_limit.soft or timedelta(0)
        wait = task.retry.worst_delay()
        return (run, "hard time limit") if run >= wait else (wait, "retry delay")

    def margin(side: Revision) -> timedelta:
        return side.validation.config.broker.visibility_timeout * VISIBILITY_MARGIN

    for name in sorted(review.head.plan.tasks):
        value, what = worst(review.head, name)
        if value < margin(review.head):
            continue
        if name in review.base.plan.tasks and worst(review.base, name)[0] >= margin(review.base):
            continue  # already that close before: not this change's doing
        timeout = review.head.validation.config.broker.visibility_timeout
        yield Risk(
            "PLAN005",
            "task",
            name,
            f"{what} {format_duration(value)} of task '{name}' reaches "
            f"{VISIBILITY_MARGIN:.0%} of the visibility timeout {format_duration(timeout)}: a "
            "run or wait a little longer is delivered again and runs twice",
            str(review.head.items["task"][name].source),
        )


def concurrency_cuts(review: Review) -> Iterator[Risk]:
    base, head = review.base.plan.workers, review.head.plan.workers
    for item in review.of("pool", "change"):
        old, new = base[item.name].concurrency, head[item.name].concurrency
        if new < old:
            yield _flag(
                item,
                "PLAN006",
                f"pool '{item.name}' concurrency {old} -> {new}: "
                f"work in {', '.join(head[item.name].queues)} drains slower",
            )
    for item in review.of("pool", "remove"):
        yield _flag(
            item,
            "PLAN006",
            f"pool '{item.name}' is removed: its {base[item.name].concurrency} processes no "
            f"longer take work from {', '.join(base[item.name].queues)}",
        )


def _period(side: Revision, name: str, now: datetime) -> timedelta | None:
    entry = side.plan.beat[name]
    if not entry.enabled:
        return None
    if entry.every is not None:
        return timedelta(seconds=entry.every)
    if entry.cron is None:
        return None
    return cron.shortest_gap(entry.cron, entry.timezone, samples=GAP_SAMPLES, after=now)


def faster_schedules(review: Review) -> Iterator[Risk]:
    for item in review.of("schedule", "change"):
        if not {c.key for c in item.changes} & {"cron", "every", "timezone", "enabled"}:
            continue
        old, new = (
            _period(review.base, item.name, review.now),
            _period(review.head, item.name, review.now),
        )
        if old is not None and new is not None and new < old:
            yield _flag(
                item,
                "PLAN007",
                f"schedule '{item.name}' fires more often: at most every "
                f"{format_duration(old)} -> every {format_duration(new)}",
            )


def safety_off(review: Review) -> Iterator[Risk]:
    for item in review.of("task", "change"):
        keys = {c.key for c in item.changes}
        old = review.base.plan.tasks[item.name]
        new = review.head.plan.tasks[item.name]
        if keys & {"retry.max", "retry.errors"} and (
            (old.retry.max > 0 and old.retry.errors) and not (new.retry.max and new.retry.errors)
        ):
            yield _flag(
                item,
                "PLAN008",
                f"task '{item.name}' no longer retries: a transient failure now fails it for good",
            )
        if old.dead_letter and not new.dead_letter:
            yield _flag(
                item,
                "PLAN009",
                f"task '{item.name}' no longer dead-letters: a final failure is no longer "
                "kept for inspection and replay",
            )
    for item in review.of("task", "remove"):
        yield _flag(
            item,
            "PLAN011",
            f"task '{item.name}' is removed: messages already queued for it fail as "
            "unregistered once the workers run the new code",
        )


def broker_changed(review: Review) -> Iterator[Risk]:
    for item in review.of("broker", "change"):
        moved = [c for c in item.changes if c.key in ("url", "result_backend")]
        for c in moved:
            yield Risk(
                "PLAN010",
                "broker",
                c.key,
                f"broker {c.key} {c.old} -> {c.new}: during the rollout producers and "
                "workers use different stores; what is left in the old one is stranded",
                c.where,
            )


def moved_workflow_steps(review: Review) -> Iterator[Risk]:
    """A run's steps carry their top-level position, and `air dead replay` resumes a run from
    that position of the workflow as the current config declares it."""
    for item in review.of("workflow", "remove"):
        yield Risk(
            "PLAN012",
            "workflow",
            item.name,
            f"workflow '{item.name}' is removed: a failed step of a run in flight can no "
            "longer be replayed to resume it",
            item.where,
        )
    base, head = review.base.plan.workflows, review.head.plan.workflows
    for item in review.of("workflow", "change"):
        old = [step_shape(s) for s in base[item.name].steps]
        new = [step_shape(s) for s in head[item.name].steps]
        moved = [i for i, shape in enumerate(old) if i >= len(new) or new[i] != shape]
        if not moved:
            continue  # arguments changed, or steps added at the end: positions still match
        yield Risk(
            "PLAN012",
            "workflow",
            item.name,
            f"workflow '{item.name}' runs other steps at position{'s' if len(moved) > 1 else ''} "
            f"{_listing([str(i) for i in moved])}: replaying a failed step of a run started "
            "before the change resumes the step now at its position, not the one that failed",
            item.where,
        )


RULES: tuple[Rule, ...] = (
    removed_queues,
    unconsumed_routes,
    reordered_queues,
    near_visibility,
    concurrency_cuts,
    faster_schedules,
    safety_off,
    broker_changed,
    moved_workflow_steps,
)


def find(review: Review) -> tuple[Risk, ...]:
    found = [risk for rule in RULES for risk in rule(review)]
    return tuple(sorted(found, key=lambda r: (r.code, r.kind, r.name)))
