"""`air render kubernetes`: a ConfigMap with the YAML, a Deployment per pool scaled by a KEDA
ScaledObject on the depth of every Redis list of its queues, and beat."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from runtime.compiler.plan import Plan, WorkerPlan
from runtime.review.render import commands
from runtime.review.render.options import RenderOptions
from runtime.review.render.pools import dns_name, redis_lists, stop_grace
from runtime.review.render.sources import Sources, header
from runtime.review.render.yamltext import dump

CONFIG_MAP = "air-config"
CONFIG_PATH = "/etc/air"
# The Secret every air container reads its environment from: AIR_BROKER_URL and
# AIR_RESULT_BACKEND for air, AIR_REDIS_ADDRESS (host:port) for KEDA's Redis scaler.
SECRET = "air-broker"
REDIS_ADDRESS_ENV = "AIR_REDIS_ADDRESS"


def render(plan: Plan, sources: Sources, options: RenderOptions) -> dict[str, str]:
    image = options.image
    files = {"configmap.yaml": _file(sources, [_config_map(sources)])}
    for worker in plan.workers.values():
        name = f"air-pool-{dns_name(worker.pool)}"
        files[f"pool-{dns_name(worker.pool)}.yaml"] = _file(
            sources,
            [
                _pool_deployment(plan, worker, name, sources, image),
                _scaled_object(plan, worker, name),
            ],
        )
    files["beat.yaml"] = _file(sources, [_beat(sources, image)])
    return files


def _file(sources: Sources, documents: list[dict[str, Any]]) -> str:
    return header("kubernetes", sources) + "---\n".join(dump(d) for d in documents)


def _labels(component: str, pool: str | None = None) -> dict[str, str]:
    labels = {"app.kubernetes.io/name": "air", "app.kubernetes.io/component": component}
    if pool is not None:
        labels["air/pool"] = dns_name(pool)
    return labels


def _config_map(sources: Sources) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": CONFIG_MAP, "labels": _labels("config")},
        "data": sources.files,
    }


def _container(name: str, image: str, command: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "command": command,
        "env": [{"name": "AIR_CONFIG_DIR", "value": CONFIG_PATH}],
        "envFrom": [{"secretRef": {"name": SECRET}}],
        "volumeMounts": [{"name": "config", "mountPath": CONFIG_PATH, "readOnly": True}],
    }


def _deployment(
    name: str,
    labels: dict[str, str],
    replicas: int,
    pod_spec: dict[str, Any],
    sources: Sources,
    strategy: str = "RollingUpdate",
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "strategy": {"type": strategy},
            "selector": {"matchLabels": labels},
            "template": {
                # A changed config changes the pod template, so the pods restart with it.
                "metadata": {
                    "labels": labels,
                    "annotations": {"air/config-sha256": sources.checksum},
                },
                "spec": {
                    **pod_spec,
                    "volumes": [{"name": "config", "configMap": {"name": CONFIG_MAP}}],
                },
            },
        },
    }


def _pool_deployment(
    plan: Plan, worker: WorkerPlan, name: str, sources: Sources, image: str
) -> dict[str, Any]:
    probe = {
        "exec": {"command": commands.health(worker.pool)},
        "initialDelaySeconds": 30,
        "periodSeconds": 30,
        "timeoutSeconds": 10,
        "failureThreshold": 3,
    }
    container = {
        **_container("worker", image, commands.pool(worker.pool)),
        "livenessProbe": probe,
        "readinessProbe": {**probe, "initialDelaySeconds": 10},
    }
    return _deployment(
        name,
        _labels("pool", worker.pool),
        worker.replicas["min"],
        # At least the longest hard time limit: SIGTERM starts Celery's warm shutdown.
        {"terminationGracePeriodSeconds": stop_grace(plan, worker), "containers": [container]},
        sources,
    )


def _scaled_object(plan: Plan, worker: WorkerPlan, name: str) -> dict[str, Any]:
    triggers: list[dict[str, Any]] = []
    for q, queue in enumerate(worker.queues):
        for step, listname in enumerate(redis_lists(queue)):
            triggers.append(
                {
                    "type": "redis",
                    "name": f"q{q}p{step}",
                    "metadata": {
                        "addressFromEnv": REDIS_ADDRESS_ENV,
                        "databaseIndex": _database(plan.celery["broker_url"]),
                        "listName": listname,
                        "listLength": str(worker.concurrency),
                    },
                }
            )
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": name, "labels": _labels("pool", worker.pool)},
        "spec": {
            "scaleTargetRef": {"name": name},
            "minReplicaCount": worker.replicas["min"],
            "maxReplicaCount": worker.replicas["max"],
            # The HPA takes the largest of several metrics; the backlog is their sum: one
            # replica per `concurrency` messages waiting in any of the pool's lists.
            "advanced": {
                "scalingModifiers": {
                    "formula": " + ".join(t["name"] for t in triggers),
                    "target": str(worker.concurrency),
                    "metricType": "AverageValue",
                }
            },
            "triggers": triggers,
        },
    }


def _database(url: str) -> str:
    path = urlsplit(url).path.strip("/")
    return path if path.isdigit() else "0"


def _beat(sources: Sources, image: str) -> dict[str, Any]:
    # One beat per broker (its Redis lock): Recreate never runs an old and a new pod together.
    return _deployment(
        "air-beat",
        _labels("beat"),
        1,
        {"containers": [_container("beat", image, commands.beat())]},
        sources,
        strategy="Recreate",
    )
