"""Semantic rules: what the JSON Schema cannot say. Each rule is a small function from a
Context to diagnostics, one module a topic; none raises. Pure: imports runtime.config only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from runtime.config.diagnostics import Diagnostic
from runtime.config.model import Config
from runtime.config.rules.broker import broker_url, sentinel_password
from runtime.config.rules.context import Context, Rule
from runtime.config.rules.delivery import at_most_once_retries
from runtime.config.rules.fires import fire_timing
from runtime.config.rules.limits import (
    pool_limits,
    pool_replicas,
    retry_delays,
    task_limits,
    unique_claims,
)
from runtime.config.rules.references import queue_consumers, queue_references, schedule_references
from runtime.config.rules.schedules import daylight_saving, schedule_timing, timezones
from runtime.config.rules.slo import queue_slos
from runtime.config.rules.workflows import workflow_duration, workflow_schedules, workflow_tasks
from runtime.config.source import Document

RULES: tuple[Rule, ...] = (
    queue_references,
    queue_consumers,
    task_limits,
    retry_delays,
    pool_limits,
    unique_claims,
    pool_replicas,
    queue_slos,
    at_most_once_retries,
    schedule_references,
    schedule_timing,
    daylight_saving,
    timezones,
    fire_timing,
    broker_url,
    sentinel_password,
    workflow_tasks,
    workflow_duration,
    workflow_schedules,
)


def check(
    config: Config, docs: Mapping[str, Document], now: datetime | None = None
) -> list[Diagnostic]:
    ctx = Context(config, docs) if now is None else Context(config, docs, now)
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
