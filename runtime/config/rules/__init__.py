"""Semantic rules: what the JSON Schema cannot say. Each rule is a small function from a
Context to diagnostics, one module a topic; none raises. Pure: imports runtime.config only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from runtime.config.diagnostics import Diagnostic
from runtime.config.model import Config
from runtime.config.rules.broker import broker_url
from runtime.config.rules.context import Context, Rule
from runtime.config.rules.delivery import at_most_once_retries
from runtime.config.rules.limits import pool_limits, retry_delays, task_limits
from runtime.config.rules.references import queue_consumers, queue_references, schedule_references
from runtime.config.rules.schedules import schedule_timing, timezones
from runtime.config.source import Document

RULES: tuple[Rule, ...] = (
    queue_references,
    queue_consumers,
    task_limits,
    retry_delays,
    pool_limits,
    at_most_once_retries,
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
