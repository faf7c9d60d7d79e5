"""Semantic rules: what the JSON Schema cannot say. Each rule yields diagnostics; none raises."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from runtime import cron
from runtime.diagnostics import Diagnostic, Severity
from runtime.model import Config, Origin, Schedule
from runtime.source import Document
from runtime.units import format_duration

BROKER_SCHEMES = ("redis", "rediss", "redis+socket")
LISTED = 12  # names listed in a hint before "... (N in all)"


@dataclass(frozen=True, slots=True)
class Context:
    config: Config
    docs: Mapping[str, Document]

    def diagnostic(
        self,
        severity: Severity,
        code: str,
        message: str,
        origin: Origin,
        *,
        hint: str | None = None,
        key: bool = False,
    ) -> Diagnostic:
        return self.docs[origin.file].diagnostic(
            severity, code, message, origin.pointer, hint=hint, key=key
        )

    def error(self, code: str, message: str, origin: Origin, **kw: object) -> Diagnostic:
        return self.diagnostic(Severity.ERROR, code, message, origin, **kw)  # type: ignore[arg-type]

    def warning(self, code: str, message: str, origin: Origin, **kw: object) -> Diagnostic:
        return self.diagnostic(Severity.WARNING, code, message, origin, **kw)  # type: ignore[arg-type]


Rule = Callable[[Context], Iterator[Diagnostic]]


def did_you_mean(name: str, choices: Iterable[str], label: str) -> str:
    names = sorted(choices)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    shown = ", ".join(names[:LISTED]) + (
        f", ... ({len(names)} in all)" if len(names) > LISTED else ""
    )
    listing = f"{label}: {shown}" if names else f"no {label.removeprefix('declared ')} are declared"
    return f"did you mean '{close[0]}'? {listing}" if close else listing


def queue_references(ctx: Context) -> Iterator[Diagnostic]:
    """Every queue a pool consumes, a task routes to or a schedule overrides with is declared."""
    queues = ctx.config.queues
    for pool in ctx.config.pools.values():
        for index, name in enumerate(pool.queues):
            if name not in queues:
                yield ctx.error(
                    "AIR203",
                    f"pool '{pool.name}' consumes queue '{name}', which is not declared",
                    pool.origin.at("queues", index),
                    hint=did_you_mean(name, queues, "declared queues"),
                )
    config = ctx.config
    if config.default_queue not in queues:
        yield ctx.error(
            "AIR201",
            f"the default queue '{config.default_queue}' is not declared",
            config.defaults_origin.at("queue"),
            hint=did_you_mean(config.default_queue, queues, "declared queues")
            + "; tasks without their own 'queue:' and unknown task names go there",
        )
    for task in ctx.config.tasks.values():
        origin = task.origins.get("queue", task.origin)
        if task.queue not in queues and origin.pointer.startswith("/tasks/"):
            yield ctx.error(
                "AIR201",
                f"task '{task.name}' routes to queue '{task.queue}', which is not declared",
                origin,
                hint=did_you_mean(task.queue, queues, "declared queues"),
            )
    for schedule in ctx.config.schedules.values():
        if schedule.queue is not None and schedule.queue not in queues:
            yield ctx.error(
                "AIR201",
                f"schedule '{schedule.name}' sends to queue "
                f"'{schedule.queue}', which is not declared",
                schedule.origin.at("queue"),
                hint=did_you_mean(schedule.queue, queues, "declared queues"),
            )


def queue_consumers(ctx: Context) -> Iterator[Diagnostic]:
    """Every declared queue is consumed by some pool; queues nothing routes to are flagged."""
    consumed = {q for pool in ctx.config.pools.values() for q in pool.queues}
    routed = (
        {t.queue for t in ctx.config.tasks.values()}
        | {ctx.config.default_queue}
        | {s.queue for s in ctx.config.schedules.values() if s.queue}
    )
    pools = ctx.config.pools
    for queue in ctx.config.queues.values():
        if queue.name not in consumed:
            yield ctx.error(
                "AIR204",
                f"queue '{queue.name}' is not consumed by any pool, so "
                f"tasks sent to it would wait forever",
                queue.origin,
                key=True,
                hint=f"add '{queue.name}' to the queues of a pool "
                f"({', '.join(sorted(pools)) or 'declare one under pools:'})",
            )
        elif queue.name not in routed:
            yield ctx.warning(
                "AIR206",
                f"nothing routes to queue '{queue.name}'",
                queue.origin,
                key=True,
                hint="route a task to it with 'queue:', or remove it",
            )


def task_limits(ctx: Context) -> Iterator[Diagnostic]:
    """soft < hard; with acks_late, the hard limit stays under the visibility timeout."""
    timeout = ctx.config.broker.visibility_timeout
    timeout_origin = ctx.config.broker.origin.at("visibility_timeout")
    for task in ctx.config.tasks.values():
        limit = task.time_limit
        where = limit.origin or task.origin
        for name in ("soft", "hard"):
            value = getattr(limit, name)
            if value is not None and value <= timedelta(0):
                yield ctx.error(
                    "AIR308",
                    f"{name} time limit of task '{task.name}' must be greater than zero",
                    where.at(name),
                    hint="remove the limit, or give it a positive duration",
                )
        if limit.soft and limit.hard and limit.soft >= limit.hard:
            yield ctx.error(
                "AIR301",
                f"soft time limit {format_duration(limit.soft)} of task "
                f"'{task.name}' is not below its hard limit "
                f"{format_duration(limit.hard)}",
                where.at("soft"),
                hint="the soft limit warns the task before the hard limit kills it: "
                "make soft smaller than hard",
            )
        longest = limit.hard or limit.soft
        if task.acks_late and longest is not None and longest >= timeout:
            yield ctx.error(
                "AIR302",
                f"time limit {format_duration(longest)} of task "
                f"'{task.name}' is not below the broker visibility timeout "
                f"{format_duration(timeout)}: a run that long is delivered again and "
                f"runs twice",
                where.at("hard" if limit.hard else "soft"),
                hint=f"lower the limit, or raise broker.visibility_timeout "
                f"(line {_line(ctx, timeout_origin)})",
            )
        elif task.acks_late and longest is None:
            yield ctx.warning(
                "AIR302",
                f"task '{task.name}' has no time limit: with acks_late, "
                f"a run longer than the visibility timeout "
                f"{format_duration(timeout)} is delivered again",
                task.origin,
                key=True,
                hint="set time_limit: {soft: ..., hard: ...} on the task or in defaults",
            )


def retry_delays(ctx: Context) -> Iterator[Diagnostic]:
    """Retry delays stay under the visibility timeout; initial <= max_delay."""
    timeout = ctx.config.broker.visibility_timeout
    for task in ctx.config.tasks.values():
        retry = task.retry
        worst = retry.worst_delay()
        origins = retry.origins
        if worst >= timeout:
            key = "max_delay" if retry.backoff == "exponential" else "initial"
            yield ctx.error(
                "AIR303",
                f"retry delay of up to {format_duration(worst)} for task "
                f"'{task.name}' is not below the broker visibility timeout "
                f"{format_duration(timeout)}: a retry waiting that long is "
                f"delivered twice",
                origins.get(key, task.origin),
                hint="lower retry.max_delay, or raise broker.visibility_timeout",
            )
        if retry.backoff != "none" and retry.initial > retry.max_delay:
            yield ctx.warning(
                "AIR304",
                f"retry.initial {format_duration(retry.initial)} of task "
                f"'{task.name}' exceeds retry.max_delay "
                f"{format_duration(retry.max_delay)}; every delay is capped",
                origins.get("initial", task.origin),
                hint="make initial at most max_delay",
            )


def pool_limits(ctx: Context) -> Iterator[Diagnostic]:
    """Time limits need prefork; autoscale bounds are ordered."""
    for pool in ctx.config.pools.values():
        if pool.autoscale and pool.autoscale.min > pool.autoscale.max:
            yield ctx.error(
                "AIR306",
                f"autoscale min {pool.autoscale.min} of pool '{pool.name}' "
                f"exceeds its max {pool.autoscale.max}",
                pool.origin.at("autoscale", "min"),
                hint="make min at most max",
            )
        if pool.pool == "prefork":
            continue
        limited = sorted(
            t.name
            for t in ctx.config.tasks.values()
            if t.queue in pool.queues and (t.time_limit.soft or t.time_limit.hard)
        )
        if limited:
            yield ctx.warning(
                "AIR305",
                f"pool '{pool.name}' uses the {pool.pool} pool, which "
                f"does not enforce time limits, but runs tasks that have them: "
                f"{', '.join(limited[:5])}{' ...' if len(limited) > 5 else ''}",
                pool.origin.at("pool"),
                hint="use pool: prefork, or remove the time limits",
            )


def schedule_references(ctx: Context) -> Iterator[Diagnostic]:
    tasks = ctx.config.tasks
    for schedule in ctx.config.schedules.values():
        if schedule.task and schedule.task not in tasks:
            yield ctx.error(
                "AIR202",
                f"schedule '{schedule.name}' runs task '{schedule.task}', "
                f"which is not declared in queues.yaml",
                schedule.origin.at("task"),
                hint=did_you_mean(schedule.task, tasks, "declared tasks"),
            )


def schedule_timing(ctx: Context) -> Iterator[Diagnostic]:
    """Valid interval, cron and time zone; warn when runs can pile up."""
    for schedule in ctx.config.schedules.values():
        problems = list(_timing_problems(ctx, schedule))
        yield from problems
        task = ctx.config.tasks.get(schedule.task)
        if (
            problems
            or task is None
            or schedule.overlap == "skip"
            or not schedule.enabled
            or cron.timezone_problem(schedule.timezone)
        ):
            continue
        longest = task.time_limit.hard or task.time_limit.soft
        if longest is None:
            continue
        if schedule.every is not None:
            period: timedelta | None = schedule.every
        elif schedule.cron is not None:
            if cron.gap_floor(schedule.cron) >= longest:
                continue  # no gap can be that short: skip the exact (slow) walk
            period = cron.shortest_gap(schedule.cron, schedule.timezone)
        else:  # neither, or one the schema rejected: nothing to time
            continue
        if period is not None and period < longest:
            yield ctx.warning(
                "AIR403",
                f"schedule '{schedule.name}' fires every "
                f"{format_duration(period)} but task '{task.name}' may run for "
                f"{format_duration(longest)}: runs can pile up",
                schedule.origin,
                key=True,
                hint="set 'overlap: skip', or lengthen the period",
            )


def _timing_problems(ctx: Context, schedule: Schedule) -> Iterator[Diagnostic]:
    own_tz = schedule.origin.at("timezone")
    timezone = schedule.timezone
    if cron.timezone_problem(timezone):
        if _has(ctx, own_tz):  # the file-wide time zone is checked once, by timezones()
            yield ctx.error(
                "AIR402",
                f"unknown time zone '{timezone}'",
                own_tz,
                hint=cron.timezone_problem(timezone),
            )
        timezone = "UTC"  # still check the cron expression itself
    if schedule.every is not None:
        if schedule.every < timedelta(seconds=1):
            yield ctx.error(
                "AIR405",
                f"schedule '{schedule.name}' fires every "
                f"{schedule.every.total_seconds():g}s, less than a second",
                schedule.origin.at("every"),
                hint="use an interval of 1s or more",
            )
        return
    if schedule.cron is None:
        return
    problem = cron.expression_problem(schedule.cron)
    if problem:
        yield ctx.error(
            "AIR401",
            f"invalid cron expression '{schedule.cron}' in schedule '{schedule.name}': {problem}",
            schedule.origin.at("cron"),
            hint="five fields: minute hour day-of-month month day-of-week, "
            'e.g. "*/5 * * * *"; or @hourly, @daily, @weekly, @monthly',
        )
        return
    try:
        if cron.may_never_fire(schedule.cron):
            cron.next_fires(schedule.cron, timezone, datetime.now(UTC), 1)
    except ValueError:
        yield ctx.error(
            "AIR404",
            f"cron expression '{schedule.cron}' of schedule '{schedule.name}' never fires",
            schedule.origin.at("cron"),
            hint="check day-of-month against month (30 February never comes)",
        )


def timezones(ctx: Context) -> Iterator[Diagnostic]:
    """The file-wide time zone is an IANA name."""
    problem = cron.timezone_problem(ctx.config.timezone)
    if problem and ctx.config.schedules_origin.pointer == "":
        yield ctx.error(
            "AIR402",
            f"unknown time zone '{ctx.config.timezone}'",
            ctx.config.schedules_origin.at("timezone"),
            hint=problem,
        )


def broker_url(ctx: Context) -> Iterator[Diagnostic]:
    broker = ctx.config.broker
    for key, url in (("url", broker.url), ("result_backend", broker.result_backend)):
        origin = broker.origin.at(key)
        if key == "result_backend" and not _has(ctx, origin):
            continue  # it defaults to the broker URL, checked just before
        try:
            scheme = urlsplit(url).scheme
        except ValueError as exc:  # e.g. an unclosed '[' of an IPv6 host
            yield ctx.error(
                "AIR502",
                f"broker.{key} is not a valid URL: {exc}",
                origin,
                hint="use redis://host:port/db, rediss:// for TLS, or redis+socket:///path",
            )
            continue
        if scheme not in BROKER_SCHEMES:
            yield ctx.error(
                "AIR502",
                f"broker.{key} '{_redact(url)}' uses scheme '{scheme}'; air runs on Redis",
                origin,
                hint="use redis://host:port/db, rediss:// for TLS, or redis+socket:///path",
            )
            continue
        doc = ctx.docs[origin.file]
        template = doc.templates.get(origin.pointer, url) if _has(ctx, origin) else ""
        try:
            password = urlsplit(template).password
        except ValueError:  # the template is no URL; the expanded value is, and was checked
            password = None
        if password and "${" not in password:
            yield ctx.warning(
                "AIR501",
                f"broker.{key} holds a plaintext password",
                origin,
                hint="read it from the environment: redis://:${REDIS_PASSWORD}@host:6379/0",
            )


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def _has(ctx: Context, origin: Origin) -> bool:
    return origin.pointer in ctx.docs[origin.file].values


def _line(ctx: Context, origin: Origin) -> int:
    return ctx.docs[origin.file].mark(origin.pointer).line


RULES: tuple[Rule, ...] = (
    queue_references,
    queue_consumers,
    task_limits,
    retry_delays,
    pool_limits,
    schedule_references,
    schedule_timing,
    timezones,
    broker_url,
)


def check(config: Config, docs: Mapping[str, Document]) -> list[Diagnostic]:
    ctx = Context(config, docs)
    return _merge_inherited([d for rule in RULES for d in rule(ctx)])


def _merge_inherited(found: list[Diagnostic]) -> list[Diagnostic]:
    """A bad value in `defaults` is found once per task inheriting it: report it once, at the
    value, saying how many tasks share it."""
    groups: dict[tuple[str, str, str], list[Diagnostic]] = {}
    for diagnostic in found:
        groups.setdefault((diagnostic.code, diagnostic.file, diagnostic.pointer), []).append(
            diagnostic
        )
    merged = []
    for same in groups.values():
        first = same[0]
        if len(same) > 1:
            others = len(same) - 1
            first = replace(
                first,
                message=f"{first.message} (and {others} other "
                f"task{'s' if others > 1 else ''} inheriting it)",
            )
        merged.append(first)
    return merged
