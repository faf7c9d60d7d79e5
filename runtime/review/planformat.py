"""`air plan` output: Terraform-like text, a Markdown PR comment, and stable JSON."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

from runtime.review.diff import ItemDiff
from runtime.review.planning import PlanDiff
from runtime.review.risks import Risk
from runtime.review.settings import KINDS

SYMBOLS = {"add": "+", "change": "~", "rename": "~", "remove": "-"}
TITLES = {
    "broker": "Broker",
    "queue": "Queues",
    "pool": "Pools",
    "task": "Tasks",
    "schedule": "Schedules",
    "workflow": "Workflows",
}
_COLORS = {"+": "\033[32m", "~": "\033[33m", "-": "\033[31m", "!": "\033[31m"}
_RESET = "\033[0m"
JSON_VERSION = 1
# Rows per table in Markdown: a GitHub comment holds at most 65,536 characters, and a
# reviewer reads a summary, not a 2,000-row table.
MARKDOWN_ROWS = 100


def summary(plan: PlanDiff) -> str:
    add, change, destroy = plan.counts
    risky = len(plan.risks)
    flags = f"; {risky} risk flag{'s' if risky != 1 else ''}" if risky else ""
    return f"{add} to add, {change} to change, {destroy} to destroy{flags}."


def _title(plan: PlanDiff) -> str:
    return f"{plan.base.label} -> {plan.head.label}"


def _fire_times(fires: Sequence[datetime]) -> str:
    return ", ".join(f.strftime("%Y-%m-%d %H:%M %Z") for f in fires) or "none"


def _waiting(risk: Risk) -> str | None:
    if risk.waiting is None:
        return None
    return f"{risk.waiting} message{'s' if risk.waiting != 1 else ''} waiting in it now"


def _label(item: ItemDiff) -> str:
    return f"{item.name} (renamed from {item.renamed_from})" if item.renamed_from else item.name


def _by_kind(plan: PlanDiff) -> Iterator[tuple[str, list[ItemDiff]]]:
    """The changed items kind by kind, in KINDS order; kinds without changes are left out."""
    for kind in KINDS:
        items = [d for d in plan.items if d.kind == kind]
        if items:
            yield kind, items


def render_text(plan: PlanDiff, *, color: bool = False) -> str:
    def paint(symbol: str, text: str) -> str:
        return f"{_COLORS[symbol]}{text}{_RESET}" if color else text

    lines = [f"air plan: {_title(plan)}", ""]
    if not plan.items:
        return "\n".join([*lines, "No changes: both revisions compile to the same topology.", ""])
    if plan.risks:
        lines.append("Risks:")
        for risk in plan.risks:
            lines.append(paint("!", f"  ! {risk.code} {risk.message}"))
            lines.append(f"      at {risk.where}")
            if (waiting := _waiting(risk)) is not None:
                lines.append(f"      {waiting}")
        lines.append("")
    for kind, items in _by_kind(plan):
        lines.append(f"{TITLES[kind]}:")
        for item in items:
            symbol = SYMBOLS[item.action]
            where = f"was at {item.where}" if item.action == "remove" else item.where
            lines.append(paint(symbol, f"  {symbol} {_label(item)}") + f"  ({where})")
            for c in item.changes:
                value = c.new if item.action == "add" else f"{c.old} -> {c.new}"
                lines.append(f"      {c.key}: {value}  ({c.where})")
            if item.fires_before or item.fires_after:
                lines.append(f"      next fires before: {_fire_times(item.fires_before)}")
                lines.append(f"      next fires after:  {_fire_times(item.fires_after)}")
        lines.append("")
    lines.append(f"Plan: {summary(plan)}")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{_cell(text)}`" if text else ""


def render_markdown(plan: PlanDiff, *, color: bool = False) -> str:
    lines = [f"### air plan: `{plan.base.label}` → `{plan.head.label}`", ""]
    if not plan.items:
        return "\n".join([*lines, "No changes: both revisions compile to the same topology.", ""])
    lines += [f"**{summary(plan)}**", ""]
    if plan.risks:
        lines += ["#### Risks", "", "| code | risk | where |", "|---|---|---|"]
        for risk in plan.risks:
            why = risk.message + (f" ({w})" if (w := _waiting(risk)) else "")
            lines.append(f"| {risk.code} | {_cell(why)} | {_code(risk.where)} |")
        lines.append("")
    for kind, items in _by_kind(plan):
        lines += [
            f"#### {TITLES[kind]}",
            "",
            f"| | {kind} | setting | before | after | where |",
            "|---|---|---|---|---|---|",
        ]
        rows = [row for item in items for row in _markdown_rows(item)]
        lines += rows[:MARKDOWN_ROWS]
        if len(rows) > MARKDOWN_ROWS:
            lines.append(
                f"| | ... {len(rows) - MARKDOWN_ROWS} more rows (`air plan` shows all) | | | | |"
            )
        lines.append("")
    return "\n".join(lines)


def _markdown_rows(item: ItemDiff) -> list[str]:
    symbol = SYMBOLS[item.action]
    name = _code(item.name) + (
        f" (renamed from {_code(item.renamed_from)})" if item.renamed_from else ""
    )
    rows = [] if item.changes else [f"| {symbol} | {name} | | | | {_code(item.where)} |"]
    for c in item.changes:
        old = "" if item.action == "add" else _code(c.old)
        rows.append(f"| {symbol} | {name} | {c.key} | {old} | {_code(c.new)} | {_code(c.where)} |")
    if item.fires_before or item.fires_after:
        rows.append(
            f"| | {name} | next fires | {_cell(_fire_times(item.fires_before))} | "
            f"{_cell(_fire_times(item.fires_after))} | |"
        )
    return rows


def _item_dict(item: ItemDiff) -> dict[str, object]:
    return {
        "kind": item.kind,
        "name": item.name,
        "action": item.action,
        "renamed_from": item.renamed_from,
        "where": item.where,
        "settings": [
            {
                "key": c.key,
                "old": c.old if item.action != "add" else None,
                "new": c.new,
                "where": c.where,
            }
            for c in item.changes
        ],
        "next_fires": {
            "before": [f.isoformat() for f in item.fires_before],
            "after": [f.isoformat() for f in item.fires_after],
        }
        if item.fires_before or item.fires_after
        else None,
    }


def render_json(plan: PlanDiff, *, color: bool = False) -> str:
    add, change, destroy = plan.counts
    document = {
        "version": JSON_VERSION,
        "base": {"revision": plan.base.label, "commit": plan.base.commit},
        "head": {"revision": plan.head.label, "commit": plan.head.commit},
        "live": plan.live,
        "summary": {"add": add, "change": change, "destroy": destroy, "risks": len(plan.risks)},
        "risks": [r.to_dict() for r in plan.risks],
        "changes": [_item_dict(d) for d in plan.items],
    }
    return json.dumps(document, indent=2) + "\n"


FORMATS: dict[str, Callable[..., str]] = {
    "text": render_text,
    "markdown": render_markdown,
    "json": render_json,
}
