"""`air render` against a real Redis: each pool's rendered command line starts a worker that
consumes exactly the pool's queues, and KEDA's list names are the keys kombu really writes."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import redis
import yaml

from runtime.compiler.compile import load_plan
from runtime.review.render.options import RenderOptions
from runtime.review.render.sources import Sources
from runtime.review.render.targets import TARGETS
from tests.e2e.conftest import Platform, queues_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def write_config(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test config, its broker read from the environment as a deployment's would be."""
    monkeypatch.setenv("AIR_BROKER_URL", platform.redis_url)
    config = queues_config(platform.redis_url)
    config["broker"]["url"] = "${AIR_BROKER_URL}"
    config["pools"] = {
        "urgent": {"queues": ["urgent"], "concurrency": 1},
        "mixed": {
            "queues": ["default", "bulk"],
            "concurrency": 1,
            "replicas": {"min": 0, "max": 3},
        },
    }
    platform.write(config)


def render(platform: Platform, target: str) -> dict[str, str]:
    plan, _ = load_plan(platform.config_dir)
    return TARGETS[target](plan, Sources.read(platform.config_dir), RenderOptions())


def pool_commands(platform: Platform) -> dict[str, list[str]]:
    """Each pool's command line, as the compose, Kubernetes and systemd files run it."""
    services = yaml.safe_load(render(platform, "compose")["compose.yaml"])["services"]
    from_compose = {
        name.removeprefix("pool-"): s["command"]
        for name, s in services.items()
        if name.startswith("pool-")
    }
    from_kubernetes = {}
    for name, text in render(platform, "kubernetes").items():
        for document in yaml.safe_load_all(text):
            if name.startswith("pool-") and document["kind"] == "Deployment":
                (container,) = document["spec"]["template"]["spec"]["containers"]
                from_kubernetes[document["metadata"]["labels"]["air/pool"]] = container["command"]
    unit = render(platform, "systemd")["air-pool@.service"]
    (exec_start,) = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    template = exec_start.removeprefix("ExecStart=").split()
    from_systemd = {pool: ["air", *template[1:]] for pool in from_compose}
    from_systemd = {p: [a.replace("%i", p) for a in argv] for p, argv in from_systemd.items()}
    assert from_compose == from_kubernetes == from_systemd
    return from_compose


def active_queues(app: Any, worker: str) -> set[str]:
    with app.connection_for_write() as connection:
        replies = app.control.inspect([worker], timeout=1, connection=connection).active_queues()
    return {q["name"] for q in (replies or {}).get(worker, [])}


@pytest.mark.slow
def test_every_rendered_pool_command_consumes_exactly_its_queues(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(platform, monkeypatch)
    commands = pool_commands(platform)
    assert commands == {"urgent": ["air", "run", "urgent"], "mixed": ["air", "run", "mixed"]}

    for pool, argv in commands.items():
        platform.air(*argv[1:], log_name=pool)
    for pool in commands:
        platform.wait_ready(pool, timeout=60)

    app = platform.app()
    host = socket.gethostname()
    expected = {"urgent": {"urgent"}, "mixed": {"default", "bulk"}}
    for pool, queues in expected.items():
        wait_until(
            lambda p=pool, q=queues: active_queues(app, f"{p}@{host}") == q,
            20,
            message=f"{pool} to consume exactly {sorted(queues)}",
        )


def test_keda_list_names_are_the_redis_keys_kombu_uses(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, redis_client: redis.Redis
) -> None:
    write_config(platform, monkeypatch)
    scaled = [
        d
        for d in yaml.safe_load_all(render(platform, "kubernetes")["pool-mixed.yaml"])
        if d["kind"] == "ScaledObject"
    ][0]
    rendered = {t["metadata"]["listName"] for t in scaled["spec"]["triggers"]}

    app = platform.app()  # no worker runs: every message stays in its list
    for queue in ("default", "bulk"):
        for priority in range(10):  # every broker priority, so every priority list
            app.send_task("sample.echo", args=[priority], queue=queue, priority=priority)
    lists = {
        key.decode("latin-1") for key in redis_client.keys("*") if redis_client.type(key) == b"list"
    }
    assert lists == rendered
    assert all(redis_client.llen(name.encode("latin-1")) == 1 for name in rendered)
