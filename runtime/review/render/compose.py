"""`air render compose`: a Docker Compose file and the Dockerfile of the image it runs."""

from __future__ import annotations

from typing import Any

from runtime.compiler.plan import Plan
from runtime.review.render import commands
from runtime.review.render.options import RenderOptions
from runtime.review.render.pools import stop_grace
from runtime.review.render.sources import Sources, header
from runtime.review.render.yamltext import dump

REDIS_IMAGE = "redis:7.4-alpine"
# Compose interpolates these from the shell or an .env file: a password never sits in this file.
ENVIRONMENT = {
    "AIR_BROKER_URL": "${AIR_BROKER_URL:-redis://redis:6379/0}",
    "AIR_RESULT_BACKEND": "${AIR_RESULT_BACKEND:-redis://redis:6379/1}",
}


def render(plan: Plan, sources: Sources, options: RenderOptions) -> dict[str, str]:
    """compose.yaml and the Dockerfile of the image its air services run."""
    image, build = options.image, (options.context, options.dockerfile)
    services: dict[str, Any] = {"redis": _redis()}
    for worker in plan.workers.values():
        services[f"pool-{worker.pool}"] = _air(
            image,
            build,
            commands.pool(worker.pool),
            healthcheck=commands.health(worker.pool),
            # At least the longest hard time limit: a warm shutdown lets running tasks finish.
            stop_grace_period=f"{stop_grace(plan, worker)}s",
        )
    services["beat"] = _air(image, build, commands.beat())
    # The HTTP services: each published on its port and checked on its health path.
    for name, command, port, path in (
        ("exporter", commands.exporter(), commands.EXPORTER_PORT, "/metrics"),
        ("flower", commands.flower(), commands.FLOWER_PORT, "/healthcheck"),
    ):
        services[name] = _air(
            image, build, command, ports=[f"{port}:{port}"], healthcheck=_http_check(port, path)
        )
    document = {"name": "air", "services": services, "volumes": {"redis-data": {}}}
    return {
        "compose.yaml": header("compose", sources) + dump(document),
        "Dockerfile": header("compose", sources) + DOCKERFILE.format(config=options.config),
    }


def _redis() -> dict[str, Any]:
    return {
        "image": REDIS_IMAGE,
        # The append-only file keeps queued messages across a Redis restart.
        "command": ["redis-server", "--appendonly", "yes", "--appendfsync", "everysec"],
        "volumes": ["redis-data:/data"],
        "healthcheck": {
            "test": ["CMD", "redis-cli", "ping"],
            "interval": "10s",
            "timeout": "5s",
            "retries": 5,
        },
        "restart": "unless-stopped",
    }


def _air(
    image: str,
    build: tuple[str, str],
    command: list[str],
    *,
    healthcheck: list[str] | None = None,
    stop_grace_period: str | None = None,
    ports: list[str] | None = None,
) -> dict[str, Any]:
    service: dict[str, Any] = {
        "image": image,
        "build": {"context": build[0], "dockerfile": build[1]},
        "command": command,
        "environment": dict(ENVIRONMENT),
        "depends_on": {"redis": {"condition": "service_healthy"}},
        "restart": "unless-stopped",
    }
    if ports:
        service["ports"] = ports
    if healthcheck:
        service["healthcheck"] = {
            "test": ["CMD", *healthcheck],
            "interval": "30s",
            "timeout": "10s",
            "retries": 3,
            "start_period": "30s",
        }
    if stop_grace_period:
        service["stop_signal"] = "SIGTERM"  # Celery's warm shutdown
        service["stop_grace_period"] = stop_grace_period
    return service


def _http_check(port: int, path: str) -> list[str]:
    # The image has Python but neither curl nor wget.
    return [
        "python",
        "-c",
        "import urllib.request; "
        f"urllib.request.urlopen('http://127.0.0.1:{port}{path}', timeout=5)",
    ]


DOCKERFILE = """\
FROM python:3.12-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY runtime ./runtime
COPY cli ./cli
COPY tasks ./tasks
RUN pip install --no-cache-dir . && useradd --system --uid 10001 --no-create-home air
COPY {config} ./config
ENV AIR_CONFIG_DIR=/app/config PYTHONUNBUFFERED=1
USER air
CMD ["air", "pools"]
"""
