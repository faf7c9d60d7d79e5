"""`air exporter` against real workers and a real beat: every metric the issue names, read over
HTTP from a running exporter, and the shipped alert rules and dashboard use only those names."""

from __future__ import annotations

import dataclasses
import json
import re
import signal
import socket
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import yaml
from prometheus_client.parser import text_string_to_metric_families

from runtime.broker.queues import list_key
from runtime.broker.workflow_runs import WorkflowRuns
from runtime.compiler.compile import load_plan
from runtime.process.embedded import free_port
from runtime.process.exporter import Exporter
from tests.conftest import REPO
from tests.e2e.conftest import Platform, queues_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(120)]

SCHEDULES = {
    "version": 1,
    "schedules": {
        "echo-often": {"task": "sample.echo", "every": "1s"},
        "nightly": {"task": "sample.echo", "cron": "0 3 * * *"},
    },
}
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        body = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


@pytest.fixture
def exporter(platform: Platform) -> Iterator[Exporter]:
    """An exporter in this process on the platform's config, with SLOs on two queues (the YAML
    key arrives with the health branch; the plan fields are the interface)."""
    platform.write(queues_config(platform.redis_url), SCHEDULES)
    plan, _ = load_plan(platform.config_dir)
    slos = {"bulk": {"slo_max_depth": 2}, "urgent": {"slo_max_wait": 3600.0}}
    plan = dataclasses.replace(
        plan, queues=tuple(dataclasses.replace(q, **slos.get(q.name, {})) for q in plan.queues)
    )
    from runtime.celeryapp.app import create_app

    app = create_app(plan)
    platform.apps.append(app)
    server = Exporter(app, plan, "127.0.0.1", free_port()).start()
    yield server
    server.stop()


def test_exporter_reports_pools_tasks_queues_dead_letters_and_beat(
    platform: Platform, exporter: Exporter, redis_client: redis.Redis
) -> None:
    platform.start_pool("default")
    platform.air("beat", log_name="beat")
    # The worker's heartbeat seen means the exporter listens to events: send only then.
    wait_until(lambda: value(scrape(exporter.port), "air_pool_workers", pool="default") == 1,
               30, message="the exporter to see the worker")
    app = platform.app()
    for n in range(3):
        app.send_task("sample.echo", args=[n])
    app.send_task("sample.always_fails", args=["x"])
    for n in range(5):  # nobody consumes bulk: these wait
        app.send_task("sample.echo", args=[n], queue="bulk")

    def settled() -> Samples | None:
        samples = scrape(exporter.port)
        wanted = [
            value(samples, "air_pool_workers", pool="default") == 1,
            (value(samples, "air_tasks_total", task="sample.echo", state="succeeded") or 0) >= 3,
            value(samples, "air_tasks_total", task="sample.always_fails", state="failed") == 1,
            value(samples, "air_dead_letters", task="sample.always_fails") == 1,
            value(samples, "air_queue_depth", queue="bulk") == 5,
            value(samples, "air_beat_up") == 1,
            value(samples, "air_schedule_last_fire_timestamp_seconds", schedule="echo-often"),
        ]
        return samples if all(wanted) else None

    samples = wait_until(settled, 40, interval=0.3, message="the exporter to see the work")
    assert value(samples, "air_pool_workers", pool="bulk") == 0
    assert value(samples, "air_pool_processes", pool="default") == 2  # from the heartbeats
    assert value(samples, "air_pool_processes", pool="bulk") == 0
    assert (value(samples, "air_queue_oldest_age_seconds", queue="bulk") or 0) > 0
    assert value(samples, "air_queue_slo_breached", queue="bulk", slo="max_depth") == 1
    assert value(samples, "air_queue_slo_breached", queue="urgent", slo="max_wait") == 0
    assert (value(samples, "air_task_runtime_seconds_count", task="sample.echo") or 0) >= 3
    assert (value(samples, "air_task_wait_seconds_count", queue="default") or 0) >= 4
    assert value(samples, "air_task_wait_seconds_bucket", queue="default", le="+Inf") == value(
        samples, "air_task_wait_seconds_count", queue="default"
    )
    assert value(samples, "air_schedule_next_fire_timestamp_seconds", schedule="nightly")
    assert value(samples, "air_schedule_last_fire_timestamp_seconds", schedule="nightly") is None
    # A message sent by a plain client, without the stamp, counts in depth; its age is unknown.
    redis_client.lpush(list_key("urgent", 0), json.dumps({"headers": {}, "body": ""}))
    samples = scrape(exporter.port)
    assert value(samples, "air_queue_depth", queue="urgent") == 1
    assert value(samples, "air_queue_oldest_age_seconds", queue="urgent") == 0
    # Workflow runs by state: the counts the run records' scripts keep, one HGETALL a scrape.
    runs = WorkflowRuns(redis_client)
    runs.start("run-1", "nightly", 2)
    runs.start("run-2", "nightly", 2)
    runs.step_ended("run-2", "0", succeeded=False)
    samples = scrape(exporter.port)
    assert value(samples, "air_workflow_runs", workflow="nightly", state="running") == 1
    assert value(samples, "air_workflow_runs", workflow="nightly", state="failed") == 1
    assert value(samples, "air_workflow_runs", workflow="nightly", state="succeeded") == 0


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (identifiers that start with `air_`)."""
    return set(re.findall(r"\bair_[a-z_]+\b", expr))


def dashboard_exprs() -> list[str]:
    dashboard: dict[str, Any] = json.loads((REPO / "deploy/grafana/air.json").read_text())
    return [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]


def exposed(port: int) -> set[str]:
    """Every series name the exporter serves, samples or not: a family with no sample yet (no
    dead letter so far) still has its HELP and TYPE lines."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        body = response.read().decode()
    suffixes = {"histogram": ("_bucket", "_sum", "_count"), "counter": ("_total",)}
    return {
        family.name + suffix
        for family in text_string_to_metric_families(body)
        for suffix in suffixes.get(family.type, ("",))
    }


def test_alert_rules_and_dashboard_read_only_metrics_the_exporter_serves(
    exporter: Exporter,
) -> None:
    rules = yaml.safe_load((REPO / "deploy/prometheus/alerts.yml").read_text())
    alerts = {rule["alert"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]}
    assert {"AirPoolDown", "AirBeatDown", "AirQueueSloBreached", "AirDeadLettersGrowing"} <= set(
        alerts
    )
    panels = dashboard_exprs()
    assert panels
    served = exposed(exporter.port)
    for expr in [*alerts.values(), *panels]:
        assert metric_names(expr), f"{expr!r} reads no air metric"
        assert metric_names(expr) <= served, f"{expr!r} reads a metric the exporter lacks"


def test_air_exporter_serves_until_sigterm(platform: Platform) -> None:
    port = free_port()
    process = platform.air("exporter", "--port", str(port), log_name="exporter")
    wait_until(lambda: _answers(port), 30, message="air exporter to listen")
    samples = scrape(port)
    assert value(samples, "air_pool_workers", pool="default") == 0
    assert value(samples, "air_queue_depth", queue="default") == 0
    process.send_signal(signal.SIGTERM)
    assert process.wait(15) == 0


def test_air_exporter_with_the_broker_down_exits_3(platform: Platform) -> None:
    platform.write(queues_config(f"redis://127.0.0.1:{free_port()}/0"))
    result = platform.run_air("exporter", "--port", str(free_port()))
    assert result.returncode == 3
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: the broker at redis://127.0.0.1:")
    assert "Traceback" not in result.stderr


def test_air_exporter_on_a_port_in_use_exits_2(platform: Platform) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = platform.run_air("exporter", "--port", str(port))
    assert result.returncode == 2
    assert f"error: cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def _answers(port: int) -> bool:
    try:
        scrape(port)
    except OSError:
        return False
    return True


def test_the_event_stream_comes_back_after_a_broker_restart(crashable_platform: Platform) -> None:
    platform, broker = crashable_platform, crashable_platform.broker
    assert broker is not None
    plan, _ = load_plan(platform.config_dir)
    from runtime.celeryapp.app import create_app

    app = create_app(plan)
    platform.apps.append(app)
    server = Exporter(app, plan, "127.0.0.1", free_port()).start()
    try:
        platform.start_pool("default")
        wait_until(lambda: value(scrape(server.port), "air_pool_workers", pool="default") == 1,
                   20, message="the worker's heartbeat")
        broker.kill()
        broker.start()
        result = platform.app().send_task("sample.echo", args=["after"])
        assert result.get(timeout=60)["value"] == "after"  # the worker is back
        sender = platform.app()

        def counted() -> bool:
            # Events published while the exporter was still reconnecting are gone (pub/sub
            # keeps nothing): send until one lands after it has subscribed again.
            sender.send_task("sample.echo", args=["again"])
            found = value(scrape(server.port), "air_tasks_total", task="sample.echo",
                          state="succeeded")
            return bool(found)

        wait_until(counted, 30, interval=1.0, message="tasks after the restart to be counted")
    finally:
        server.stop()
