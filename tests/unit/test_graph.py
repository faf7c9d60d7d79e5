"""`air graph`: the topology drawn from the plan, and the docs that show it kept current."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from cli.main import cli
from runtime.compiler.compile import load_plan
from runtime.review.graph import dot, mermaid, topology
from tests.conftest import REPO

SHIPPED = REPO / "config"


def shipped_mermaid() -> str:
    result = CliRunner(env={"AIR_CONFIG_DIR": None}).invoke(
        cli, ["--config", str(SHIPPED), "graph"]
    )
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("doc", ["docs/topology.md", "README.md"])
def test_the_docs_show_the_graph_of_the_shipped_config(doc: str) -> None:
    text = (REPO / doc).read_text(encoding="utf-8")
    blocks = re.findall(r"```mermaid\n(.*?)```", text, re.DOTALL)
    assert blocks == [shipped_mermaid()], f"{doc} is stale: paste the output of `air graph`"


def test_every_task_reaches_its_queue_and_every_queue_its_pools() -> None:
    plan, _ = load_plan(SHIPPED, {})
    graph = topology(plan)
    names = {n.id: n.lines[0] for _, nodes in graph.groups for n in nodes}
    edges = {(names[e.source], names[e.target], e.label) for e in graph.edges}
    for task in plan.tasks.values():
        assert (task.name, task.queue, "") in edges
    for worker in plan.workers.values():
        for queue in worker.queues:
            assert (queue, worker.pool, "") in edges
    for entry in plan.beat.values():
        assert (entry.name, entry.task, "") in edges
    # data-cleanup sends data.cleanup (routed to data_pipeline) to low_priority instead
    assert ("data-cleanup", "low_priority", "sends to") in edges
    assert ("data-cleanup", "data_pipeline", "sends to") not in edges


def test_labels_carry_priority_concurrency_and_timing() -> None:
    plan, _ = load_plan(SHIPPED, {})
    text = mermaid(plan)
    assert 'q0["high_priority<br/>priority 10"]' in text
    assert 'p1["default<br/>concurrency 4"]' in text
    assert 's0["token-refresh<br/>*/5 * * * *"]' in text


def test_dot_draws_the_same_edges_with_escaped_labels() -> None:
    plan, _ = load_plan(SHIPPED, {})
    text = dot(plan)
    assert text.startswith("digraph air {\n") and text.endswith("}\n")
    assert len(re.findall(r"^  \w+ -> \w+", text, re.MULTILINE)) == len(topology(plan).edges)
    assert '  s4 -> q4 [style=dashed, label="sends to"];' in text
    assert 'q0 [label="high_priority\\npriority 10"];' in text


def test_graph_formats_are_the_choices_of_the_command() -> None:
    result = CliRunner().invoke(cli, ["--config", str(SHIPPED), "graph", "--format", "svg"])
    assert result.exit_code == 2
    assert "'mermaid', 'dot'" in result.stderr
