"""`air graph`: the topology as a picture, schedules -> tasks -> queues -> pools, in Mermaid or
Graphviz DOT text. Stable ids and order, so the docs can show it and a test keep it current."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from runtime.compiler.plan import Plan
from runtime.config.units import format_duration


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    label: str = ""  # set on a schedule's queue override, drawn dashed


@dataclass(frozen=True, slots=True)
class Topology:
    groups: tuple[tuple[str, tuple[Node, ...]], ...]  # (title, nodes) in flow order
    edges: tuple[Edge, ...]


def topology(plan: Plan) -> Topology:
    queue_ids = {q.name: f"q{i}" for i, q in enumerate(plan.queues)}
    task_ids = {name: f"t{i}" for i, name in enumerate(plan.tasks)}
    schedules = tuple(
        Node(f"s{i}", (entry.name, _when(entry.cron, entry.every, entry.enabled)))
        for i, entry in enumerate(plan.beat.values())
    )
    edges: list[Edge] = []
    for node, entry in zip(schedules, plan.beat.values(), strict=True):
        if entry.workflow:  # its steps are the workflow's tasks, not drawn here
            continue
        edges.append(Edge(node.id, task_ids[entry.task]))
        if entry.queue != plan.tasks[entry.task].queue:
            edges.append(Edge(node.id, queue_ids[entry.queue], "sends to"))
    edges += [Edge(task_ids[t.name], queue_ids[t.queue]) for t in plan.tasks.values()]
    pools = []
    for i, worker in enumerate(plan.workers.values()):
        pools.append(Node(f"p{i}", (worker.pool, f"concurrency {worker.concurrency}")))
        edges += [Edge(queue_ids[q], f"p{i}") for q in worker.queues]
    return Topology(
        groups=(
            ("schedules", schedules),
            ("tasks", tuple(Node(task_ids[name], (name,)) for name in plan.tasks)),
            (
                "queues",
                tuple(
                    Node(queue_ids[q.name], (q.name, f"priority {q.priority}")) for q in plan.queues
                ),
            ),
            ("pools", tuple(pools)),
        ),
        edges=tuple(edges),
    )


def _when(cron: str | None, every: float | None, enabled: bool) -> str:
    when = f"every {format_duration(timedelta(seconds=every))}" if every is not None else cron
    return f"{when}{'' if enabled else ' (disabled)'}"


def mermaid(plan: Plan) -> str:
    graph = topology(plan)
    lines = ["flowchart LR"]
    for title, nodes in graph.groups:
        lines.append(f"  subgraph {title}")
        lines += [f'    {n.id}["{"<br/>".join(_mermaid_text(t) for t in n.lines)}"]' for n in nodes]
        lines.append("  end")
    for edge in graph.edges:
        if edge.label:
            lines.append(f"  {edge.source} -. {edge.label} .-> {edge.target}")
        else:
            lines.append(f"  {edge.source} --> {edge.target}")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    return text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;")


def dot(plan: Plan) -> str:
    graph = topology(plan)
    lines = ["digraph air {", "  rankdir=LR;", "  node [shape=box];"]
    for title, nodes in graph.groups:
        lines.append(f"  subgraph cluster_{title} {{")
        lines.append(f'    label="{title}";')
        lines += [f'    {n.id} [label="{_dot_label(n.lines)}"];' for n in nodes]
        lines.append("  }")
    for edge in graph.edges:
        style = f' [style=dashed, label="{edge.label}"]' if edge.label else ""
        lines.append(f"  {edge.source} -> {edge.target}{style};")
    return "\n".join(lines) + "\n}\n"


def _dot_label(lines: tuple[str, ...]) -> str:
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"') for text in lines)
    return "\\n".join(escaped)  # DOT's own line break inside a label


FORMATS: dict[str, Callable[[Plan], str]] = {"mermaid": mermaid, "dot": dot}
